import Gale
import GaleRuntime
import Testing

@Suite struct LocalClusterTests {
    static func topology(_ name: String, spouts: SpoutLog = SpoutLog()) throws -> Topology {
        let builder = TopologyBuilder(name: name)
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 5)) }
        builder.setBolt("bolt") { TestBolt(BoltLog()) }.shuffleGrouping("spout")
        return try builder.build()
    }

    @Test func submittingARunningNameThrowsAlreadyRunning() async throws {
        let cluster = LocalCluster()
        let topology = try Self.topology("dup")
        let running = try cluster.submit(topology)
        #expect(throws: GaleRuntimeError.alreadyRunning("dup")) { try cluster.submit(topology) }
        #expect(cluster.names == ["dup"])
        #expect(cluster.topology("dup") === running)
        #expect(running.name == "dup")
        try await cluster.kill("dup")

        // Once killed, the name is free again.
        let again = try cluster.submit(topology)
        #expect(again !== running)
        await cluster.shutdown()
    }

    @Test func killOfAnUnknownTopologyThrowsNotRunning() async {
        let cluster = LocalCluster()
        await #expect(throws: GaleRuntimeError.notRunning("ghost")) { try await cluster.kill("ghost") }
    }

    @Test func spoutWhoseOpenThrowsMakesSubmitFailNamingIt() throws {
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "broken-open")
        builder.setSpout("broken") { FailingOpenSpout() }
        builder.setBolt("bolt") { TestBolt(bolts) }.shuffleGrouping("broken")
        let topology = try builder.build()
        let cluster = LocalCluster()

        // Tasks are numbered by sorted component id: bolt is 1, broken is 2.
        let expected = GaleRuntimeError.componentFailedToStart(
            component: "broken",
            task: 2,
            error: "cannot reach the source"
        )
        #expect(throws: expected) { try cluster.submit(topology) }
        #expect(expected.description.contains("[broken]"))
        #expect(expected.description.contains("cannot reach the source"))
        #expect(cluster.names.isEmpty)
        // The bolt that was already prepared is cleaned up.
        #expect(bolts.snapshot.prepared == [1])
        #expect(bolts.snapshot.cleanedUp == [1: 1])
    }

    @Test func boltWhosePrepareThrowsMakesSubmitFailNamingIt() throws {
        let spouts = SpoutLog()
        let builder = TopologyBuilder(name: "broken-prepare")
        builder.setSpout("spout") { SequenceSpout(spouts) }
        builder.setBolt("db") { FailingPrepareBolt() }.shuffleGrouping("spout")
        let cluster = LocalCluster()

        #expect(throws: GaleRuntimeError.componentFailedToStart(component: "db", task: 1, error: "no database")) {
            try cluster.submit(try builder.build())
        }
        #expect(cluster.names.isEmpty)
        #expect(spouts.snapshot.emittedIds.isEmpty, "no spout ran")
    }

    @Test func errorDescriptionsNameTheTopology() {
        #expect(GaleRuntimeError.alreadyRunning("wc").description.contains("[wc]"))
        #expect(GaleRuntimeError.notRunning("wc").description.contains("[wc]"))
        let failed = GaleRuntimeError.componentFailedToStart(component: "c", task: 3, error: "boom")
        #expect(
            failed.description.contains("[c]") && failed.description.contains("3")
                && failed.description.contains("boom")
        )
    }

    @Test func runForLetsTheTopologyRunAndReturns() async throws {
        let spouts = SpoutLog()
        let cluster = LocalCluster()
        let running = try cluster.submit(try Self.topology("run-for", spouts: spouts))
        await running.run(for: .milliseconds(20))
        try await running.require("every tree completes") { spouts.ackCount == 5 }
        await cluster.shutdown()
    }

    @Test func waitUntilReportsATimeout() async throws {
        let cluster = LocalCluster()
        let running = try cluster.submit(try Self.topology("wait-until"))
        let held = await running.waitUntil(timeout: .milliseconds(30)) { false }
        #expect(!held)
        await cluster.shutdown()
    }

    @Test func aVeryLongMessageTimeoutIsAcceptedWithoutCrashing() async {
        // 1e11 s passes validation (positive and finite), but nanoseconds overflow UInt64.
        await #expect(processExitsWith: .success) {
            let builder = TopologyBuilder(name: "long-timeout")
            builder.setSpout("spout") { SequenceSpout(SpoutLog(), .init(count: 1)) }
            builder.config.messageTimeoutSeconds = 1e11
            let topology = try builder.build()
            let running = try LocalCluster().submit(topology)
            await running.kill()
        }
    }

    @Test func aVeryLongTickFrequencyIsAcceptedWithoutCrashing() async {
        await #expect(processExitsWith: .success) {
            let builder = TopologyBuilder(name: "long-tick")
            builder.setSpout("spout") { SequenceSpout(SpoutLog(), .init(count: 1)) }
            builder.setBolt("bolt") { TestBolt(BoltLog()) }.shuffleGrouping("spout").tickFrequency(seconds: 1e11)
            let topology = try builder.build()
            let running = try LocalCluster().submit(topology)
            await running.kill()
        }
    }
}
