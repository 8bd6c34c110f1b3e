import Gale
public import GaleCoordination
import Synchronization

/// What nimbus remembers of each topology's statistics beyond the latest reports: the counts of
/// worker processes that are gone, so that all-time totals never go backwards, and samples of
/// those totals, for the 10-minute, 3-hour and 1-day windows and for rates.
///
/// Every worker process reports the counts of its own tasks since it started. A process is
/// identified by its supervisor, worker id and pid (and its uptime: a pid reused by a later
/// process starts again from zero uptime). When a process is replaced (a new pid for the same
/// worker), leaves its supervisor's report, or its supervisor stops reporting for
/// ``staleSeconds``, its last counts are *retired*: kept and added to the totals. A retired
/// process that reports again within ``retiredMemorySeconds`` (a supervisor that was only late) is
/// live again, not counted twice; after that its counts are folded into the topology's base.
///
/// Samples of the totals are taken when a report arrives, at most every ``sampleSeconds``, into
/// rings of several granularities. Everything lives in the leader's memory: a new leader starts
/// from what the running processes report (the shares of processes that ended before it led
/// are not known to it).
///
/// Thread-safe (one lock).
public final class StatsHistory: Sendable {
    /// A report older than this no longer counts its processes live.
    public static let staleSeconds = 30.0
    /// How long a retired process may come back before its counts are folded into the base.
    public static let retiredMemorySeconds = 600.0
    /// Least time between two samples.
    public static let sampleSeconds = 2.0
    /// The windows nimbus answers, in seconds, with the ring that serves each: its step and the
    /// samples it keeps.
    static let rings: [(step: Double, keep: Int)] = [(2, 16), (10, 70), (60, 190), (600, 150)]
    /// The windows of the API: seconds and the ring index serving them.
    public static let windows: [(name: String, seconds: Double, ring: Int)] = [
        ("600", 600, 1), ("10800", 10_800, 2), ("86400", 86_400, 3),
    ]
    /// Rates are measured over about this long (from the finest ring).
    public static let rateSeconds = 10.0

    /// Additive counts of a task, a component or a whole process.
    public struct Counts: Sendable, Equatable {
        public var emitted: UInt64 = 0
        public var transferred: UInt64 = 0
        public var executed: UInt64 = 0
        public var acked: UInt64 = 0
        public var failed: UInt64 = 0
        /// Complete latency times the trees it averages over, in milliseconds.
        public var completeSumMs: Double = 0
        /// Execute latency times the tuples it averages over, in milliseconds.
        public var executeSumMs: Double = 0

        public init() {}

        init(
            emitted: UInt64,
            transferred: UInt64,
            executed: UInt64,
            acked: UInt64,
            failed: UInt64,
            completeMs: Double,
            executeMs: Double
        ) {
            self.emitted = emitted
            self.transferred = transferred
            self.executed = executed
            self.acked = acked
            self.failed = failed
            self.completeSumMs = completeMs * Double(acked)
            self.executeSumMs = executeMs * Double(executed)
        }

        init(_ c: ComponentStats) {
            self.init(
                emitted: c.emitted,
                transferred: c.transferred,
                executed: c.executed,
                acked: c.acked,
                failed: c.failed,
                completeMs: c.completeLatencyMs,
                executeMs: c.executeLatencyMs
            )
        }

        init(_ t: TaskStatsRow) {
            self.init(
                emitted: t.emitted,
                transferred: t.transferred,
                executed: t.executed,
                acked: t.acked,
                failed: t.failed,
                completeMs: t.completeLatencyMs,
                executeMs: t.executeLatencyMs
            )
        }

        init(_ r: StreamStatsRow) {
            self.init(
                emitted: r.emitted,
                transferred: r.transferred,
                executed: r.executed,
                acked: r.acked,
                failed: r.failed,
                completeMs: 0,
                executeMs: 0
            )
        }

        mutating func add(_ o: Counts) {
            emitted &+= o.emitted
            transferred &+= o.transferred
            executed &+= o.executed
            acked &+= o.acked
            failed &+= o.failed
            completeSumMs += o.completeSumMs
            executeSumMs += o.executeSumMs
        }

