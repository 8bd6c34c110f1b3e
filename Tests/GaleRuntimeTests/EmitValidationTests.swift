import Gale
import GaleRuntime
import Testing

/// One bad emit from a spout, and the fragments its reported error must contain.
///
/// `$task` in a fragment stands for the emitting spout's task id.
struct BadEmit: Sendable, CustomTestStringConvertible {
    let name: String
    let mentions: [String]
    let emit: ScriptedSpout.Script

    var testDescription: String { name }

    static let all: [BadEmit] = [
        BadEmit(name: "undeclared stream", mentions: ["[nope]", "[spout]", "does not declare"]) { collector, _ in
            collector.emit([.int(1)], stream: "nope", messageId: 1_000)
        },
        BadEmit(name: "too many values", mentions: ["2 values", "[default]", "[spout]", "[n]"]) { collector, _ in
            collector.emit([.int(1), .int(2)], stream: "default", messageId: 1_000)
        },
        BadEmit(name: "no values", mentions: ["0 values", "[default]"]) { collector, _ in
            collector.emit([], stream: "default", messageId: nil)
        },
        BadEmit(name: "plain emit on a direct stream", mentions: ["[to-one]", "emitDirect"]) { collector, _ in
            collector.emit([.int(1)], stream: "to-one", messageId: nil)
        },
        BadEmit(
            name: "emitDirect on a non-direct stream",
            mentions: ["[default]", "not declared direct"]
        ) { collector, context in
            collector.emitDirect(task: context.tasks(of: "bolt")[0], [.int(1)], stream: "default", messageId: nil)
        },
        BadEmit(
            name: "emitDirect to a task that does not subscribe",
            mentions: ["task $task", "[to-one]", "does not subscribe"]
        ) { collector, context in
            collector.emitDirect(task: context.taskId, [.int(1)], stream: "to-one", messageId: 1_000)
        },
    ]
}

/// Emits that break the declared streams are reported as component errors; the topology keeps running.
@Suite struct EmitValidationTests {
    @Test(arguments: BadEmit.all)
    func badSpoutEmitIsReportedAndDropped(_ bad: BadEmit) async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let direct = BoltLog()
        let builder = TopologyBuilder(name: "bad-emit")
        builder.setSpout("spout") { ScriptedSpout(spouts, count: 5, script: bad.emit) }
        builder.setBolt("bolt", parallelism: 2) { TestBolt(bolts) }.shuffleGrouping("spout")
        builder.setBolt("direct") { TestBolt(direct) }.directGrouping("spout", stream: "to-one")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("the valid tuples after the bad emit complete") { spouts.ackCount == 5 }
            let spout = try #require(running.stats().component("spout"))
            #expect(spout.errorCount == 1)
            let message = try #require(spout.recentErrors.first?.message)
            let task = try #require(running.runtime.plan.tasks(of: "spout").first)
            for fragment in bad.mentions.map({ $0.replacing("$task", with: "\(task)") }) {
                #expect(message.contains(fragment), "\(message) does not mention \(fragment)")
            }
        }

        #expect(
            bolts.snapshot.allValues.sorted { ($0[0].intValue ?? 0) < ($1[0].intValue ?? 0) }
                == (0..<5).map { [.int(Int64($0))] }
        )
        #expect(direct.executedCount == 0)
        #expect(spouts.snapshot.acked[1_000] == nil, "a rejected emit never completes a tree")
        #expect(spouts.failCount == 0)
    }

    @Test func badBoltEmitIsReportedAndTheInputStillCompletes() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let sink = BoltLog()
        let builder = TopologyBuilder(name: "bad-bolt-emit")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 4)) }
        builder.setBolt("bolt") {
            TestBolt(
                bolts,
                .init(streams: [("out", ["word"])]) { tuple, io in
                    io.collector.emit([tuple[0], tuple[0]], stream: "out", anchor: tuple)
                    io.collector.emit([tuple[0]], stream: "elsewhere", anchor: tuple)
                    io.collector.ack(tuple)
                }
            )
        }
        .shuffleGrouping("spout")
        builder.setBolt("sink") { TestBolt(sink) }.shuffleGrouping("bolt", stream: "out")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every input's tree completes") { spouts.ackCount == 4 }
            let stats = try #require(running.stats().component("bolt"))
            #expect(stats.errorCount == 8)
            let messages = stats.recentErrors.map(\.message)
            #expect(
                messages.filter { $0.contains("2 values") && $0.contains("[out]") && $0.contains("[word]") }.count == 4
            )
            #expect(messages.filter { $0.contains("[elsewhere]") && $0.contains("[bolt]") }.count == 4)
            #expect(stats.emitted == 0)
        }

        #expect(sink.executedCount == 0)
        #expect(spouts.failCount == 0)
    }
}
