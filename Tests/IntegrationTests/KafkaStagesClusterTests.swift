import Foundation
import Gale
import GaleDaemons
import GaleKafka
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The three-stage example (examples/KafkaStages) in cluster mode: each stage a topology with its
/// own worker, checkpointed through Kafka topics.
@Suite(.serialized) struct KafkaStagesClusterTests {
    /// Writes records `ID,TEXT` for ids in `range` with kcat.
    static func produce(_ range: Range<Int>, topic: String, brokers: String) throws {
        let file = NSTemporaryDirectory() + "gale-stages-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try range.map { "\($0),Line Number \($0) Of The Input\n" }.joined().write(
            toFile: file,
            atomically: true,
            encoding: .utf8
        )
        let result = try ClusterHarness.run("/usr/bin/kcat", ["-P", "-b", brokers, "-t", topic, "-l", file])
        guard result.status == 0 else { throw SmokeTestFailure("kcat failed: \(result.output)") }
    }

    /// Distinct keys in `topic` (read from the beginning until a poll waits 300 ms in vain: under
    /// load that can be early, so callers retry).
    static func keys(of topic: String, brokers: String) throws -> Set<String> {
        let consumer = try KafkaConsumer(config: KafkaConfig(bootstrapServers: [brokers]))
        defer { consumer.close() }
        guard let metadata = try? consumer.topicMetadata(topic) else { return [] }
        try consumer.assign(
            metadata.partitions.map { KafkaTopicPartition(topic: topic, partition: $0.id, offset: .zero) }
        )
        var keys = Set<String>()
        while true {
            let records = try consumer.poll(maxRecords: 10_000, timeout: .milliseconds(300))
            if records.isEmpty { return keys }
            for record in records { if let key = record.key { keys.insert(String(decoding: key, as: UTF8.self)) } }
        }
    }

    @Test func killedMiddleStageResumesWhileTheFirstKeepsGoingAndNothingIsLost() async throws {
        let brokers = try TestServices.resolve().kafka
        let cluster = try ClusterHarness("stages")
        defer { cluster.tearDown() }
        try await ClusterTests.startCluster(cluster)
        let input = "stages-\(UUID().uuidString.prefix(8))"
        let output = input + "-out"
        let admin = try KafkaAdmin(config: KafkaConfig(bootstrapServers: [brokers]))
        try admin.createTopic(input, partitions: 3)
        let total = 20_000
        try Self.produce(0..<(total / 2), topic: input, brokers: brokers)
        let binary = cluster.binDirectory + "/kafka-stages"
        for stage in ["parse", "enrich", "aggregate"] {
            let result = try cluster.cli(
                [
                    "submit", binary, "--topology", stage, "--workers", "1", "--config", "kafka.brokers=\(brokers)",
                    "--config", "stages.input=\(input)", "--config", "stages.output=\(output)",
                    "--config", "stages.pipeline=\(input)",
                ]
            )
            #expect(result.status == 0, "submit \(stage): \(result.output)")
        }
        try await cluster.waitUntil("output records arrive", timeout: 90) {
            try Self.keys(of: output, brokers: brokers).count >= 1_000
        }
        // kill -9 the middle stage's worker, then write the second half of the input.
        let enrich = cluster.workerPids().filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).contains("/workers/enrich-")
        }
        #expect(enrich.count == 1)
        for pid in enrich { kill(pid, SIGKILL) }
        try Self.produce((total / 2)..<total, topic: input, brokers: brokers)
        try await cluster.waitUntil("the first stage parses the second half", timeout: 60) {
            try Self.keys(of: input + ".parsed", brokers: brokers).contains(String(total - 1))
        }
        // A read may end early (an empty poll under load), so the comparison is retried.
        let expected = Set((0..<total).map(String.init))
        var keys = Set<String>()
        do {
            try await cluster.waitUntil("the final output holds every input record", timeout: 180) {
                keys = try Self.keys(of: output, brokers: brokers)
                return keys == expected
            }
        } catch {
            let missing = expected.subtracting(keys)
            Issue.record(
                "\(missing.count) ids missing (e.g. \(missing.sorted().prefix(5))), unexpected \(keys.subtracting(expected).prefix(5))"
            )
            throw error
        }
        // `gale status` shows the spouts' per-partition lines (committed offset, what holds it back).
        try await cluster.waitUntil("status shows the input partitions", timeout: 30) {
            let status = try cluster.cli(["status", "parse"])
            return status.status == 0 && status.output.contains("parse-in task ")
                && status.output.contains("[0] committed ")
        }
    }
}
