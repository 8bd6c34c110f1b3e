import Foundation
import Gale
import GaleRuntime
import Logging
import Synchronization
import Testing

@testable import GaleTrident

/// Mistakes and failures give clear errors and lose nothing.
@Suite struct TridentBadInputTests {
    static let spout = FixedBatchSpout(fields: ["word"], batches: [[[.string("a")], [.string("b")]]])

    @Test func anUnknownFieldIsNamedAtBuild() {
        let topology = TridentTopology(name: "bad-field")
        _ = topology.newStream("words", Self.spout).each(["wrod"], output: ["n"]) { _, _ in }
        #expect {
            try topology.build()
        } throws: { error in
            (error as? TridentError) == .unknownField(field: "wrod", operation: "each([\"wrod\"])", available: ["word"])
                && "\(error)".contains("no field [wrod]")
        }
    }

    @Test func anOutputFieldClashingWithAnInputFieldIsNamedAtBuild() {
        let topology = TridentTopology(name: "bad-output")
        _ = topology.newStream("words", Self.spout).each(["word"], output: ["word"]) { _, _ in }
        #expect(throws: TridentError.duplicateField(field: "word", operation: "each([\"word\"])")) {
            try topology.build()
        }
    }

    @Test func aTopologyWithoutStreamsOrWithTwoStreamsOfOneNameIsRefused() {
        #expect(throws: TridentError.self) { try TridentTopology(name: "empty").build() }
        let topology = TridentTopology(name: "twice")
        _ = topology.newStream("words", Self.spout)
        _ = topology.newStream("words", Self.spout)
        #expect(throws: TridentError.invalidTopology("two streams are named [words]")) { try topology.build() }
    }

    @Test func aSpoutWhoseBatchesExceedTheLimitIsRefusedAtBuild() {
        var config = TridentConfig()
        config.maxBatchSize = 1
        let topology = TridentTopology(name: "too-large", config: config)
        _ = topology.newStream("words", Self.spout)
        #expect {
            try topology.build()
        } throws: { error in
            "\(error)".contains("batches of up to 2 records per task, more than TridentConfig.maxBatchSize (1)")
        }
    }

    @Test func aStateThatCannotBeOpenedFailsTheSubmitNamingThePath() throws {
        let topology = TridentTopology(name: "no-state-\(UUID().uuidString.prefix(8))")
        topology.newStream("words", Self.spout)
            .groupBy(["word"])
            .persistentAggregate(
                "counts",
                SQLiteStateFactory(path: "/nonexistent-gale-dir/state.db"),
                ["word"],
                Count(),
                output: "count"
            )
        let cluster = LocalCluster(logger: Logger(label: "test"))
        #expect {
            _ = try cluster.submit(try topology.build())
        } throws: { error in
            "\(error)".contains("/nonexistent-gale-dir/state.db")
        }
    }

    /// A spout that emits more records than it declares (and than the limit).
    struct LyingSpout: TridentSpout {
        let outputFields = ["word"]
        let maxBatchSize = 1
        func isReady(txid: Int64) -> Bool { txid <= 2 }
        func makeEmitter(context: EmitterContext) -> any BatchEmitter { Emitter() }

        final class Emitter: BatchEmitter {
            func emitBatch(
                txid: Int64,
                stored: GaleValue?,
                previous: GaleValue?,
                emit: ([GaleValue]) -> Void
            )
                -> GaleValue
            {
                let count = txid == 2 ? 5 : 1
                for index in 0..<count { emit([.string("w\(index)")]) }
                return .int(txid)
            }
        }
    }

    /// Whether ``FlakyCount`` still fails, and how often it did.
    final class Switch: Sendable {
        let on = Mutex(true)
        let failures = Mutex(0)
        /// When each failure happened.
        let times = Mutex<[ContinuousClock.Instant]>([])
    }

    struct FlakyCount: CombinerAggregator {
        let failing: Switch
        func initial(_ tuple: TridentTuple) throws -> GaleValue {
            if tuple["word"] == .string("b"), failing.on.withLock({ $0 }) {
                failing.failures.withLock { $0 += 1 }
                failing.times.withLock { $0.append(.now) }
                throw AggregationError(description: "cannot count [b] yet")
            }
            return .int(1)
        }
        func combine(_ a: GaleValue, _ b: GaleValue) -> GaleValue { .int((a.intValue ?? 0) + (b.intValue ?? 0)) }
        var zero: GaleValue { .int(0) }
    }

    static func committed(_ topology: String) throws -> Int64 {
        try MasterBatchCoordinator.progress(in: MemoryTransactionalStore.named(topology)).lastCommitted
    }

    @Test func aBatchOverTheLimitAtRunTimeFailsWithAClearErrorAndCommitsNothing() async throws {
        var config = TridentConfig()
        config.maxBatchSize = 2
        let name = "lying-\(UUID().uuidString.prefix(8))"
        let states = MemoryStateFactory(registry: name)
        let topology = TridentTopology(name: name, config: config)
        topology.topologyConfig.messageTimeoutSeconds = 5
        topology.newStream("words", LyingSpout())
            .groupBy(["word"])
            .persistentAggregate("counts", states, ["word"], Count(), output: "count")
        let cluster = LocalCluster(logger: Logger(label: "test"))
        let running = try cluster.submit(try topology.build())
        let reported = await running.waitUntil(timeout: .seconds(20)) {
            running.stats().component("$spout-words")?.recentErrors.contains {
                $0.message.contains("emitted 5 records in batch 2, more than the limit of 2")
            } ?? false
        }
        #expect(reported, "\(running.stats().component("$spout-words")?.recentErrors.map(\.message) ?? [])")
        let first = await running.waitUntil(timeout: .seconds(20)) { ((try? Self.committed(name)) ?? 0) >= 1 }
        #expect(first)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try Self.committed(name) == 1, "batch 1 commits, batch 2 never does")
        #expect(states.snapshot(stateName: "counts").mapValues(\.value) == [[.string("w0")]: .int(1)])
        await cluster.shutdown()
    }

    @Test func anAggregatorThatThrowsHoldsItsBatchUntilItSucceedsAndNothingIsLost() async throws {
        let name = "throwing-\(UUID().uuidString.prefix(8))"
        let states = MemoryStateFactory(registry: name)
        let failing = Switch()
        var config = TridentConfig()
        config.retryDelay = .milliseconds(50)
        config.maxRetryDelay = .milliseconds(100)
        let topology = TridentTopology(name: name, config: config)
        topology.topologyConfig.messageTimeoutSeconds = 5
        let batches: [[[GaleValue]]] = [[[.string("a")]], [[.string("a")], [.string("b")]], [[.string("a")]]]
        topology.newStream("words", FixedBatchSpout(fields: ["word"], batches: batches))
            .groupBy(["word"])
            .persistentAggregate("counts", states, ["word"], FlakyCount(failing: failing), output: "count")
        let cluster = LocalCluster(logger: Logger(label: "test"))
        let running = try cluster.submit(try topology.build())
        let stuck = await running.waitUntil(timeout: .seconds(20)) { failing.failures.withLock { $0 } >= 5 }
        #expect(stuck)
        // A first failure runs again at once; the next ones wait 50 ms, then 100 ms (the limit).
        let times = failing.times.withLock { $0 }
        try #require(times.count >= 5)
        #expect(times[2] - times[1] >= .milliseconds(50), "\(times[2] - times[1])")
        #expect(times[3] - times[2] >= .milliseconds(100), "\(times[3] - times[2])")
        #expect(times[4] - times[3] >= .milliseconds(100), "\(times[4] - times[3])")
        let first = await running.waitUntil(timeout: .seconds(20)) { ((try? Self.committed(name)) ?? 0) >= 1 }
        #expect(first)
        #expect(try Self.committed(name) == 1, "batch 2 keeps failing; batch 3 waits behind it")
        let errors = running.stats().components.flatMap(\.recentErrors).map(\.message)
        #expect(errors.contains { $0.contains("cannot count [b] yet") }, "\(errors)")
        failing.on.withLock { $0 = false }
        let done = await running.waitUntil(timeout: .seconds(20)) { ((try? Self.committed(name)) ?? 0) >= 3 }
        #expect(done)
        #expect(
            states.snapshot(stateName: "counts").mapValues(\.value) == [
                [.string("a")]: .int(3), [.string("b")]: .int(1),
            ]
        )
        await cluster.shutdown()
    }
}
