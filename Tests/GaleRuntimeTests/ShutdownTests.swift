import Gale
import GaleRuntime
import Testing

/// Graceful shutdown: deactivate, drain what was emitted, then close every component once.
@Suite struct ShutdownTests {
    @Test func killDrainsQueuedTuplesAndPendingTreesBeforeClosing() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let gate = Gate()
        let builder = TopologyBuilder(name: "drain")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 3_000, recordIds: false)) }
        builder.setBolt("bolt", parallelism: 2) { TestBolt(bolts, .init(recordValues: false, gate: gate)) }
            .shuffleGrouping("spout")
        // The trees wait at the gate for as long as the test takes to get there; only the drain
        // may complete them, never the message timeout (30 s by default: a loaded machine took
        // longer, and every tree failed).
        builder.config.messageTimeoutSeconds = 3600
        let cluster = LocalCluster()
        let running = try cluster.submit(try builder.build())
        defer { gate.open() }

        try await running.require("the spout emitted everything") { spouts.emittedCount == 3_000 }
        try await running.require("a bolt is blocked with tuples queued behind it") { gate.hasBeenReached }
        #expect(bolts.executedCount == 0)

        let killing = Task { try await cluster.kill("drain", drainTimeout: .seconds(30)) }
        try await running.require("kill deactivates the spout first") { spouts.snapshot.deactivated == 1 }
        #expect(spouts.snapshot.closed == 0, "close waits for the drain")
        #expect(bolts.snapshot.cleanedUp.isEmpty, "cleanup waits for the drain")
        gate.open()
        try await killing.value

        #expect(bolts.executedCount == 3_000, "every tuple emitted before deactivation was executed")
        let spout = spouts.snapshot
        #expect(spout.ackCount == 3_000, "pending trees completed during the drain")
        #expect(spout.failCount == 0)
        #expect(spout.activated == 1)
        #expect(spout.deactivated == 1)
        #expect(spout.closed == 1)
        let bolt = bolts.snapshot
        #expect(bolt.cleanedUp.count == 2)
        #expect(bolt.cleanedUp.values.allSatisfy { $0 == 1 })
        #expect(cluster.names.isEmpty)
        #expect(cluster.topology("drain") == nil)
    }

    @Test func killingTwiceClosesOnce() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "twice")
        builder.setSpout("spout", parallelism: 2) { SequenceSpout(spouts, .init(count: 10)) }
        builder.setBolt("bolt") { TestBolt(bolts) }.shuffleGrouping("spout")
        let running = try LocalCluster().submit(try builder.build())
        try await running.require("every tree completes") { spouts.ackCount == 20 }

        await running.kill()
        await running.kill()

        #expect(spouts.snapshot.closed == 2)
        #expect(spouts.snapshot.deactivated == 2)
        #expect(bolts.snapshot.cleanedUp.values.reduce(0, +) == 1)
    }

    @Test func deactivateStopsEmittingAndActivateResumes() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "toggle")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: .max, tracked: false, recordIds: false)) }
        builder.setBolt("bolt") { TestBolt(bolts, .init(recordValues: false)) }.shuffleGrouping("spout")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("the spout runs") { spouts.emittedCount > 1_000 }
            running.deactivate()
            try await running.require("the spout is deactivated") { spouts.snapshot.deactivated == 1 }
            let stopped = spouts.emittedCount
            try await running.require("the bolt catches up with the stopped spout") {
                bolts.executedCount == stopped
            }
            #expect(spouts.emittedCount == stopped, "no nextTuple while inactive")
            running.activate()
            try await running.require("the spout runs again") { spouts.emittedCount > stopped + 1_000 }
            #expect(spouts.snapshot.activated == 2)
        }
    }

    @Test func clusterShutdownStopsEveryTopology() async throws {
        let first = SpoutLog()
        let second = SpoutLog()
        let cluster = LocalCluster()
        for (name, log) in [("first", first), ("second", second)] {
            let builder = TopologyBuilder(name: name)
            builder.setSpout("spout") { SequenceSpout(log, .init(count: 5)) }
            builder.setBolt("bolt") { TestBolt(BoltLog()) }.shuffleGrouping("spout")
            try cluster.submit(try builder.build())
        }
        #expect(cluster.names == ["first", "second"])

        await cluster.shutdown(drainTimeout: .seconds(10))

        #expect(cluster.names.isEmpty)
        #expect(first.snapshot.closed == 1)
        #expect(second.snapshot.closed == 1)
    }
}
