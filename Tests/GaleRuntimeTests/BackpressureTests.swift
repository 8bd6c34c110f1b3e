import Gale
import GaleRuntime
import Testing

/// Bounded queues: a slow bolt pauses exactly the spouts upstream of it, and cycles still drain.
@Suite(.serialized) struct BackpressureTests {
    static let capacity = 1_024

    @Test func slowBoltKeepsItsQueueWithinCapacityByPausingTheSpout() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "slow-bolt")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: .max, tracked: false, recordIds: false)) }
        builder.setBolt("slow") { TestBolt(bolts, .init(recordValues: false, delayMicros: 50)) }.shuffleGrouping(
            "spout"
        )
        builder.config.executorQueueCapacity = Self.capacity

        var maxBacklog = 0
        try await withRunningTopology(try builder.build()) { running in
            try await running.require("the slow bolt works through many capacities' worth of tuples") {
                let emitted = spouts.emittedCount
                let executed = bolts.executedCount
                maxBacklog = max(maxBacklog, emitted - executed)
                return executed >= 12 * Self.capacity
            }
            let stats = try #require(running.stats().component("slow"))
            #expect(stats.queueCapacity == Self.capacity)
            #expect(stats.maxQueueLength <= Self.capacity)
            #expect(running.runtime.maxQueueLength <= Self.capacity)
            #expect(running.runtime.maxQueueLength > 0)
        }

        // Unthrottled, a spout in a tight loop is orders of magnitude ahead of a 50 µs bolt.
        // Throttled, it is at most a queue plus a batch or two in flight ahead.
        #expect(maxBacklog <= 4 * Self.capacity, "the spout ran \(maxBacklog) tuples ahead of the bolt")
    }

    /// The capacity bounds the queue whatever its size: here a capacity below the spout's batch of
    /// 1,024 emits, so one spout run alone overshoots it unless the spout checks the watermark as it goes.
    @Test func queueStaysWithinASmallCapacity() async throws {
        let capacity = 256
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "bounded-queue")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: .max, tracked: false, recordIds: false)) }
        builder.setBolt("slow") { TestBolt(bolts, .init(recordValues: false, delayMicros: 50)) }
            .shuffleGrouping("spout")
        builder.config.executorQueueCapacity = capacity

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("the slow bolt works through a few capacities' worth of tuples") {
                bolts.executedCount >= 8 * capacity
            }
            #expect(
                running.runtime.maxQueueLength <= capacity,
                "queue reached \(running.runtime.maxQueueLength) with capacity \(capacity)"
            )
        }
    }

    @Test func slowBoltPausesOnlyTheSpoutsUpstreamOfIt() async throws {
        let slowSpout = SpoutLog()
        let fastSpout = SpoutLog()
        let stuck = BoltLog()
        let fast = BoltLog()
        let gate = Gate()
        let builder = TopologyBuilder(name: "independent-chains")
        builder.setSpout("slow-spout") {
            SequenceSpout(slowSpout, .init(count: .max, tracked: false, recordIds: false))
        }
        builder.setSpout("fast-spout") {
            SequenceSpout(fastSpout, .init(count: .max, tracked: false, recordIds: false))
        }
        builder.setBolt("stuck") { TestBolt(stuck, .init(recordValues: false, gate: gate)) }.shuffleGrouping(
            "slow-spout"
        )
        builder.setBolt("fast") { TestBolt(fast, .init(recordValues: false)) }.shuffleGrouping("fast-spout")
        builder.config.executorQueueCapacity = Self.capacity

        try await withRunningTopology(try builder.build()) { running in
            defer { gate.open() }
            try await running.require("the stuck bolt is blocked on its first tuple") { gate.hasBeenReached }
            try await running.require("the stuck bolt's queue crossed its high watermark") {
                running.stats().component("stuck")?.maxQueueLength ?? 0 >= Self.capacity / 2
            }
            let fastBefore = fastSpout.emittedCount
            try await running.require("the fast chain keeps flowing while the slow one is stuck") {
                fastSpout.emittedCount >= fastBefore + 20 * Self.capacity
                    && fast.executedCount >= fastBefore + 10 * Self.capacity
            }
            // Unpaused, the slow chain's spout would have emitted as much as the fast one by now.
            #expect(slowSpout.emittedCount <= 2 * Self.capacity, "the slow chain's spout is paused")
        }
    }

    /// Spout -> fast bolt emitting 8 tuples per input -> slow bolt: the fast bolt stops draining
    /// while the slow bolt's queue is overloaded, so the slow queue stays within one flush of its
    /// high watermark. Pausing only the spout would let the fast bolt empty its whole queue into
    /// the slow one, eight times over.
    @Test func slowBoltPausesTheBoltFeedingItHopByHop() async throws {
        let spouts = SpoutLog()
        let relay = BoltLog()
        let slow = BoltLog()
        let builder = TopologyBuilder(name: "hop-by-hop")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: .max, tracked: false, recordIds: false)) }
        builder.setBolt("relay") {
            TestBolt(
                relay,
                .init(streams: [("default", ["n"])], recordValues: false) { tuple, io in
                    for _ in 0..<8 { io.collector.emit(tuple.values, anchor: tuple) }
                    io.collector.ack(tuple)
                }
            )
        }
        .shuffleGrouping("spout")
        builder.setBolt("slow") { TestBolt(slow, .init(recordValues: false, delayMicros: 50)) }
            .shuffleGrouping("relay")
        builder.config.executorQueueCapacity = Self.capacity

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("the slow bolt works through many capacities' worth of tuples") {
                slow.executedCount >= 8 * Self.capacity
            }
            let stats = running.stats()
            let relayQueue = try #require(stats.component("relay")).maxQueueLength
            let slowQueue = try #require(stats.component("slow")).maxQueueLength
            // One flush of the relay (at most 1,024 tuples, plus the fan-out of the input that
            // filled it) may land after the high watermark.
            #expect(slowQueue <= Self.capacity / 2 + 1_024 + 8, "slow queue reached \(slowQueue)")
            #expect(relayQueue <= Self.capacity, "relay queue reached \(relayQueue)")
        }
    }

    @Test func cycleWithASlowBoltCompletesWithoutDeadlock() async throws {
        let spouts = SpoutLog()
        let forward = BoltLog()
        let back = BoltLog()
        let builder = TopologyBuilder(name: "cycle")
        builder.setSpout("spout") {
            SequenceSpout(spouts, .init(count: 1_000, fields: ["id", "hops"]) { [.int(Int64($0)), .int(0)] })
        }
        // a -> b on "default"; b -> a on "back" with one more hop, until three round trips are done.
        builder.setBolt("a", parallelism: 2) {
            TestBolt(
                forward,
                .init(streams: [("default", ["id", "hops"])], recordValues: false) { tuple, io in
                    if (tuple.int(named: "hops") ?? 0) < 3 {
                        io.collector.emit(tuple.values, anchor: tuple)
                    }
                    io.collector.ack(tuple)
                }
            )
        }
        .shuffleGrouping("spout")
        .shuffleGrouping("b", stream: "back")
        builder.setBolt("b") {
            TestBolt(
                back,
                .init(streams: [("back", ["id", "hops"])], recordValues: false, delayMicros: 20) { tuple, io in
                    let hops = tuple.int(named: "hops") ?? 0
                    io.collector.emit([tuple[0], .int(hops + 1)], stream: "back", anchor: tuple)
                    io.collector.ack(tuple)
                }
            )
        }
        .shuffleGrouping("a")
        builder.config.executorQueueCapacity = 64

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every message makes its three round trips") { spouts.ackCount == 1_000 }
        }

        #expect(spouts.failCount == 0)
        #expect(back.executedCount == 3_000)
        #expect(forward.executedCount == 4_000)
        #expect(Set(spouts.snapshot.acked.keys) == Set(0..<1_000))
    }
}