        /// Mean complete latency, in milliseconds.
        public var completeLatencyMs: Double { acked == 0 ? 0 : completeSumMs / Double(acked) }
        /// Mean execute latency, in milliseconds.
        public var executeLatencyMs: Double { executed == 0 ? 0 : executeSumMs / Double(executed) }

        static let width = 7

        func append(to values: inout [Double]) {
            values.append(Double(emitted))
            values.append(Double(transferred))
            values.append(Double(executed))
            values.append(Double(acked))
            values.append(Double(failed))
            values.append(completeSumMs)
            values.append(executeSumMs)
        }
    }

    /// Tuples per second.
    public struct Rates: Sendable, Equatable, Codable {
        public var emitted: Double = 0
        public var transferred: Double = 0
        public var executed: Double = 0
        public var acked: Double = 0
        public var failed: Double = 0

        public init() {}

        init(_ c: Counts, over seconds: Double) {
            emitted = Double(c.emitted) / seconds
            transferred = Double(c.transferred) / seconds
            executed = Double(c.executed) / seconds
            acked = Double(c.acked) / seconds
            failed = Double(c.failed) / seconds
        }
    }

    /// An edge of the topology: a stream of `from` to subscriber `to`.
    public struct Edge: Sendable, Hashable {
        public var from: String
        public var stream: String
        public var to: String
    }

    /// A stream of a component: its output `stream` (`from` nil), or its input `stream` of
    /// component `from`.
    public struct StreamKey: Sendable, Hashable {
        public var component: String
        public var stream: String
        public var from: String?
    }

    /// The counts of one process (or the sum of several).
    public struct Share: Sendable, Equatable {
        public var components: [String: Counts] = [:]
        public var tasks: [Int: Counts] = [:]
        public var edges: [Edge: UInt64] = [:]
        public var streams: [StreamKey: Counts] = [:]

        public init() {}

        init(_ stats: TopologyStats) {
            for c in stats.components { components[c.id] = Counts(c) }
            for t in stats.tasks ?? [] { tasks[t.task] = Counts(t) }
            for e in stats.edges ?? [] {
                edges[Edge(from: e.from, stream: e.stream, to: e.to), default: 0] &+= e.transferred
            }
            for r in stats.streams ?? [] {
                streams[StreamKey(component: r.component, stream: r.stream, from: r.from), default: Counts()]
                    .add(Counts(r))
            }
        }

        mutating func add(_ o: Share) {
            for (k, v) in o.components { components[k, default: Counts()].add(v) }
            for (k, v) in o.tasks { tasks[k, default: Counts()].add(v) }
            for (k, v) in o.edges { edges[k, default: 0] &+= v }
            for (k, v) in o.streams { streams[k, default: Counts()].add(v) }
        }
    }

    /// The identity of a worker process.
    struct ProcessKey: Hashable {
        var supervisorId: String
        var workerId: String
        var pid: Int32
    }

    struct Process {
        var share: Share
        var uptime: Double
        var reportedAt: Double
    }

    struct Sample {
        var time: Double
        /// Per component (in `Series.components` order) ``Counts/width`` numbers, then per edge one.
        var values: [Double]
    }

    /// What is kept of one topology.
    struct Series {
        var live: [ProcessKey: Process] = [:]
        var retired: [(key: ProcessKey, process: Process, at: Double)] = []
        var base = Share()
        var components: [String] = []
        var edges: [Edge] = []
        var rings: [[Sample]] = Array(repeating: [], count: StatsHistory.rings.count)
        var lastSample = -Double.infinity
    }

    private let state = Mutex<[String: Series]>([:])

    public init() {}

