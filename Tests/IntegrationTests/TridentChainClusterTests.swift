import Foundation
import Gale
import GaleKafka
import Testing

@testable import GaleTrident

/// Three transactional stages chained through Kafka in cluster mode: the middle stage's worker
/// dies at the worst moment (right after writing a batch's output, before its commit) and is
/// killed again mid-run; the final counts hold every input record's effect exactly once.
@Suite(.serialized) struct TridentChainClusterTests {
    static let words = ["ash", "birch", "cedar", "elm", "fir", "oak", "pine", "yew", "alder", "beech", "larch"]

    static func word(_ i: Int) -> String { words[(i * 7 + i / 13) % words.count] }

    /// Writes `ID,WORD` lines with kcat, keyed by nothing (the spout reads the value).
    static func produce(_ range: Range<Int>, topic: String, brokers: String) throws {
        let file = NSTemporaryDirectory() + "gale-chain-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try range.map { "\($0),\(word($0))\n" }.joined().write(toFile: file, atomically: true, encoding: .utf8)
        let result = try ClusterHarness.run("/usr/bin/kcat", ["-P", "-b", brokers, "-t", topic, "-l", file])
        guard result.status == 0 else { throw SmokeTestFailure("kcat failed: \(result.output)") }
    }

    /// Records in `topic` (read from the beginning until a poll waits 500 ms in vain).
    static func recordCount(of topic: String, brokers: String) throws -> Int {
        let consumer = try KafkaConsumer(config: KafkaConfig(bootstrapServers: [brokers]))
        defer { consumer.close() }
        let metadata = try consumer.topicMetadata(topic)
        try consumer.assign(
            metadata.partitions.map { KafkaTopicPartition(topic: topic, partition: $0.id, offset: .zero) }
        )
        var count = 0
        while true {
            let records = try consumer.poll(maxRecords: 10_000, timeout: .milliseconds(500))
            if records.isEmpty { return count }
            count += records.count
        }
    }

    @Test func aThreeStageChainAppliesEveryRecordOnceThoughItsMiddleStageDiesTwice() async throws {
        let brokers = try TestServices.resolve().kafka
        let cluster = try ClusterHarness("chain")
        defer { cluster.tearDown() }
        try await ClusterTests.startCluster(cluster)
        let name = "chain-\(UUID().uuidString.prefix(8))"
        let input = name + "-in"
        let t1 = name + "-t1"
        let t2 = name + "-t2"
        let admin = try KafkaAdmin(config: KafkaConfig(bootstrapServers: [brokers]))
        for topic in [input, t1, t2] { try admin.createTopic(topic, partitions: 2) }
        let total = 20_000
        try Self.produce(0..<(total / 2), topic: input, brokers: brokers)
        for stage in ["chain1", "chain2", "chain3"] {
            let result = try cluster.cli(
                [
                    "submit", cluster.topologyBinary, "--name", "\(name)-\(stage)", "--workers", "1",
                    "--config", "test.mode=\(stage)", "--config", "test.trident.name=\(name)",
                    "--config", "test.output=\(cluster.output)", "--config", "kafka.brokers=\(brokers)",
                    "--config", "chain.input=\(input)", "--config", "chain.t1=\(t1)", "--config", "chain.t2=\(t2)",
                    "--config", "chain.crash.txid=10",
                ]
            )
            #expect(result.status == 0, "submit \(stage): \(result.output)")
        }
        func counted() -> [String: Int64] {
            let stored =
                (try? SQLiteStateFactory.readAll(path: cluster.output + "/chain.db", stateName: "counts")) ?? [:]
            var counts: [String: Int64] = [:]
            for (key, value) in stored { counts[key.first?.stringValue ?? "?"] = value.value.intValue ?? 0 }
            return counts
        }
        // The worst moment: stage 2 dies right after writing batch 10's output, before its commit.
        try await cluster.waitUntil("stage 2 killed itself after writing batch 10", timeout: 90) {
            FileManager.default.fileExists(atPath: cluster.output + "/crashed")
        }
        try Self.produce((total / 2)..<total, topic: input, brokers: brokers)
        try await cluster.waitUntil("stage 3 counts a quarter of the input", timeout: 90) {
            counted().values.reduce(0, +) >= Int64(total / 4)
        }
        // And once more, mid-run, from outside.
        let middle = cluster.workerPids().filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).contains("/\(name)-chain2-")
        }
        #expect(middle.count == 1, "one worker runs stage 2")
        for pid in middle { kill(pid, SIGKILL) }

        var truth: [String: Int64] = [:]
        for i in 0..<total { truth[Self.word(i).uppercased(), default: 0] += 1 }
        try await cluster.waitUntil("every input record counted", timeout: 180) {
            counted().values.reduce(0, +) >= Int64(total)
        }
        try await Task.sleep(for: .seconds(2))
        #expect(counted() == truth, "each record's effect exactly once")
        #expect(try Self.recordCount(of: t2, brokers: brokers) > total, "stage 2's topic holds repeats it wrote again")
    }
}
