import Foundation
import Gale
import GaleCoordination
import Testing

@testable import GaleTrident

/// The transactional layer in cluster mode: its coordinator's progress in ZooKeeper, a worker
/// killed with `kill -9` mid-run, and every batch applied to the SQLite state exactly once.
@Suite(.serialized) struct TridentClusterTests {
    @Test func wordCountIsExactAfterAWorkerIsKilledMidRun() async throws {
        let harness = try ClusterHarness("trident")
        defer { harness.tearDown() }
        try await harness.startNimbus()
        try harness.startSupervisor("s1", slots: 2)
        try harness.startSupervisor("s2", slots: 2)
        let messages = 20_000
        let batch = 100
        let batches = Int64(messages / batch)
        let name = "trident-\(UUID().uuidString.prefix(8))"
        try harness.submit(
            workers: 2,
            messages: messages,
            rate: 0,
            extra: [
                "--config", "test.mode=trident", "--config", "test.batch=\(batch)", "--config",
                "test.trident.name=\(name)", "--config", "test.interval.ms=30",
            ]
        )
        try await harness.waitForWorkers(2)
        let store = try DefaultTransactionalStoreFactory().makeStore(
            topology: name,
            settings: [ClusterSettings.zooKeeperServers: harness.zooKeeper]
        )
        func committed() throws -> Int64 { try MasterBatchCoordinator.progress(in: store).lastCommitted }
        try await harness.waitUntil("a fifth of the batches committed", timeout: 60) { try committed() >= batches / 5 }
        let victim = try #require(harness.workerPids().randomElement())
        kill(victim, SIGKILL)
        let atKill = try committed()
        #expect(atKill < batches, "killed mid-run (\(atKill) of \(batches) committed)")
        try await harness.waitUntil("the killed worker replaced", timeout: 60) {
            !harness.workerPids().contains(victim) && harness.workerPids().count == 2
        }
        try await harness.waitUntil("every batch committed", timeout: 120) { try committed() >= batches }

        var truth: [String: Int64] = [:]
        var lastTxid: [String: Int64] = [:]
        for i in 0..<messages {
            for word in ClusterHarnessInput.sentence(i).split(separator: " ") {
                truth[String(word), default: 0] += 1
                lastTxid[String(word)] = Int64(i / batch) + 1
            }
        }
        let stored = try SQLiteStateFactory.readAll(path: harness.output + "/trident.db", stateName: "counts")
        #expect(stored.count == truth.count)
        for (word, count) in truth {
            #expect(stored[[.string(word)]]?.value == .int(count), "count of \(word)")
            #expect(stored[[.string(word)]]?.txid == lastTxid[word], "txid of \(word)")
        }
    }
}

/// The fixture's sentences (Tests/Fixtures/ClusterTopology `ClusterInput.sentence`).
enum ClusterHarnessInput {
    static let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
    ]

    static func sentence(_ i: Int) -> String {
        (0..<5).map { words[(i * 7 + $0 * 3 + i / 11) % words.count] }.joined(separator: " ")
    }
}
