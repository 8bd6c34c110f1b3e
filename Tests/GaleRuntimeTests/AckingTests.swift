import Gale
import GaleRuntime
import Testing

/// XOR acking end to end: trees complete exactly once, fail explicitly or by timeout, and
/// `maxSpoutPending` bounds the trees in flight.
@Suite struct AckingTests {
    @Test func treeAcrossTwoBoltsCompletesExactlyOnce() async throws {
        let spouts = SpoutLog()
        let a = BoltLog()
        let b = BoltLog()
        let builder = TopologyBuilder(name: "tree")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 200)) }
        builder.setBolt("a", parallelism: 2) {
            TestBolt(a, .init(streams: [("default", ["n"])], behaviour: Behaviour.forward(copies: 3)))
        }
        .shuffleGrouping("spout")
        builder.setBolt("b", parallelism: 3) { TestBolt(b) }.shuffleGrouping("a")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tree completes") { spouts.ackCount == 200 }
            try await running.require("the topology drains") { running.runtime.isDrained }
        }

        let log = spouts.snapshot
        #expect(log.failed.isEmpty)
        #expect(log.acked.count == 200)
        #expect(log.acked.values.allSatisfy { $0 == 1 })
        #expect(b.executedCount == 600)
    }

    @Test func explicitFailDownstreamReachesTheSpoutsFail() async throws {
        let spouts = SpoutLog()
        let a = BoltLog()
        let b = BoltLog()
        let builder = TopologyBuilder(name: "explicit-fail")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 50)) }
        builder.setBolt("a") { TestBolt(a, .init(streams: [("default", ["n"])], behaviour: Behaviour.forward())) }
            .shuffleGrouping("spout")
        builder.setBolt("b") { TestBolt(b, .init(behaviour: Behaviour.fail)) }.shuffleGrouping("a")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tree fails") { spouts.failCount == 50 }
            try await running.require("the topology drains") { running.runtime.isDrained }
        }

        let log = spouts.snapshot
        #expect(log.acked.isEmpty)
        #expect(Set(log.failed.keys) == Set(0..<50))
        #expect(log.failed.values.allSatisfy { $0 == 1 })
    }

    @Test func unackedTreeFailsByMessageTimeout() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "timeout")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 20)) }
        builder.setBolt("silent") { TestBolt(bolts, .init(behaviour: Behaviour.ignore)) }.shuffleGrouping("spout")
        builder.config.messageTimeoutSeconds = 1

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tuple arrives") { bolts.executedCount == 20 }
            try await running.require("every tree times out") { spouts.failCount == 20 }
        }

        let log = spouts.snapshot
        #expect(log.acked.isEmpty)
        #expect(Set(log.failed.keys) == Set(0..<20))
        #expect(log.failed.values.allSatisfy { $0 == 1 })
    }

    @Test func replayingFailuresAcksEveryMessageExactlyOnce() async throws {
        let spouts = SpoutLog()
        let flaky = BoltLog()
        let sink = BoltLog()
        let builder = TopologyBuilder(name: "replay")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 2_000, replayFailures: true)) }
        builder.setBolt("flaky", parallelism: 2) {
            TestBolt(
                flaky,
                .init(streams: [("default", ["n"])], recordValues: false) { tuple, io in
                    if Int.random(in: 0..<10) == 0 {
                        io.collector.fail(tuple)
                    } else {
                        io.collector.emit(tuple.values, anchor: tuple)
                        io.collector.ack(tuple)
                    }
                }
            )
        }
        .shuffleGrouping("spout")
        builder.setBolt("sink", parallelism: 2) { TestBolt(sink, .init(recordValues: false)) }.shuffleGrouping("flaky")
        builder.config.maxSpoutPending = 500

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every message is eventually acked") {
                spouts.snapshot.acked.count == 2_000
            }
            try await running.require("the topology drains") { running.runtime.isDrained }
        }

        let log = spouts.snapshot
        #expect(Set(log.acked.keys) == Set(0..<2_000), "no message is lost")
        #expect(log.acked.values.allSatisfy { $0 == 1 }, "no message is acked twice")
        #expect(log.failCount > 0, "the bolt failed some tuples")
        #expect(log.emittedIds.count == 2_000 + log.failCount, "each failure is replayed once")
    }

    @Test func maxSpoutPendingIsNeverExceeded() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "max-pending")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 300)) }
        builder.setBolt("slow", parallelism: 2) { TestBolt(bolts, .init(delayMicros: 200)) }.shuffleGrouping("spout")
        builder.config.maxSpoutPending = 8

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tree completes") { spouts.ackCount == 300 }
        }

        let log = spouts.snapshot
        #expect(log.maxOutstanding <= 8)
        #expect(log.maxOutstanding == 8, "the limit was reached, so it was exercised")
        #expect(log.maxPendingSeen < 8, "nextTuple is only called below the limit")
        #expect(log.failCount == 0)
    }

    @Test func spoutsOwnMaxSpoutPendingOverridesTheTopologys() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "own-max-pending")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 100)) }.maxSpoutPending(3)
        builder.setBolt("slow") { TestBolt(bolts, .init(delayMicros: 200)) }.shuffleGrouping("spout")
        builder.config.maxSpoutPending = 1_000

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tree completes") { spouts.ackCount == 100 }
        }

        #expect(spouts.snapshot.maxOutstanding == 3)
    }

    @Test func withoutAckersTheSpoutGetsAckAtOnce() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "no-ackers")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 100)) }
        builder.setBolt("silent") { TestBolt(bolts, .init(behaviour: Behaviour.ignore)) }.shuffleGrouping("spout")
        builder.config.ackers = 0
        builder.config.maxSpoutPending = 1

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every message is acked") { spouts.ackCount == 100 }
            try await running.require("every tuple arrives") { bolts.executedCount == 100 }
            #expect(running.stats().component(Topology.ackerComponentId) == nil)
        }

        let log = spouts.snapshot
        #expect(log.failCount == 0)
        #expect(log.maxPendingSeen == 0)
        #expect(log.acked.values.allSatisfy { $0 == 1 })
    }

    @Test func unanchoredEmitsAreNotPartOfTheTree() async throws {
        let spouts = SpoutLog()
        let a = BoltLog()
        let b = BoltLog()
        let builder = TopologyBuilder(name: "unanchored")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 100)) }
        builder.setBolt("a") {
            TestBolt(a, .init(streams: [("default", ["n"])], behaviour: Behaviour.forward(anchored: false)))
        }
        .shuffleGrouping("spout")
        builder.setBolt("never-acks") { TestBolt(b, .init(behaviour: Behaviour.ignore)) }.shuffleGrouping("a")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tree completes without the child's ack") { spouts.ackCount == 100 }
            try await running.require("every child arrives") { b.executedCount == 100 }
        }

        #expect(spouts.failCount == 0)
        #expect(spouts.snapshot.acked.values.allSatisfy { $0 == 1 })
    }

    @Test func multiAnchoredChildCompletesBothTreesOnlyWhenAcked() async throws {
        let spouts = SpoutLog()
        let held = BoltLog()
        let release = Gate()
        let builder = TopologyBuilder(name: "multi-anchor")
        builder.setSpout("spout") {
            SequenceSpout(spouts, .init(count: 20, fields: ["key", "n"]) { [.int(Int64($0 / 2)), .int(Int64($0))] })
        }
        builder.setBolt("join", parallelism: 2) { JoinBolt() }.fieldsGrouping("spout", fields: ["key"])
        builder.setBolt("hold") { HoldingBolt(held, release: release) }.shuffleGrouping("join").tickFrequency(
            seconds: 0.05
        )

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every joined child arrives") { held.executedCount == 10 }
            // 20 inits from the spout and 20 acks from the join bolt reach the acker.
            try await running.require("the acker saw the inputs' acks") {
                (running.stats().component(Topology.ackerComponentId)?.executed ?? 0) >= 40
            }
            #expect(spouts.ackCount == 0, "inputs acked, joined child not yet: no tree is complete")
            #expect(spouts.failCount == 0)
            release.open()
            try await running.require("acking the children completes both trees of each") { spouts.ackCount == 20 }
        }

        let log = spouts.snapshot
        #expect(Set(log.acked.keys) == Set(0..<20))
        #expect(log.acked.values.allSatisfy { $0 == 1 })
        #expect(log.failed.isEmpty)
    }

    @Test func basicBoltThatThrowsFailsTheTupleAndRecordsTheError() async throws {
        let spouts = SpoutLog()
        let sink = BoltLog()
        let builder = TopologyBuilder(name: "basic-throws")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 10)) }
        builder.setBolt("basic") { OddThrowingBasicBolt() }.shuffleGrouping("spout")
        builder.setBolt("sink") { TestBolt(sink) }.shuffleGrouping("basic")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tree ends") { spouts.ackCount + spouts.failCount == 10 }
            let basic = try #require(running.stats().component("basic"))
            #expect(basic.errorCount == 5)
            #expect(basic.recentErrors.count == 5)
            for error in basic.recentErrors {
                #expect(error.message.contains("odd value"), "\(error.message)")
                #expect(error.task == running.runtime.plan.tasks(of: "basic").first)
            }
        }

        let log = spouts.snapshot
        #expect(Set(log.failed.keys) == [1, 3, 5, 7, 9])
        #expect(Set(log.acked.keys) == [0, 2, 4, 6, 8])
        #expect(sink.executedCount == 5)
    }

    @Test func basicBoltEmitsAreAnchoredToTheInput() async throws {
        let spouts = SpoutLog()
        let sink = BoltLog()
        let builder = TopologyBuilder(name: "basic-anchors")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 10) { [.int(Int64($0 * 2))] }) }
        builder.setBolt("basic") { OddThrowingBasicBolt() }.shuffleGrouping("spout")
        builder.setBolt("sink") { TestBolt(sink, .init(behaviour: Behaviour.fail)) }.shuffleGrouping("basic")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("the sink's fails reach the spout") { spouts.failCount == 10 }
        }

        #expect(spouts.ackCount == 0)
    }

    @Test func failingAMultiAnchoredChildFailsBothTrees() async throws {
        let spouts = SpoutLog()
        let sink = BoltLog()
        let builder = TopologyBuilder(name: "multi-anchor-fail")
        builder.setSpout("spout") {
            SequenceSpout(spouts, .init(count: 20, fields: ["key", "n"]) { [.int(Int64($0 / 2)), .int(Int64($0))] })
        }
        builder.setBolt("join") { JoinBolt() }.fieldsGrouping("spout", fields: ["key"])
        builder.setBolt("sink") { TestBolt(sink, .init(behaviour: Behaviour.fail)) }.shuffleGrouping("join")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("both trees of every joined child fail") { spouts.failCount == 20 }
        }

        #expect(Set(spouts.snapshot.failed.keys) == Set(0..<20))
        #expect(spouts.ackCount == 0)
        #expect(sink.executedCount == 10)
    }

    @Test func treeWithoutSubscribersCompletesAtOnce() async throws {
        let spouts = SpoutLog()
        let builder = TopologyBuilder(name: "no-subscribers")
        builder.setSpout("lonely") { SequenceSpout(spouts, .init(count: 10)) }

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every message is acked") { spouts.ackCount == 10 }
        }

        #expect(spouts.failCount == 0)
        #expect(spouts.snapshot.maxPendingSeen == 0)
    }

    @Test func anchoredEmitDirectFromABoltJoinsTheTree() async throws {
        let spouts = SpoutLog()
        let router = BoltLog()
        let sink = BoltLog()
        let release = Gate()
        let builder = TopologyBuilder(name: "bolt-direct")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 40)) }
        builder.setBolt("router") {
            TestBolt(
                router,
                .init(directStreams: [("routed", ["n"])]) { tuple, io in
                    let tasks = io.context.tasks(of: "sink")
                    let n = Int(tuple.int(at: 0) ?? 0)
                    io.collector.emitDirect(
                        task: tasks[n % tasks.count],
                        tuple.values,
                        stream: "routed",
                        anchors: [tuple]
                    )
                    io.collector.ack(tuple)
                }
            )
        }
        .shuffleGrouping("spout")
        builder.setBolt("sink", parallelism: 2) { HoldingBolt(sink, release: release) }
            .directGrouping("router", stream: "routed")
            .tickFrequency(seconds: 0.05)

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every routed tuple arrives") { sink.executedCount == 40 }
            try await running.require("the acker saw the router's acks") {
                (running.stats().component(Topology.ackerComponentId)?.executed ?? 0) >= 80
            }
            #expect(spouts.ackCount == 0, "the routed children are part of the trees and still unacked")
            release.open()
            try await running.require("acking the routed children completes the trees") { spouts.ackCount == 40 }
        }

        #expect(spouts.failCount == 0)
        #expect(router.executedCount == 40)
    }

    @Test func boltEmitDirectReachesTheNamedTask() async throws {
        let spouts = SpoutLog()
        let router = BoltLog()
        let sink = BoltLog()
        let builder = TopologyBuilder(name: "bolt-direct-routing")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 40)) }
        builder.setBolt("router") {
            TestBolt(
                router,
                .init(directStreams: [("routed", ["n"])]) { tuple, io in
                    let tasks = io.context.tasks(of: "sink")
                    let n = Int(tuple.int(at: 0) ?? 0)
                    io.collector.emitDirect(
                        task: tasks[n % tasks.count],
                        tuple.values,
                        stream: "routed",
                        anchors: [tuple]
                    )
                    io.collector.ack(tuple)
                }
            )
        }
        .shuffleGrouping("spout")
        builder.setBolt("sink", parallelism: 3) { TestBolt(sink) }.directGrouping("router", stream: "routed")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tree completes") { spouts.ackCount == 40 }
        }

        let snapshot = sink.snapshot
        let tasks = snapshot.componentTasks
        #expect(snapshot.receivedCount == 40)
        for (task, values) in snapshot.received {
            for value in values {
                #expect(task == tasks[Int(value[0].intValue ?? 0) % tasks.count])
            }
        }
    }
    @Test func emitAnchoredToManyTuplesOfSharedTreesCompletesEachTreeOnce() async throws {
        // Each message splits into 3 tuples of its tree; the join emits one tuple anchored to
        // every 12 it receives (4 trees, each 3 times: more anchors than are merged linearly).
        let spouts = SpoutLog()
        let split = BoltLog()
        let join = BoltLog()
        let sink = BoltLog()
        let builder = TopologyBuilder(name: "many-anchors")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 240)) }
        builder.setBolt("split") {
            TestBolt(split, .init(streams: [("default", ["n"])], behaviour: Behaviour.forward(copies: 3)))
        }
        .shuffleGrouping("spout")
        builder.setBolt("join") {
            let held = HeldTuples()
            return TestBolt(
                join,
                .init(streams: [("default", ["n"])], recordValues: false) { tuple, io in
                    held.tuples.append(tuple)
                    guard held.tuples.count == 12 else { return }
                    let group = held.tuples
                    held.tuples.removeAll()
                    io.collector.emit([.int(Int64(group.count))], stream: "default", anchors: group)
                    for member in group { io.collector.ack(member) }
                }
            )
        }
        .globalGrouping("split")
        builder.setBolt("sink") { TestBolt(sink) }.shuffleGrouping("join")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tree completes") { spouts.ackCount == 240 }
        }

        let log = spouts.snapshot
        #expect(Set(log.acked.keys) == Set(0..<240))
        #expect(log.acked.values.allSatisfy { $0 == 1 })
        #expect(log.failed.isEmpty)
        #expect(sink.executedCount == 60)
    }
}

/// Tuples a test bolt holds between executes (used on its task's queue only).
final class HeldTuples: @unchecked Sendable {
    var tuples: [Tuple] = []
}
