import Gale
import Testing

@testable import GaleRuntime

@Suite struct TopologyPlanTests {
    static func plan(ackers: Int = 2) throws -> TopologyPlan {
        let builder = TopologyBuilder(name: "plan")
        builder.setSpout("spout", parallelism: 2) { SequenceSpout(SpoutLog()) }
        builder.setSpout("other") { SequenceSpout(SpoutLog()) }
        builder.setBolt("split") { TestBolt(BoltLog(), .init(streams: [("default", ["n"])])) }.shuffleGrouping("spout")
        builder.setBolt("count", parallelism: 3) { TestBolt(BoltLog(), .init(streams: [("back", ["n"])])) }
            .fieldsGrouping("split", fields: ["n"])
        // loop subscribes to count's "back" stream (no cycle here; see cyclicPlan).
        builder.setBolt("loop") { TestBolt(BoltLog(), .init(streams: [("default", ["n"])])) }
            .shuffleGrouping("count", stream: "back")
            .shuffleGrouping("other")
        builder.setBolt("island") { TestBolt(BoltLog()) }.shuffleGrouping("other")
        builder.config.ackers = ackers
        return TopologyPlan(topology: try builder.build())
    }

    @Test func taskIdsFollowSortedComponentIdsFromOneThenAckers() throws {
        let plan = try Self.plan()
        // Sorted: count, island, loop, other, split, spout.
        #expect(plan.tasks(of: "count") == [1, 2, 3])
        #expect(plan.tasks(of: "island") == [4])
        #expect(plan.tasks(of: "loop") == [5])
        #expect(plan.tasks(of: "other") == [6])
        #expect(plan.tasks(of: "split") == [7])
        #expect(plan.tasks(of: "spout") == [8, 9])
        #expect(plan.ackerTasks == [10, 11])
        #expect(plan.tasks(of: Topology.ackerComponentId) == [10, 11])
        #expect(plan.maxTaskId == 11)
        #expect(plan.componentByTask[8] == "spout")
        #expect(plan.componentByTask[11] == Topology.ackerComponentId)
        #expect(plan.tasks(of: "missing") == [])
    }

    @Test func withoutAckersThereAreNoAckerTasks() throws {
        let plan = try Self.plan(ackers: 0)
        #expect(plan.ackerTasks.isEmpty)
        #expect(plan.maxTaskId == 9)
        #expect(plan.tasksByComponent[Topology.ackerComponentId] == nil)
    }

    @Test(arguments: [
        ("split", ["spout"]), ("count", ["spout"]), ("loop", ["spout", "other"]), ("island", ["other"]),
        ("spout", ["spout"]), ("__acker", ["spout", "other"]),
    ])
    func upstreamSpoutsFollowSubscriptionsThroughCycles(_ component: String, _ spouts: [String]) throws {
        #expect(Set(try Self.plan().upstreamSpouts(of: component)) == Set(spouts))
    }

    /// spout -> split -> count <-> loop <- other: count and loop form a cycle.
    static func cyclicPlan() throws -> TopologyPlan {
        let builder = TopologyBuilder(name: "cyclic")
        builder.setSpout("spout") { SequenceSpout(SpoutLog()) }
        builder.setSpout("other") { SequenceSpout(SpoutLog()) }
        builder.setSpout("lonely") { SequenceSpout(SpoutLog()) }
        builder.setBolt("split") { TestBolt(BoltLog(), .init(streams: [("default", ["n"])])) }.shuffleGrouping("spout")
        builder.setBolt("count") { TestBolt(BoltLog(), .init(streams: [("back", ["n"])])) }
            .shuffleGrouping("split")
            .shuffleGrouping("loop")
        builder.setBolt("loop") { TestBolt(BoltLog(), .init(streams: [("default", ["n"])])) }
            .shuffleGrouping("count", stream: "back")
            .shuffleGrouping("other")
        builder.setBolt("island") { TestBolt(BoltLog()) }.shuffleGrouping("lonely")
        return TopologyPlan(topology: try builder.build())
    }

    @Test(arguments: [
        // A slow bolt outside a cycle pauses its direct producers, spouts and bolts alike.
        ("split", ["spout"]),
        ("island", ["lonely"]),
        // count and loop form a cycle: count pauses split (outside the cycle), never loop, plus
        // every spout upstream of the cycle; lonely feeds no part of it.
        ("count", ["split", "spout", "other"]),
        ("loop", ["other", "spout"]),
        ("__acker", ["spout", "other", "lonely"]),
    ])
    func overloadedQueuePausesDirectProducersOutsideItsCycleAndSpoutsFeedingACycle(
        _ component: String,
        _ paused: [String]
    ) throws {
        #expect(Set(try Self.cyclicPlan().componentsToPause(whenOverloaded: component)) == Set(paused))
    }

    @Test func reachabilityFollowsSubscriptions() throws {
        let plan = try Self.cyclicPlan()
        #expect(plan.reaches(from: "spout", to: "loop"))
        #expect(plan.reaches(from: "count", to: "count"))
        #expect(plan.reaches(from: "loop", to: "count"))
        #expect(!plan.reaches(from: "split", to: "split"))
        #expect(!plan.reaches(from: "island", to: "lonely"))
        #expect(!plan.reaches(from: "count", to: "split"))
    }

    @Test func contextDescribesTheTask() throws {
        let plan = try Self.plan()
        let context = plan.context(task: 2)
        #expect(context.topologyName == "plan")
        #expect(context.componentId == "count")
        #expect(context.taskId == 2)
        #expect(context.taskIndex == 1)
        #expect(context.componentTasks == [1, 2, 3])
        #expect(context.outputFields(stream: "back") == ["n"])
        #expect(context.config.ackers == 2)
    }

    @Test func routingTableListsEachStreamsSubscribers() throws {
        let plan = try Self.plan()
        let table = plan.routingTable(task: 6)  // "other"
        let route = try #require(table.route("default"))
        #expect(route.source.componentId == "other")
        #expect(route.source.fields == ["n"])
        #expect(!route.isDirect)
        #expect(Set(route.targets.map(\.component)) == ["loop", "island"])
        #expect(table.route("nope") == nil)

        let split = plan.routingTable(task: 7)
        let toCount = try #require(split.route("default")?.targets.first)
        #expect(toCount.component == "count")
        #expect(toCount.tasks == [1, 2, 3])
    }
}