    /// Takes the processes of `report` (received at `now`, seconds since 1970).
    public func record(_ report: SupervisorReport, now: Double) {
        state.withLock { all in
            var seen: [String: Set<ProcessKey>] = [:]
            for worker in report.workers {
                guard let stats = worker.stats, let pid = worker.statsPid else { continue }
                let key = ProcessKey(supervisorId: report.supervisorId, workerId: worker.workerId, pid: pid)
                var series = all[worker.topologyId] ?? Series()
                // The same worker under another pid, or this pid with a smaller uptime, is a new process.
                for (other, process) in series.live
                where other.supervisorId == key.supervisorId && other.workerId == key.workerId
                    && (other.pid != pid || stats.uptimeSeconds + 1 < process.uptime)
                {
                    series.retire(other, now: now)
                }
                // A retired process reporting again (its supervisor was late) is live again; a
                // reused pid (a smaller uptime) is another process, and the old one stays retired.
                series.retired.removeAll { $0.key == key && stats.uptimeSeconds + 1 >= $0.process.uptime }
                series.live[key] = Process(share: Share(stats), uptime: stats.uptimeSeconds, reportedAt: now)
                all[worker.topologyId] = series
                seen[worker.topologyId, default: []].insert(key)
            }
            // Processes of this supervisor that its report no longer has are gone.
            for id in Array(all.keys) {
                guard var series = all[id] else { continue }
                let mine = series.live.keys.filter {
                    $0.supervisorId == report.supervisorId && !(seen[id]?.contains($0) ?? false)
                }
                for key in mine { series.retire(key, now: now) }
                series.maintain(now: now)
                all[id] = series
            }
        }
    }

    /// Forgets topology `id` (killed and removed).
    public func forget(_ id: String) {
        _ = state.withLock { $0.removeValue(forKey: id) }
    }

    /// The statistics of topology `id` now: all-time totals, windows, rates and edges.
    public func view(of id: String, components order: [String], now: Double, submittedAt: Double) -> View {
        state.withLock { all in
            guard var series = all[id] else { return View(components: order) }
            series.maintain(now: now)
            all[id] = series
            return series.view(order: order, now: now, submittedAt: submittedAt)
        }
    }

    /// A topology's statistics at one moment.
    public struct View: Sendable {
        /// All-time counts per component (live, retired and folded processes).
        public var totals: [String: Counts] = [:]
        /// All-time counts per task.
        public var tasks: [Int: Counts] = [:]
        /// All-time tuples per edge.
        public var edges: [Edge: UInt64] = [:]
        /// All-time counts per stream of a component, outputs and inputs.
        public var streams: [StreamKey: Counts] = [:]
        /// Per window name (``windows``), the counts per component within it.
        public var windows: [String: [String: Counts]] = [:]
        /// Per component, per second over about ``rateSeconds``.
        public var rates: [String: Rates] = [:]
        /// Per edge, tuples per second over about ``rateSeconds``.
        public var edgeRates: [Edge: Double] = [:]
        /// Seconds the rates are measured over (0: not yet measurable).
        public var rateSpan: Double = 0

        init(components: [String]) {
            for c in components { totals[c] = Counts() }
        }

        init() {}
    }
}

extension StatsHistory.Series {
    mutating func retire(_ key: StatsHistory.ProcessKey, now: Double) {
        guard let process = live.removeValue(forKey: key) else { return }
        retired.append((key, process, now))
    }

    /// Retires processes whose reports stopped, folds old retirements into the base, and takes a
    /// sample when one is due.
    mutating func maintain(now: Double) {
        for (key, process) in live where now - process.reportedAt > StatsHistory.staleSeconds {
            retire(key, now: now)
        }
        for entry in retired where now - entry.at > StatsHistory.retiredMemorySeconds { base.add(entry.process.share) }
        retired.removeAll { now - $0.at > StatsHistory.retiredMemorySeconds }
        if now - lastSample >= StatsHistory.sampleSeconds { sample(now: now) }
    }

    /// The sum over every process, live, retired and folded.
    func allTime() -> StatsHistory.Share {
        var total = base
        for entry in retired { total.add(entry.process.share) }
        for process in live.values { total.add(process.share) }
        return total
    }

