import Gale
import GaleRuntime
import Synchronization
import Testing

@Suite struct RecycleBinTests {
    static let source = TupleSource.intern(component: "recycle-test", stream: "default", fields: ["v"])

    static func batch(_ count: Int, from task: Int) -> ContiguousArray<Envelope> {
        ContiguousArray((0..<count).map { .tuple(Tuple(values: [.int(Int64($0))], source: source, sourceTask: task)) })
    }

    @Test func aFullBinRefusesAndLeavesTheBatchWithTheCaller() {
        let bin = RecycleBin()
        for i in 0..<RecycleBin.capacity {
            var batch = Self.batch(3, from: 1)
            #expect(bin.give(&batch), "batch \(i)")
            #expect(batch.isEmpty)
        }
        var refused = Self.batch(3, from: 1)
        #expect(!bin.give(&refused))
        #expect(refused.count == 3, "a refused batch keeps its tuples")
        #expect(bin.count == RecycleBin.capacity)
        #expect(bin.take()?.count == 3)
        #expect(bin.count == RecycleBin.capacity - 1)
    }

    @Test func onlyTuplesOfATaskOfThisProcessGoBack() {
        // A sink table without executors (remote tasks, or no sink): nothing is recycled.
        let table = SinkTable()
        table.install([nil, nil, nil])
        var fromRemote = Self.batch(2, from: 1)
        #expect(!table.recycle(&fromRemote))
        #expect(fromRemote.count == 2)
        var ticks: ContiguousArray<Envelope> = [.tuple(Tuple(values: [], source: .tick, sourceTask: -1))]
        #expect(!table.recycle(&ticks))
        var acks: ContiguousArray<Envelope> = [.ack(root: 1, xor: 2)]
        #expect(!table.recycle(&acks))
        var outOfRange = Self.batch(1, from: 7)
        #expect(!table.recycle(&outOfRange))
    }

    /// Tuples go back to their emitter after a bolt executed them and are freed there; a bolt that
    /// keeps a tuple's values (TestBolt records them) must still read them intact afterwards, and
    /// every tuple must arrive exactly once. The values are strings longer than 15 bytes (stored
    /// on the heap), many more batches than a bin holds.
    @Test func recycledTuplesArriveOnceAndValuesKeptByBoltsStayIntact() async throws {
        let count = 30_000
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "recycle")
        builder.setSpout("spout") {
            SequenceSpout(
                spouts,
                .init(count: count, fields: ["id", "text"], tracked: true, recordIds: false) {
                    [.int(Int64($0)), .string("a value longer than fifteen bytes #\($0)")]
                }
            )
        }
        builder.setBolt("forward", parallelism: 2) { ForwardingBolt() }.shuffleGrouping("spout")
        builder.setBolt("sink", parallelism: 2) { TestBolt(bolts) }.fieldsGrouping("forward", fields: ["id"])

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tuple arrives") { bolts.executedCount == count }
            try await running.require("every tree completes") { spouts.snapshot.acked.count == count }
        }

        var seen = [Int](repeating: 0, count: count)
        for values in bolts.snapshot.allValues {
            guard let id = values.first?.intValue.map(Int.init), id >= 0, id < count else {
                Issue.record("unexpected values \(values)")
                continue
            }
            seen[id] += 1
            #expect(values[1] == .string("a value longer than fifteen bytes #\(id)"), "values of tuple \(id)")
        }
        let missing = seen.indices.filter { seen[$0] == 0 }
        let repeated = seen.indices.filter { seen[$0] > 1 }
        #expect(missing.isEmpty, "missing ids, first: \(missing.prefix(5))")
        #expect(repeated.isEmpty, "ids seen more than once, first: \(repeated.prefix(5))")
    }
}

/// Emits each input's values again (a basic bolt: anchored, acked on return).
final class ForwardingBolt: BasicBolt {
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["id", "text"])
    }

    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        collector.emit([tuple[0], tuple[1]])
    }
}
