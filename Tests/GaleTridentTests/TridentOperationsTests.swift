import Foundation
import Gale
import GaleRuntime
import Logging
import Synchronization
import Testing

@testable import GaleTrident

/// Each operation of the stream API, run in local mode on small fixed batches.
@Suite struct TridentOperationsTests {
    /// A sink keeping what each txid wrote, across tasks.
    final class Collected: TridentSink, Sendable {
        let writes = Mutex<[Int64: [[GaleValue]]]>([:])

        func makeWriter(context: SinkContext) -> any BatchWriter { Writer(collected: self) }

        final class Writer: BatchWriter {
            let collected: Collected
            init(collected: Collected) { self.collected = collected }
            func write(txid: Int64, records: [[GaleValue]]) {
                collected.writes.withLock { $0[txid, default: []] += records }
            }
        }

        var all: [Int64: [[GaleValue]]] { writes.withLock { $0 } }
    }

    static let payments: [[[GaleValue]]] = [
        [[.string("ann"), .int(5)], [.string("bob"), .int(-1)], [.string("ann"), .int(7)]],
        [[.string("cid"), .int(2)], [.string("bob"), .int(4)]],
        [[.string("ann"), .int(1)], [.string("cid"), .int(9)], [.string("cid"), .int(3)]],
    ]

    static func run(_ topology: TridentTopology, batches: Int64) async throws {
        let cluster = LocalCluster(logger: Logger(label: "test"))
        _ = try cluster.submit(try topology.build())
        let committed = try await TridentWordCountTests.waitForCommit(topology.name, txid: batches)
        await cluster.shutdown()
        #expect(committed >= batches)
    }

