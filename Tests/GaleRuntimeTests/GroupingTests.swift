import Gale
import GaleRuntime
import Testing

/// Every grouping, end to end in a ``LocalCluster``: which task receives what.
@Suite struct GroupingTests {
    @Test func fieldsGroupingSendsEqualKeysToOneTaskAndUsesEveryTask() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "fields-grouping")
        builder.setSpout("spout", parallelism: 2) {
            SequenceSpout(
                spouts,
                .init(count: 400, fields: ["key", "n"], tracked: false) { [.string("key\($0 % 40)"), .int(Int64($0))] }
            )
        }
        builder.setBolt("bolt", parallelism: 4) { TestBolt(bolts) }.fieldsGrouping("spout", fields: ["key"])

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tuple arrives") { bolts.executedCount == 800 }
        }

        var tasksByKey: [String: Set<Int>] = [:]
        for (task, values) in bolts.snapshot.received {
            for value in values { tasksByKey[value[0].stringValue ?? "?", default: []].insert(task) }
        }
        #expect(tasksByKey.count == 40)
        for (key, tasks) in tasksByKey {
            #expect(tasks.count == 1, "key \(key) reached tasks \(tasks.sorted())")
        }
        #expect(bolts.snapshot.received.keys.count == 4, "every task gets some keys")
    }

    @Test func shuffleGroupingSpreadsEvenlyOverFourTasks() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "shuffle-grouping")
        builder.setSpout("spout", parallelism: 2) { SequenceSpout(spouts, .init(count: 2_000, tracked: false)) }
        builder.setBolt("bolt", parallelism: 4) { TestBolt(bolts) }.shuffleGrouping("spout")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tuple arrives") { bolts.executedCount == 4_000 }
        }

        let received = bolts.snapshot.received
        #expect(received.keys.count == 4)
        for (task, values) in received {
            #expect((900...1_100).contains(values.count), "task \(task) received \(values.count) of 4000")
        }
    }

    @Test func allGroupingReachesEveryTaskWithEveryTuple() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "all-grouping")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 50, tracked: false)) }
        builder.setBolt("bolt", parallelism: 3) { TestBolt(bolts) }.allGrouping("spout")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every task gets every tuple") { bolts.executedCount == 150 }
        }

        let snapshot = bolts.snapshot
        #expect(Set(snapshot.received.keys) == Set(snapshot.componentTasks))
        let expected = (0..<50).map { [GaleValue.int(Int64($0))] }
        for (task, values) in snapshot.received {
            #expect(values.sorted { $0[0].intValue ?? 0 < $1[0].intValue ?? 0 } == expected, "task \(task)")
        }
    }

    @Test func globalGroupingReachesOnlyTheLowestTaskId() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "global-grouping")
        builder.setSpout("spout", parallelism: 2) { SequenceSpout(spouts, .init(count: 60, tracked: false)) }
        builder.setBolt("bolt", parallelism: 3) { TestBolt(bolts) }.globalGrouping("spout")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tuple arrives") { bolts.executedCount == 120 }
        }

        let snapshot = bolts.snapshot
        let lowest = try #require(snapshot.componentTasks.min())
        #expect(snapshot.componentTasks.count == 3)
        #expect(Array(snapshot.received.keys) == [lowest])
        #expect(snapshot.received[lowest]?.count == 120)
    }

    @Test func directGroupingReachesExactlyTheNamedTask() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "direct-grouping")
        builder.setSpout("spout") { DirectSpout(spouts, count: 50, target: "bolt", targetIndex: 2) }
        builder.setBolt("bolt", parallelism: 4) { TestBolt(bolts) }.directGrouping("spout", stream: "to-one")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tracked tuple is acked") { spouts.ackCount == 50 }
        }

        let snapshot = bolts.snapshot
        #expect(snapshot.componentTasks.count == 4)
        #expect(Array(snapshot.received.keys) == [snapshot.componentTasks[2]])
        #expect(snapshot.received[snapshot.componentTasks[2]]?.count == 50)
        #expect(spouts.failCount == 0)
    }

    @Test func partialKeyGroupingUsesAtMostTwoTasksPerKey() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "partial-key-grouping")
        // Key 0 is hot: half of all tuples.
        builder.setSpout("spout", parallelism: 2) {
            SequenceSpout(
                spouts,
                .init(count: 600, fields: ["key", "n"], tracked: false) { i in
                    [.string(i % 2 == 0 ? "hot" : "key\(i % 24)"), .int(Int64(i))]
                }
            )
        }
        builder.setBolt("bolt", parallelism: 4) { TestBolt(bolts) }.partialKeyGrouping("spout", fields: ["key"])

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tuple arrives") { bolts.executedCount == 1_200 }
        }

        var tasksByKey: [String: Set<Int>] = [:]
        for (task, values) in bolts.snapshot.received {
            for value in values { tasksByKey[value[0].stringValue ?? "?", default: []].insert(task) }
        }
        #expect(tasksByKey.count == 13)
        for (key, tasks) in tasksByKey {
            #expect((1...2).contains(tasks.count), "key \(key) reached tasks \(tasks.sorted())")
        }
    }

    @Test(arguments: [Grouping.localOrShuffle, Grouping.none])
    func groupingDeliversEveryTupleExactlyOnce(_ grouping: Grouping) async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "delivery-\(grouping.typeName)")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 500)) }
        builder.setBolt("bolt", parallelism: 3) { TestBolt(bolts) }.grouping("spout", grouping)

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tuple is acked") { spouts.ackCount == 500 }
        }

        let values = bolts.snapshot.allValues.compactMap { $0[0].intValue }.sorted()
        #expect(values == (0..<500).map { Int64($0) })
        #expect(spouts.failCount == 0)
    }

    @Test func customGroupingIsPreparedCalledAndObeyed() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let grouping = ModuloGrouping.Log()
        let builder = TopologyBuilder(name: "custom-grouping")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 90, tracked: false)) }
        builder.setBolt("bolt", parallelism: 3) { TestBolt(bolts) }
            .customGrouping("spout", name: "modulo") { ModuloGrouping(grouping) }

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tuple arrives") { bolts.executedCount == 90 }
        }

        let snapshot = bolts.snapshot
        let tasks = snapshot.componentTasks
        #expect(grouping.callCount == 90)
        let prepared = grouping.preparations
        #expect(prepared.count == 1)
        #expect(prepared.first?.source == "spout")
        #expect(prepared.first?.stream == "default")
        #expect(prepared.first?.targets == tasks)
        for (task, values) in snapshot.received {
            for value in values {
                let n = Int(value[0].intValue ?? -1)
                #expect(task == tasks[n % tasks.count], "value \(n) went to task \(task)")
            }
        }
    }

    @Test func everySubscriberOfAStreamGetsItsOwnCopy() async throws {
        let spouts = SpoutLog()
        let first = BoltLog()
        let second = BoltLog()
        let builder = TopologyBuilder(name: "two-subscribers")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 100)) }
        builder.setBolt("first", parallelism: 2) { TestBolt(first) }.shuffleGrouping("spout")
        builder.setBolt("second") { TestBolt(second) }.globalGrouping("spout")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("both trees' branches are acked") { spouts.ackCount == 100 }
        }

        #expect(first.snapshot.receivedCount == 100)
        #expect(second.snapshot.receivedCount == 100)
    }
}
