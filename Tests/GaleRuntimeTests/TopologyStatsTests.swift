import Gale
import GaleRuntime
import Testing

@Suite struct TopologyStatsTests {
    @Test func statisticsArePopulatedPerComponent() async throws {
        let spouts = SpoutLog()
        let split = BoltLog()
        let sink = BoltLog()
        let builder = TopologyBuilder(name: "stats")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 500)) }
        builder.setBolt("split", parallelism: 2) {
            TestBolt(split, .init(streams: [("default", ["n"])], recordValues: false, behaviour: Behaviour.forward()))
        }
        .shuffleGrouping("spout")
        builder.setBolt("sink") { TestBolt(sink, .init(recordValues: false)) }.shuffleGrouping("split")
        builder.config.executorQueueCapacity = 2_048

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("the published statistics catch up") {
                let stats = running.stats()
                return stats.component("spout")?.acked == 500 && stats.component("sink")?.acked == 500
                    && stats.component("split")?.acked == 500
                    && stats.component(Topology.ackerComponentId)?.executed == 1_500
            }
            let stats = running.stats()
            #expect(stats.name == "stats")
            #expect(stats.uptimeSeconds > 0)
            #expect(stats.components.map(\.id) == ["spout", "split", "sink", "__acker"])
            #expect(stats.components.map(\.kind) == ["spout", "bolt", "bolt", "acker"])
            #expect(stats.spoutAcked == 500)
            #expect(stats.spoutFailed == 0)
            #expect(stats.emitted == 1_000)

            let spout = try #require(stats.component("spout"))
            #expect(spout.tasks == 1)
            #expect(spout.emitted == 500)
            #expect(spout.transferred == 500)
            #expect(spout.executed == 0)
            #expect(spout.failed == 0)
            #expect(spout.completeLatencyMs > 0)
            #expect(spout.completeLatencyP99Ms > 0)
            #expect(spout.queueCapacity == 2_048)

            let splitStats = try #require(stats.component("split"))
            #expect(splitStats.tasks == 2)
            #expect(splitStats.executed == 500)
            #expect(splitStats.emitted == 500)
            #expect(splitStats.transferred == 500)
            #expect(splitStats.failed == 0)
            #expect(splitStats.executeLatencyMs > 0)
            #expect(splitStats.executeLatencyP99Ms > 0)

            let sinkStats = try #require(stats.component("sink"))
            #expect(sinkStats.executed == 500)
            #expect(sinkStats.emitted == 0)
            #expect(sinkStats.maxQueueLength > 0)
            #expect(sinkStats.maxQueueLength <= 2_048)

            let acker = try #require(stats.component(Topology.ackerComponentId))
            #expect(acker.tasks == 1)
            #expect(acker.acked == 500)
            #expect(acker.failed == 0)

            for component in stats.components {
                #expect((0...1).contains(component.capacity), "\(component.id) capacity \(component.capacity)")
                #expect(component.errorCount == 0)
            }
            try await running.require("no tree stays pending") { running.stats().component("spout")?.pending == 0 }
        }
    }

    @Test func tasksAndEdgesAreReported() async throws {
        let spouts = SpoutLog()
        let split = BoltLog()
        let sink = BoltLog()
        let builder = TopologyBuilder(name: "task-stats")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 300)) }
        builder.setBolt("split", parallelism: 2) {
            TestBolt(split, .init(streams: [("default", ["n"])], recordValues: false, behaviour: Behaviour.forward()))
        }
        .shuffleGrouping("spout")
        builder.setBolt("sink") { TestBolt(sink, .init(recordValues: false)) }.allGrouping("split")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("the published statistics catch up") {
                let stats = running.stats()
                return stats.component("sink")?.acked == 300
                    && stats.edges?.first { $0.from == "split" }?.transferred == 300
                    && stats.edges?.first { $0.from == "spout" }?.transferred == 300
            }
            let stats = running.stats()
            let tasks = try #require(stats.tasks)
            // One row per task, ackers included, in task order; their counts add up to the component's.
            #expect(tasks.map(\.task) == tasks.map(\.task).sorted())
            #expect(tasks.filter { $0.component == "split" }.count == 2)
            #expect(tasks.filter { $0.component == "split" }.reduce(0) { $0 + $1.executed } == 300)
            #expect(tasks.filter { $0.component == "spout" }.map(\.emitted) == [300])
            #expect(tasks.contains { $0.component == Topology.ackerComponentId })
            #expect(tasks.allSatisfy { !$0.overloaded })
            let edges = try #require(stats.edges)
            #expect(
                Set(edges.map { "\($0.from)-\($0.stream)->\($0.to)" })
                    == ["spout-default->split", "split-default->sink"]
            )
            #expect(stats.components.allSatisfy { $0.overloaded == false })
        }
    }

    @Test func everyStreamIsCountedOnItsOwn() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "stream-stats")
        builder.setSpout("s1") { SequenceSpout(spouts, .init(count: 100, stream: "a")) }
        builder.setSpout("s2") { SequenceSpout(spouts, .init(count: 50, stream: "b")) }
        builder.setBolt("x") {
            TestBolt(
                bolts,
                .init(streams: [("out", ["n"])], recordValues: false, behaviour: Behaviour.forward(stream: "out"))
            )
        }
        .shuffleGrouping("s1", stream: "a")
        .shuffleGrouping("s2", stream: "b")
        builder.setBolt("y") { TestBolt(bolts, .init(recordValues: false, behaviour: Behaviour.fail)) }
            .shuffleGrouping("s2", stream: "b")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("the published statistics catch up") {
                let stats = running.stats()
                return stats.component("s1")?.acked == 100 && stats.component("s2")?.failed == 50
                    && (stats.streams ?? []).first { $0.component == "x" && $0.from == "s2" }?.acked == 50
                    && (stats.streams ?? []).first { $0.component == "y" }?.failed == 50
            }
            let streams = try #require(running.stats().streams)
            func row(_ component: String, _ stream: String, from: String? = nil) -> StreamStatsRow? {
                streams.first { $0.component == component && $0.stream == stream && $0.from == from }
            }
            func counts(_ r: StreamStatsRow?) -> [UInt64] {
                guard let r else { return [] }
                return [r.emitted, r.transferred, r.executed, r.acked, r.failed]
            }
            // Outputs: emitted, transferred; a spout's trees acked and failed on the stream they are rooted on.
            #expect(counts(row("s1", "a")) == [100, 100, 0, 100, 0])
            #expect(counts(row("s2", "b")) == [50, 100, 0, 0, 50])
            #expect(counts(row("x", "out")) == [150, 0, 0, 0, 0])
            // Inputs: per (component, stream) the bolt took.
            #expect(counts(row("x", "a", from: "s1")) == [0, 0, 100, 100, 0])
            #expect(counts(row("x", "b", from: "s2")) == [0, 0, 50, 50, 0])
            #expect(counts(row("y", "b", from: "s2")) == [0, 0, 50, 0, 50])
            #expect(streams.filter { $0.component == "y" }.count == 1)
        }
    }

    @Test func failedTreesAndTuplesAreCounted() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "failed-stats")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 20)) }
        builder.setBolt("bolt") { TestBolt(bolts, .init(behaviour: Behaviour.fail)) }.shuffleGrouping("spout")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("the published statistics catch up") {
                let stats = running.stats()
                return stats.component("spout")?.failed == 20 && stats.component("bolt")?.failed == 20
                    && stats.component(Topology.ackerComponentId)?.failed == 20
            }
            let stats = running.stats()
            #expect(stats.spoutFailed == 20)
            #expect(stats.spoutAcked == 0)
            #expect(stats.component("bolt")?.acked == 0)
        }
    }

    @Test func pendingTreesAreVisibleWhileOutstanding() async throws {
        let spouts = SpoutLog()
        let held = BoltLog()
        let release = Gate()
        let builder = TopologyBuilder(name: "pending-stats")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 7)) }
        builder.setBolt("hold") { HoldingBolt(held, release: release) }.shuffleGrouping("spout").tickFrequency(
            seconds: 0.05
        )

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tree is pending") { running.stats().component("spout")?.pending == 7 }
            release.open()
            try await running.require("every tree completes") { running.stats().component("spout")?.pending == 0 }
            #expect(spouts.ackCount == 7)
        }
    }
}