    @Test func filterMapAggregateAndGroupedAggregateGiveEachBatchsResults() async throws {
        let name = "ops-\(UUID().uuidString.prefix(8))"
        let topology = TridentTopology(name: name)
        let spout = FixedBatchSpout(fields: ["user", "amount"], batches: Self.payments, parallelism: 2)
        let positive = topology.newStream("payments", spout)
            .filter(["amount"]) { ($0["amount"].intValue ?? 0) > 0 }
            .map(["user", "amount"], output: ["user", "cents"]) {
                [$0["user"], .int(($0["amount"].intValue ?? 0) * 100)]
            }
            .parallelismHint(2)
        let counts = Collected()
        positive.aggregate(["cents"], Count(), output: ["n"]).sink("counts", counts)
        let sums = Collected()
        positive.aggregate(["cents"], Sum(), output: ["total"]).sink("sums", sums)
        let maxima = Collected()
        positive.groupBy(["user"]).aggregate(["cents"], Max(), output: ["max"]).parallelismHint(2).sink(
            "maxima",
            maxima
        )
        let minima = Collected()
        positive.partitionBy(["user"]).partitionAggregate(["cents"], Min(), output: ["min"]).sink("minima", minima)
        try await Self.run(topology, batches: 3)

        #expect(counts.all == [1: [[.int(2)]], 2: [[.int(2)]], 3: [[.int(3)]]])
        #expect(sums.all == [1: [[.int(1200)]], 2: [[.int(600)]], 3: [[.int(1300)]]])
        let sortedMaxima = maxima.all.mapValues { $0.sorted { ($0[0].stringValue ?? "") < ($1[0].stringValue ?? "") } }
        #expect(
            sortedMaxima == [
                1: [[.string("ann"), .int(700)]],
                2: [[.string("bob"), .int(400)], [.string("cid"), .int(200)]],
                3: [[.string("ann"), .int(100)], [.string("cid"), .int(900)]],
            ]
        )
        // One task holds every user here (parallelism 1): the minimum of each batch.
        #expect(minima.all == [1: [[.int(500)]], 2: [[.int(200)]], 3: [[.int(100)]]])
    }

    @Test func flatMapEachProjectAndMergeCombineStreams() async throws {
        let name = "ops-\(UUID().uuidString.prefix(8))"
        let topology = TridentTopology(name: name)
        let left = topology.newStream("left", FixedBatchSpout(fields: ["line"], batches: [[[.string("a b")]]]))
        let right = topology.newStream("right", FixedBatchSpout(fields: ["text"], batches: [[[.string("c")]]]))
        let words = topology.merge(
            left.flatMap(["line"], output: ["word"]) { tuple in
                (tuple["line"].stringValue ?? "").split(separator: " ").map { [.string(String($0))] }
            },
            right.project(["text"])
        )
        let collected = Collected()
        words.each(["word"], output: ["upper"]) { tuple, emit in
            emit([.string((tuple["word"].stringValue ?? "").uppercased())])
        }
        .project(["upper"])
        .sink("upper", collected)
        try await Self.run(topology, batches: 1)
        #expect(
            collected.all[1]?.sorted { ($0[0].stringValue ?? "") < ($1[0].stringValue ?? "") } == [
                [.string("A")], [.string("B")], [.string("C")],
            ]
        )
    }

    /// Splits a line into `[word, length]` per word; the first time it sees the line "fail",
    /// it throws after emitting (the batch runs again, and counts once).
    final class SplitOnce: TridentFunction {
        let thrown = Mutex(false)
        struct Failure: Error {}

        func execute(_ tuple: TridentTuple, emit: (_ values: [GaleValue]) -> Void) throws {
            let line = tuple["line"].stringValue ?? ""
            for word in line.split(separator: " ") { emit([.string(String(word)), .int(Int64(word.count))]) }
            if line == "fail z",
                thrown.withLock({ thrown in
                    defer { thrown = true }
                    return !thrown
                })
            {
                throw Failure()
            }
        }
    }

    @Test func groupedCombinersAfterEachKeyOnItsInputAndOutputAndCountAFailedTupleOnce() async throws {
        let name = "ops-\(UUID().uuidString.prefix(8))"
        let topology = TridentTopology(name: name)
        let lines: [[[GaleValue]]] = [
            [[.string("ann"), .string("a bb a")], [.string("bob"), .string("bb")]],
            [[.string("ann"), .string("fail z")], [.string("bob"), .string("a")]],
        ]
        let words = topology.newStream("lines", FixedBatchSpout(fields: ["user", "line"], batches: lines))
            .each(["line"], SplitOnce(), output: ["word", "length"])
        // Key from the input and the output, summing an output field.
        let byUser = Collected()
        words.groupBy(["user", "word"]).aggregate(["length"], Sum(), output: ["letters"]).sink("by-user", byUser)
        // Key exactly the function's output.
        let byWord = Collected()
        words.groupBy(["word", "length"]).aggregate(["word"], Count(), output: ["n"]).sink("by-word", byWord)
        try await Self.run(topology, batches: 2)

        func sorted(_ records: [[GaleValue]]?) -> [[GaleValue]] {
            (records ?? []).sorted {
                $0.map(\.description).joined(separator: "/") < $1.map(\.description).joined(separator: "/")
            }
        }
        #expect(
            sorted(byUser.all[1])
                == sorted([
                    [.string("ann"), .string("a"), .int(2)], [.string("ann"), .string("bb"), .int(2)],
                    [.string("bob"), .string("bb"), .int(2)],
                ])
        )
        #expect(
            sorted(byUser.all[2])
                == sorted([
                    [.string("ann"), .string("fail"), .int(4)], [.string("ann"), .string("z"), .int(1)],
                    [.string("bob"), .string("a"), .int(1)],
                ])
        )
        #expect(
            sorted(byWord.all[1])
                == sorted([
                    [.string("a"), .int(1), .int(2)], [.string("bb"), .int(2), .int(2)],
                ])
        )
        #expect(
            sorted(byWord.all[2])
                == sorted([
                    [.string("fail"), .int(4), .int(1)], [.string("z"), .int(1), .int(1)],
                    [.string("a"), .int(1), .int(1)],
                ])
        )
    }

    struct SumReducer: ReducerAggregator {
        var initial: GaleValue { .int(0) }
        func reduce(_ state: GaleValue, _ tuple: TridentTuple) -> GaleValue {
            .int((state.intValue ?? 0) + (tuple[0].intValue ?? 0))
        }
    }

    @Test func persistentAggregatesAccumulateAcrossBatchesAndStateQueriesReadThem() async throws {
        let registry = "ops-\(UUID().uuidString.prefix(8))"
        let states = MemoryStateFactory(registry: registry)
        let name = "totals-\(registry)"
        let first = TridentTopology(name: name)
        let grouped = first.newStream("payments", FixedBatchSpout(fields: ["user", "amount"], batches: Self.payments))
            .groupBy(["user"])
        grouped.persistentAggregate("totals", states, ["amount"], Sum(), output: "total").parallelismHint(2)
        grouped.persistentAggregate("reduced", states, ["amount"], SumReducer(), output: "total").parallelismHint(2)
        try await Self.run(first, batches: 3)
        let expected: [StateKey: GaleValue] = [
            [.string("ann")]: .int(13), [.string("bob")]: .int(3), [.string("cid")]: .int(14),
        ]
        #expect(states.snapshot(stateName: "totals").mapValues(\.value) == expected)
        #expect(states.snapshot(stateName: "reduced").mapValues(\.value) == expected)
        #expect(states.snapshot(stateName: "totals")[[.string("bob")]]?.txid == 2, "the last batch that touched bob")

        // Another topology reads the state: same name, same partitions. Its queries are routed by
        // fields grouping; the partial sums reached the state's tasks in lists sent directly, to
        // the same task per key, or a key would be read where it is not.
        let second = TridentTopology(name: "query-\(registry)")
        let totals = second.newStream("none", FixedBatchSpout(fields: ["user", "amount"], batches: []))
            .groupBy(["user"])
            .persistentAggregate("totals", states, ["amount"], Sum(), output: "total")
            .parallelismHint(2)
        let answers = Collected()
        second.newStream(
            "questions",
            FixedBatchSpout(
                fields: ["who"],
                batches: [[[.string("ann")], [.string("bob")], [.string("cid")], [.string("dan")]]]
            )
        )
        .stateQuery(totals, keys: ["who"], output: "total")
        .sink("answers", answers)
        try await Self.run(second, batches: 1)
        #expect(
            answers.all[1]?.sorted { ($0[0].stringValue ?? "") < ($1[0].stringValue ?? "") } == [
                [.string("ann"), .int(13)], [.string("bob"), .int(3)], [.string("cid"), .int(14)],
                [.string("dan"), .null],
            ]
        )
    }
}
