import Gale
import Synchronization
import Testing

@testable import GaleTrident

/// A segment bolt driven tuple by tuple, for orderings a running topology produces only by chance.
@Suite struct SegmentBoltTests {
    final class Collector: OutputCollector {
        var emitted: [(stream: String, values: [GaleValue])] = []
        var acked = 0
        var failed = 0
        func emit(_ values: [GaleValue], stream: String, anchor: Tuple?) { emitted.append((stream, values)) }
        func emit(_ values: [GaleValue], stream: String, anchors: [Tuple]) { emitted.append((stream, values)) }
        func emitDirect(task: Int, _ values: [GaleValue], stream: String, anchors: [Tuple]) {
            emitted.append((stream, values))
        }
        func ack(_ tuple: Tuple) { acked += 1 }
        func fail(_ tuple: Tuple) { failed += 1 }
        func reportError(_ error: any Error) {}
    }

    /// The bolt after the spout of `words -> groupBy(word) -> persistentAggregate(Count)`: it
    /// combines each batch's words per key and emits the partial counts at the batch's finish.
    static func partialCountBolt() throws -> (SegmentBolt, SegmentPlan, Collector) {
        let topology = TridentTopology(name: "segment-\(UInt64.random(in: 0...UInt64.max))")
        topology.newStream("words", FixedBatchSpout(fields: ["word"], batches: []))
            .groupBy(["word"])
            .persistentAggregate(
                "counts",
                MemoryStateFactory(registry: topology.name),
                ["word"],
                Count(),
                output: "count"
            )
        _ = try topology.build()
        let plan = try #require(topology.lastPlans.first { $0.finishLevel > 0 })
        let bolt = SegmentBolt(plan: plan, topologyName: topology.name, config: topology.config, upstreamStreams: [:])
        let collector = Collector()
        let context = TopologyContext(
            topologyName: topology.name,
            componentId: plan.componentId,
            taskId: 1,
            config: TopologyConfig(),
            // The state's bolt, which gets the partial counts as lists (one per task and batch).
            tasksByComponent: [plan.componentId: [1], try #require(plan.bulkExports.values.first): [2]],
            outputStreams: []
        )
        try bolt.prepare(context: context, collector: collector)
        return (bolt, plan, collector)
    }

    static func tuple(_ values: [GaleValue], stream: String) -> Tuple {
        Tuple(values: values, source: TupleSource.intern(component: "x", stream: stream, fields: []), sourceTask: 1)
    }

    @Test func aLateFinishOfAReplacedAttemptKeepsAnEarlierBatchsNewerState() throws {
        let (bolt, plan, collector) = try Self.partialCountBolt()
        let input = try #require(plan.entry.parents.first).streamId
        let finish = MasterBatchCoordinator.finishStream
        let begin = MasterBatchCoordinator.batchStream
        // Batch 8's first attempt began; then batch 7 runs again (attempt 2) after a failure.
        bolt.execute(Self.tuple([.int(8), .int(1)], stream: begin))
        bolt.execute(Self.tuple([.int(7), .int(2)], stream: begin))
        bolt.execute(Self.tuple([.int(7), .int(2), .string("a")], stream: input))
        bolt.execute(Self.tuple([.int(7), .int(2), .string("a")], stream: input))
        // The finish of batch 8's old attempt arrives late: it must not drop batch 7's state.
        bolt.execute(Self.tuple([.int(8), .int(1), .int(1)], stream: finish))
        collector.emitted.removeAll()
        bolt.execute(Self.tuple([.int(7), .int(2), .int(1)], stream: finish))
        #expect(
            collector.emitted.map(\.values) == [[.int(7), .int(2), .list([.string("a"), .int(2)])]],
            "batch 7 keeps its count"
        )
        #expect(collector.failed == 0)
    }

    /// A task started after a batch began (its worker was killed and restarted) holds nothing of
    /// what its predecessor absorbed: it fails that batch's finish and commit, so that the batch
    /// runs again, rather than finishing or committing it without its share.
    @Test func aTaskStartedAfterABatchBeganFailsItsFinishAndCommit() throws {
        let (bolt, plan, collector) = try Self.partialCountBolt()
        let input = try #require(plan.entry.parents.first).streamId
        // The predecessor absorbed batch 3; this task sees only some later tuple and the finish.
        bolt.execute(Self.tuple([.int(3), .int(5), .string("b")], stream: input))
        bolt.execute(Self.tuple([.int(3), .int(5), .int(1)], stream: MasterBatchCoordinator.finishStream))
        #expect(collector.failed == 1, "the finish of an attempt this task did not see begin fails")
        #expect(collector.emitted.isEmpty, "nothing of batch 3 is emitted")

        // The replay (attempt 6) begins while the task runs: it finishes normally.
        bolt.execute(Self.tuple([.int(3), .int(6)], stream: MasterBatchCoordinator.batchStream))
        bolt.execute(Self.tuple([.int(3), .int(6), .string("b")], stream: input))
        bolt.execute(Self.tuple([.int(3), .int(6), .int(1)], stream: MasterBatchCoordinator.finishStream))
        #expect(collector.failed == 1)
        #expect(collector.emitted.map(\.values) == [[.int(3), .int(6), .list([.string("b"), .int(1)])]])
    }
}
