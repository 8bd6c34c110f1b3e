import Gale
import GaleRuntime
import Synchronization
import Testing

@Suite struct TupleSamplingTests {
    @Test func aScheduleSamplesItsShareEvenlyAndNothingWhileOff() {
        var schedule = SampleSchedule()
        #expect(schedule.countdown == 0, "off: the per-tuple check fails at once")
        func sampled(_ tuples: Int) -> [Int] {
            (1...tuples).filter { _ in schedule.countdown != 0 && schedule.tick() }
        }
        schedule.refresh(SampleSchedule.milliPercent(1))
        #expect(sampled(1000) == [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000])
        schedule.refresh(SampleSchedule.milliPercent(30))
        #expect(sampled(10) == [3, 6, 10], "30 %: gaps of 3, 3 and 4")
        #expect(sampled(1000).count == 300)
        schedule.refresh(SampleSchedule.milliPercent(100))
        #expect(sampled(5).count == 5)
        // The same rate again changes nothing (once per drain).
        schedule.refresh(SampleSchedule.milliPercent(0.5))
        let countdown = schedule.countdown
        schedule.refresh(SampleSchedule.milliPercent(0.5))
        #expect(schedule.countdown == countdown && countdown == 200)
        schedule.refresh(0)
        #expect(schedule.countdown == 0)
        #expect(sampled(100).isEmpty)
    }

    @Test func percentsBecomeThousandthsClampedToAHundred() {
        #expect(SampleSchedule.milliPercent(1) == 1000)
        #expect(SampleSchedule.milliPercent(0.0001) == 1, "a tiny share still samples")
        #expect(SampleSchedule.milliPercent(500) == 100_000)
        #expect(SampleSchedule.milliPercent(0) == 0)
        #expect(SampleSchedule.milliPercent(-3) == 0)
        #expect(SampleSchedule.milliPercent(.nan) == 0)
    }

    @Test func aRingKeepsTheNewestInOrder() {
        var ring = SampleRing(capacity: 3)
        for i in 1...7 { ring.append(TupleSample(time: Double(i), component: "c", task: 1, stream: "s", values: "")) }
        #expect(ring.take().map(\.time) == [5, 6, 7])
        #expect(ring.take().isEmpty)
        ring.append(TupleSample(time: 8, component: "c", task: 1, stream: "s", values: ""))
        #expect(ring.take().map(\.time) == [8])
        #expect(ring.recorded == 8)
    }

    /// What the test's components share with the test.
    final class Probe: Sendable {
        /// The spout emits `0..<limit`, as far as `limit` says so far.
        let limit = Atomic<Int>(0)
        let acked = Atomic<Int>(0)
        /// The components the runtime said the bolt's thread runs.
        let seen = Mutex<Set<String>>([])
    }

    final class WhoAmIBolt: BasicBolt {
        let probe: Probe
        init(_ probe: Probe) { self.probe = probe }
        func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {}
        func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
            let component = TopologyRuntime.currentComponent ?? "none"
            probe.seen.withLock { _ = $0.insert(component) }
        }
    }

    final class GatedSpout: Spout {
        let probe: Probe
        var next = 0
        var collector: (any SpoutOutputCollector)?
        init(_ probe: Probe) { self.probe = probe }
        func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["n"]) }
        func open(context: TopologyContext, collector: any SpoutOutputCollector) throws { self.collector = collector }
        func nextTuple() {
            guard next < probe.limit.load(ordering: .acquiring) else { return }
            collector?.emit([.int(Int64(next))], messageId: next)
            next += 1
        }
        func ack(_ messageId: any Sendable) { probe.acked.add(1, ordering: .releasing) }
    }

    @Test func aRuntimeSamplesTheShareOfEachComponentItIsToldAndStopsWhenOff() async throws {
        let probe = Probe()
        let builder = TopologyBuilder(name: "sampling")
        builder.setSpout("numbers") { GatedSpout(probe) }
        builder.setBolt("sink", parallelism: 2) { WhoAmIBolt(probe) }.shuffleGrouping("numbers")
        let running = try LocalCluster().submit(try builder.build())
        let runtime = running.runtime
        runtime.setSampling(["numbers": 10, "sink": 5])
        probe.limit.store(1000, ordering: .releasing)
        try await require("every tuple is acked") { probe.acked.load(ordering: .acquiring) == 1000 }
        let samples = runtime.takeSamples()
        let bySpout = samples.filter { $0.component == "numbers" }
        let byBolt = samples.filter { $0.component == "sink" }
        #expect(bySpout.count == 100, "10 % of the spout's 1,000 emits")
        #expect((48...52).contains(byBolt.count), "5 % of what each of the two sink tasks executed: \(byBolt.count)")
        #expect(samples.count == bySpout.count + byBolt.count)
        #expect(bySpout.allSatisfy { $0.stream == "default" && $0.task == bySpout[0].task })
        #expect(bySpout.first?.values == "[9]", "the 10th tuple, rendered")
        #expect(Set(byBolt.map(\.task)).count == 2)
        #expect(probe.seen.withLock { $0 } == ["sink"], "a bolt's code runs on its component's queue")
        #expect(TopologyRuntime.currentComponent == nil)

        // Off: another thousand tuples, none sampled.
        runtime.setSampling([:])
        probe.limit.store(2000, ordering: .releasing)
        try await require("the second thousand is acked") { probe.acked.load(ordering: .acquiring) == 2000 }
        #expect(runtime.takeSamples().isEmpty)
        await running.kill(drainTimeout: .seconds(5))
    }
}
