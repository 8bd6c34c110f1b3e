import Gale
import GaleCoordination
import Testing

@testable import GaleDaemons

@Suite struct StatsHistoryTests {
    /// A worker's statistics: `acked` trees on the spout's task 1, `executed` on the bolt's task 2.
    func stats(acked: UInt64, executed: UInt64, uptime: Double) -> TopologyStats {
        var spout = ComponentStats(id: "spout", kind: "spout", tasks: 1, queueCapacity: 8)
        spout.acked = acked
        spout.emitted = acked
        spout.transferred = acked
        spout.completeLatencyMs = 2
        var bolt = ComponentStats(id: "bolt", kind: "bolt", tasks: 1, queueCapacity: 8)
        bolt.executed = executed
        bolt.acked = executed
        var t1 = TaskStatsRow(task: 1, component: "spout")
        t1.acked = acked
        t1.emitted = acked
        var t2 = TaskStatsRow(task: 2, component: "bolt")
        t2.executed = executed
        var output = StreamStatsRow(component: "spout", stream: "default")
        output.acked = acked
        var input = StreamStatsRow(component: "bolt", stream: "default", from: "spout")
        input.executed = executed
        return TopologyStats(
            name: "t",
            uptimeSeconds: uptime,
            components: [spout, bolt],
            tasks: [t1, t2],
            edges: [EdgeCount(from: "spout", stream: "default", to: "bolt", transferred: acked)],
            streams: [output, input]
        )
    }

    func report(_ supervisor: String, _ workers: [(id: String, pid: Int32, stats: TopologyStats)]) -> SupervisorReport {
        SupervisorReport(
            supervisorId: supervisor,
            host: "127.0.0.1",
            slots: [6700, 6701],
            uptimeSeconds: 100,
            workers: workers.map { w in
                WorkerReport(
                    workerId: w.id,
                    topologyId: "t-1",
                    epoch: 1,
                    endpoint: Endpoint(host: "127.0.0.1", port: 6700),
                    pid: w.pid,
                    state: "running",
                    restarts: 0,
                    lastExit: nil,
                    uptimeSeconds: w.stats.uptimeSeconds,
                    heartbeatAgeSeconds: 0.5,
                    stats: w.stats,
                    statsPid: w.pid
                )
            },
            errors: []
        )
    }

    func acked(_ history: StatsHistory, now: Double) -> UInt64 {
        history.view(of: "t-1", components: ["spout", "bolt"], now: now, submittedAt: 0).totals["spout"]?.acked ?? 0
    }

