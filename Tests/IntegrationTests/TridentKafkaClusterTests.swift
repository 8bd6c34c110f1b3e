import Foundation
import Gale
import GaleKafka
import Testing

@testable import GaleTrident

/// Transactional word count over Kafka in cluster mode: 200,000 records, batches failing at
/// random, a worker killed with `kill -9` mid-run; the SQLite counts are exact, with the
/// transactional and with the opaque spout and state.
@Suite(.serialized) struct TridentKafkaClusterTests {
    static let vocabulary = (0..<200).map { "w\($0)" }

    /// Record `i`'s line: three words chosen deterministically from `i`.
    static func line(_ i: Int) -> String {
        (0..<3).map { vocabulary[(i &* 31 &+ $0 &* 17 &+ i / 7) % vocabulary.count] }.joined(separator: " ")
    }

    func run(kind: String) async throws {
        let brokers = try TestServices.resolve().kafka
        let cluster = try ClusterHarness("trident-kafka-\(kind)")
        defer { cluster.tearDown() }
        try await ClusterTests.startCluster(cluster)
        let name = "tk-\(kind)-\(UUID().uuidString.prefix(8))"
        let input = name + "-in"
        try KafkaAdmin(config: KafkaConfig(bootstrapServers: [brokers])).createTopic(input, partitions: 3)
        let total = 200_000
        let file = NSTemporaryDirectory() + "gale-\(name).txt"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try (0..<total).map { Self.line($0) + "\n" }.joined().write(toFile: file, atomically: true, encoding: .utf8)
        let produced = try ClusterHarness.run("/usr/bin/kcat", ["-P", "-b", brokers, "-t", input, "-l", file])
        #expect(produced.status == 0, "kcat: \(produced.output)")

        let result = try cluster.cli(
            [
                "submit", cluster.topologyBinary, "--name", name, "--workers", "2",
                "--config", "test.mode=trident-kafka", "--config", "test.trident.name=\(name)",
                "--config", "test.output=\(cluster.output)", "--config", "kafka.brokers=\(brokers)",
                "--config", "kafka.input=\(input)", "--config", "trident.kind=\(kind)",
            ]
        )
        #expect(result.status == 0, "submit: \(result.output)")
        try await cluster.waitUntil("two workers run", timeout: 60) { cluster.workerPids().count == 2 }
        var truth: [String: Int64] = [:]
        for i in 0..<total { for word in Self.line(i).split(separator: " ") { truth[String(word), default: 0] += 1 } }
        let words = Int64(total * 3)
        func counted() -> [String: Int64] {
            let path = cluster.output + "/kafka-counts.db"
            let stored = (try? SQLiteStateFactory.readAll(path: path, stateName: "counts")) ?? [:]
            var counts: [String: Int64] = [:]
            for (key, value) in stored { counts[key.first?.stringValue ?? "?"] = value.value.intValue ?? 0 }
            return counts
        }
        try await cluster.waitUntil("a fifth of the words counted", timeout: 120) {
            counted().values.reduce(0, +) >= words / 5
        }
        let victim = try #require(cluster.workerPids().randomElement())
        kill(victim, SIGKILL)
        #expect(counted().values.reduce(0, +) < words, "killed mid-run")
        try await cluster.waitUntil("every word counted", timeout: 240) {
            counted().values.reduce(0, +) >= words
        }
        try await Task.sleep(for: .seconds(2))
        #expect(counted() == truth, "exact counts")
    }

    @Test func transactionalKafkaWordCountIsExactAfterAWorkerIsKilled() async throws {
        try await run(kind: "transactional")
    }

    @Test func opaqueKafkaWordCountIsExactAfterAWorkerIsKilled() async throws {
        try await run(kind: "opaque")
    }
}
