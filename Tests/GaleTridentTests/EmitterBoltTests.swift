import Gale
import Synchronization
import Testing

@testable import GaleTrident

/// An emitter bolt driven tuple by tuple, for orderings a cluster produces only by chance: a batch
/// tuple of a replaced attempt, or of a dead coordinator's epoch, arriving after a newer one.
@Suite struct EmitterBoltTests {
    /// An opaque-like spout: every emission of a txid differs (metadata and record carry a count
    /// of the emitter's calls), as an opaque Kafka spout's may when partitions moved on.
    struct ChangingSpout: TridentSpout {
        var outputFields: [String] { ["n"] }
        var kind: TridentSpoutKind { .opaque }
        var maxBatchSize: Int { 10 }

        final class Emitter: BatchEmitter {
            var calls: Int64 = 0
            func emitBatch(
                txid: Int64,
                stored: GaleValue?,
                previous: GaleValue?,
                emit: (_ values: [GaleValue]) -> Void
            ) throws -> GaleValue {
                calls += 1
                emit([.int(calls)])
                return .int(calls)
            }
        }

        func makeEmitter(context: EmitterContext) throws -> any BatchEmitter { Emitter() }
    }

    static func tuple(_ txid: Int64, _ attempt: Int64, stream: String = MasterBatchCoordinator.batchStream) -> Tuple {
        Tuple(
            values: [.int(txid), .int(attempt)],
            source: TupleSource.intern(component: MasterBatchCoordinator.componentId, stream: stream, fields: []),
            sourceTask: 1
        )
    }

    static func attempt(epoch: Int64, _ counter: Int64) -> Int64 { epoch << 32 | counter }

    @Test func staleBatchTuplesNeitherEmitNorReplaceTheStoredMetadata() throws {
        let name = "emitter-\(UInt64.random(in: 0...UInt64.max))"
        let bolt = EmitterBolt(
            spout: ChangingSpout(),
            streamName: "s",
            outputStream: "s0",
            topologyName: name,
            config: TridentConfig()
        )
        let collector = SegmentBoltTests.Collector()
        let context = TopologyContext(
            topologyName: name,
            componentId: "$spout-s",
            taskId: 1,
            config: TopologyConfig(),
            tasksByComponent: ["$spout-s": [1]],
            outputStreams: []
        )
        try bolt.prepare(context: context, collector: collector)
        let store = MemoryTransactionalStore.named(name)
        func stored(_ txid: Int64) throws -> GaleValue? {
            try store.get("emitters/s/0/\(txid)").map { try GaleValue(canonicalBytes: $0) }
        }

        // Batch 1, attempt 2 (attempt 1 failed), then attempt 1's tuple arrives late.
        bolt.execute(Self.tuple(1, Self.attempt(epoch: 1, 2)))
        bolt.execute(Self.tuple(1, Self.attempt(epoch: 1, 1)))
        #expect(collector.emitted.map(\.values) == [[.int(1), .int(Self.attempt(epoch: 1, 2)), .int(1)]])
        #expect(try stored(1) == .int(1), "the newer attempt's metadata stays")

        // A restarted coordinator (epoch 2) runs batch 2; a tuple of epoch 1 comes after it.
        collector.emitted.removeAll()
        bolt.execute(Self.tuple(2, Self.attempt(epoch: 2, 1)))
        bolt.execute(Self.tuple(2, Self.attempt(epoch: 1, 7)))
        #expect(collector.emitted.map(\.values) == [[.int(2), .int(Self.attempt(epoch: 2, 1)), .int(2)]])
        #expect(try stored(2) == .int(2))
        #expect(collector.acked == 4, "stale tuples are acked, not failed")
        #expect(collector.failed == 0)
    }
}