    @Test func aRestartedWorkerKeepsWhatItsPredecessorCounted() {
        let history = StatsHistory()
        history.record(report("s1", [("w1", 100, stats(acked: 1_000, executed: 900, uptime: 50))]), now: 1_000)
        history.record(report("s1", [("w2", 200, stats(acked: 500, executed: 400, uptime: 60))]), now: 1_001)
        #expect(acked(history, now: 1_001) == 1_500)
        // w1 is killed and restarted: a new pid starting from zero.
        history.record(
            report(
                "s1",
                [
                    ("w1", 101, stats(acked: 10, executed: 5, uptime: 1)),
                    ("w2", 200, stats(acked: 600, executed: 500, uptime: 62)),
                ]
            ),
            now: 1_003
        )
        let view = history.view(of: "t-1", components: ["spout", "bolt"], now: 1_003, submittedAt: 0)
        #expect(view.totals["spout"]?.acked == 1_000 + 10 + 600)
        #expect(view.tasks[1]?.acked == 1_000 + 10 + 600)
        #expect(view.streams[StatsHistory.StreamKey(component: "spout", stream: "default")]?.acked == 1_000 + 10 + 600)
        #expect(
            view.streams[StatsHistory.StreamKey(component: "bolt", stream: "default", from: "spout")]?.executed
                == 900 + 5 + 500
        )
        #expect(view.tasks[2]?.executed == 900 + 5 + 500)
        #expect(view.edges[StatsHistory.Edge(from: "spout", stream: "default", to: "bolt")] == 1_610)
        // The new process's later reports replace its own share (w2, gone from the report, is
        // retired with what it counted).
        history.record(report("s1", [("w1", 101, stats(acked: 20, executed: 10, uptime: 2))]), now: 1_004)
        #expect(acked(history, now: 1_004) == 1_000 + 20 + 600)
    }

    @Test func aPidReusedByANewProcessIsANewProcess() {
        let history = StatsHistory()
        history.record(report("s1", [("w1", 100, stats(acked: 1_000, executed: 0, uptime: 500))]), now: 1_000)
        history.record(report("s1", [("w1", 100, stats(acked: 3, executed: 0, uptime: 1))]), now: 1_002)
        #expect(acked(history, now: 1_002) == 1_003)
    }

    @Test func aWorkerLeavingItsSupervisorsReportIsRetiredNotLost() {
        let history = StatsHistory()
        history.record(report("s1", [("w1", 100, stats(acked: 700, executed: 0, uptime: 50))]), now: 1_000)
        history.record(report("s1", []), now: 1_002)
        #expect(acked(history, now: 1_002) == 700)
        // Reported again soon (the supervisor was late, same process): live again, not twice.
        history.record(report("s1", [("w1", 100, stats(acked: 800, executed: 0, uptime: 54))]), now: 1_004)
        #expect(acked(history, now: 1_004) == 800)
    }

    @Test func aSupervisorThatStopsReportingKeepsItsShare() {
        let history = StatsHistory()
        history.record(report("s1", [("w1", 100, stats(acked: 700, executed: 0, uptime: 50))]), now: 1_000)
        history.record(report("s2", [("w9", 300, stats(acked: 5, executed: 0, uptime: 1))]), now: 1_001)
        // s1 is gone for longer than the stale limit, and long enough for its share to be folded.
        let later = 1_000 + StatsHistory.staleSeconds + StatsHistory.retiredMemorySeconds + 10
        history.record(report("s2", [("w9", 300, stats(acked: 50, executed: 0, uptime: 700))]), now: later)
        #expect(acked(history, now: later) == 750)
        history.record(report("s2", [("w9", 300, stats(acked: 60, executed: 0, uptime: 702))]), now: later + 2)
        #expect(acked(history, now: later + 2) == 760)
    }

    @Test func windowsCountFromTheSampleAtTheirStart() {
        let history = StatsHistory()
        // One report every 2 s for 20 minutes, 10 acked per second.
        var now = 10_000.0
        var total: UInt64 = 0
        while now <= 10_000 + 1_200 {
            history.record(
                report("s1", [("w1", 100, stats(acked: total, executed: total, uptime: now - 9_999))]),
                now: now
            )
            now += 2
            total += 20
        }
        let last = now - 2
        let view = history.view(of: "t-1", components: ["spout", "bolt"], now: last, submittedAt: 9_000)
        let allTime = view.totals["spout"]?.acked ?? 0
        #expect(allTime == total - 20)
        let tenMinutes = view.windows["600"]?["spout"]?.acked ?? 0
        // The baseline is the newest 10 s sample at least 600 s old: 600 to 610 s of counts.
        #expect((6_000...6_100).contains(tenMinutes), "\(tenMinutes)")
        // Younger than 3 h: the 3-hour window is everything.
        #expect(view.windows["10800"]?["spout"]?.acked == allTime)
        // 10 per second, measured over about 10 s.
        #expect(view.rateSpan >= 9)
        #expect(abs((view.rates["spout"]?.acked ?? 0) - 10) < 0.01)
        #expect(abs((view.edgeRates[StatsHistory.Edge(from: "spout", stream: "default", to: "bolt")] ?? 0) - 10) < 0.01)
        // Mean latency over all time from the sums.
        #expect(abs((view.totals["spout"]?.completeLatencyMs ?? 0) - 2) < 1e-9)
    }

    @Test func aForgottenTopologyHasNoHistory() {
        let history = StatsHistory()
        history.record(report("s1", [("w1", 100, stats(acked: 700, executed: 0, uptime: 50))]), now: 1_000)
        history.forget("t-1")
        #expect(acked(history, now: 1_001) == 0)
    }
}