    mutating func sample(now: Double) {
        let total = allTime()
        for id in total.components.keys where !components.contains(id) { components.append(id) }
        for edge in total.edges.keys where !edges.contains(edge) { edges.append(edge) }
        var values: [Double] = []
        values.reserveCapacity(components.count * StatsHistory.Counts.width + edges.count)
        for id in components { (total.components[id] ?? StatsHistory.Counts()).append(to: &values) }
        for edge in edges { values.append(Double(total.edges[edge] ?? 0)) }
        let sample = StatsHistory.Sample(time: now, values: values)
        lastSample = now
        for (i, ring) in StatsHistory.rings.enumerated() {
            if let last = rings[i].last, now - last.time < ring.step { continue }
            rings[i].append(sample)
            if rings[i].count > ring.keep { rings[i].removeFirst(rings[i].count - ring.keep) }
        }
    }

    func counts(_ sample: StatsHistory.Sample, component index: Int) -> StatsHistory.Counts {
        let base = index * StatsHistory.Counts.width
        guard base + StatsHistory.Counts.width <= sample.values.count else { return StatsHistory.Counts() }
        let v = sample.values
        var c = StatsHistory.Counts()
        c.emitted = UInt64(v[base])
        c.transferred = UInt64(v[base + 1])
        c.executed = UInt64(v[base + 2])
        c.acked = UInt64(v[base + 3])
        c.failed = UInt64(v[base + 4])
        c.completeSumMs = v[base + 5]
        c.executeSumMs = v[base + 6]
        return c
    }

    func edgeCount(_ sample: StatsHistory.Sample, edge index: Int) -> Double {
        let i = components.count * StatsHistory.Counts.width + index
        return i < sample.values.count ? sample.values[i] : 0
    }

    func view(order: [String], now: Double, submittedAt: Double) -> StatsHistory.View {
        var view = StatsHistory.View()
        let total = allTime()
        view.tasks = total.tasks
        view.edges = total.edges
        view.streams = total.streams
        for id in order { view.totals[id] = total.components[id] ?? StatsHistory.Counts() }
        for (id, c) in total.components where view.totals[id] == nil { view.totals[id] = c }
        let index = Dictionary(components.enumerated().map { ($1, $0) }) { first, _ in first }
        // Windows: the totals now minus the newest sample at least the window old; a topology
        // younger than the window counts from zero.
        for window in StatsHistory.windows {
            let start = now - window.seconds
            let ring = rings[window.ring]
            // The newest sample at least the window old; with a shorter history (this nimbus
            // has led for less than the window), the oldest it has.
            let baseline = submittedAt >= start ? nil : (ring.last { $0.time <= start } ?? ring.first)
            var counts: [String: StatsHistory.Counts] = [:]
            for (id, current) in view.totals {
                if let baseline, let index = index[id] {
                    counts[id] = current.minus(self.counts(baseline, component: index))
                } else {
                    counts[id] = current
                }
            }
            view.windows[window.name] = counts
        }
        // Rates: between the newest sample and the newest one at least rateSeconds before it.
        if let latest = rings[0].last,
            let earlier = rings[0].last(where: { latest.time - $0.time >= StatsHistory.rateSeconds - 0.5 })
                ?? rings[0].first,
            latest.time > earlier.time
        {
            let span = latest.time - earlier.time
            view.rateSpan = span
            for (index, id) in components.enumerated() {
                let delta = counts(latest, component: index).minus(counts(earlier, component: index))
                view.rates[id] = StatsHistory.Rates(delta, over: span)
            }
            for (index, edge) in edges.enumerated() {
                view.edgeRates[edge] = max(0, edgeCount(latest, edge: index) - edgeCount(earlier, edge: index)) / span
            }
        }
        return view
    }
}

extension StatsHistory.Counts {
    /// These counts less `other`'s, never below zero.
    func minus(_ other: StatsHistory.Counts) -> StatsHistory.Counts {
        var c = StatsHistory.Counts()
        c.emitted = emitted > other.emitted ? emitted - other.emitted : 0
        c.transferred = transferred > other.transferred ? transferred - other.transferred : 0
        c.executed = executed > other.executed ? executed - other.executed : 0
        c.acked = acked > other.acked ? acked - other.acked : 0
        c.failed = failed > other.failed ? failed - other.failed : 0
        c.completeSumMs = max(0, completeSumMs - other.completeSumMs)
        c.executeSumMs = max(0, executeSumMs - other.executeSumMs)
        return c
    }

}
