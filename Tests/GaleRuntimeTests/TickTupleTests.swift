import Gale
import GaleRuntime
import Testing

@Suite struct TickTupleTests {
    @Test func ticksArriveAtTheConfiguredFrequencyOnlyAtThatBolt() async throws {
        let spouts = SpoutLog()
        let ticked = BoltLog()
        let plain = BoltLog()
        let builder = TopologyBuilder(name: "ticks")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 10, tracked: false)) }
        builder.setBolt("ticked", parallelism: 2) { TestBolt(ticked) }.shuffleGrouping("spout").tickFrequency(
            seconds: 0.1
        )
        builder.setBolt("plain") { TestBolt(plain) }.shuffleGrouping("spout")

        let clock = ContinuousClock()
        let start = clock.now
        var elapsed: Duration = .zero
        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every task of the ticked bolt gets at least five ticks") {
                let ticks = ticked.snapshot.ticks
                return ticks.count == 2 && ticks.values.allSatisfy { $0.count >= 5 }
            }
            elapsed = clock.now - start
            try await running.require("the tuples arrive") { ticked.executedCount == 10 && plain.executedCount == 10 }
        }

        let snapshot = ticked.snapshot
        for (_, ticks) in snapshot.ticks {
            for tick in ticks {
                #expect(tick.isTick)
                #expect(tick.sourceComponent == Topology.systemComponentId)
                #expect(tick.sourceStreamId == Topology.tickStreamId)
                #expect(tick.values.isEmpty)
            }
        }
        #expect(Set(snapshot.ticks.keys) == Set(snapshot.componentTasks))
        #expect(snapshot.receivedCount == 10, "ticks are not counted as ordinary tuples")
        #expect(plain.snapshot.tickCount == 0, "a bolt without a tick frequency gets no ticks")
        // Five ticks at 0.1 s cannot all have arrived much sooner than 0.4 s after the start.
        #expect(elapsed >= .milliseconds(300), "five ticks arrived after only \(elapsed)")
    }

    @Test func basicBoltsReceiveTicksWithoutAffectingAcking() async throws {
        final class TickCountingBasicBolt: BasicBolt {
            let log: BoltLog
            init(_ log: BoltLog) { self.log = log }
            func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
                if tuple.isTick {
                    log.update { $0.ticks[0, default: []].append(tuple) }
                } else {
                    log.noteExecuted()
                }
            }
        }
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "basic-ticks")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 10)) }
        builder.setBolt("basic") { TickCountingBasicBolt(bolts) }.shuffleGrouping("spout").tickFrequency(seconds: 0.05)

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("ticks arrive") { bolts.snapshot.tickCount >= 3 }
            try await running.require("every tree completes") { spouts.ackCount == 10 }
        }

        #expect(spouts.failCount == 0)
        #expect(bolts.executedCount == 10)
    }
}
