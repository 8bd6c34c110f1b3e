import Foundation
import GaleCoordination

/// When the ``EventDetector``'s conditions fire (the `nimbus.events.*` keys).
public struct EventThresholds: Sendable, Equatable {
    /// A worker restarted this many times within ``crashLoopWindowSeconds`` is in a crash loop.
    public var crashLoopRestarts: Int
    /// The window of ``crashLoopRestarts``; a crash loop clears after a whole window without
    /// a restart.
    public var crashLoopWindowSeconds: Double
    /// A partition with a lag that has not committed for this long is stuck.
    public var partitionStuckSeconds: Double
    /// A component overloaded this long (breaks shorter than ``backpressureGapSeconds`` do not
    /// count) is under sustained backpressure.
    public var backpressureSeconds: Double
    /// Breaks in overload shorter than this belong to one episode; one this long ends it.
    public var backpressureGapSeconds: Double
    /// Transactional batches replayed this many times within ``batchWindowSeconds`` are failing;
    /// that clears after a whole window without a replay.
    public var batchReplays: Int
    public var batchWindowSeconds: Double
    /// A registered supervisor silent this long (no report) is lost.
    public var supervisorTimeoutSeconds: Double
    /// A binary missing this long is posted (a new leader may still be fetching it).
    public var binaryMissingSeconds: Double
    /// A condition still firing is posted again this often (a reminder); 0: never.
    public var renotifySeconds: Double

    public init(
        crashLoopRestarts: Int = 3,
        crashLoopWindowSeconds: Double = 300,
        partitionStuckSeconds: Double = 300,
        backpressureSeconds: Double = 60,
        backpressureGapSeconds: Double = 10,
        batchReplays: Int = 3,
        batchWindowSeconds: Double = 300,
        supervisorTimeoutSeconds: Double = 30,
        binaryMissingSeconds: Double = 10,
        renotifySeconds: Double = 0
    ) {
        self.crashLoopRestarts = crashLoopRestarts
        self.crashLoopWindowSeconds = crashLoopWindowSeconds
        self.partitionStuckSeconds = partitionStuckSeconds
        self.backpressureSeconds = backpressureSeconds
        self.backpressureGapSeconds = backpressureGapSeconds
        self.batchReplays = batchReplays
        self.batchWindowSeconds = batchWindowSeconds
        self.supervisorTimeoutSeconds = supervisorTimeoutSeconds
        self.binaryMissingSeconds = binaryMissingSeconds
        self.renotifySeconds = renotifySeconds
    }
}

/// Turns what the leader sees into events: a pure state machine, shown one ``EventSnapshot``
/// per pass, that returns the events of that pass.
///
/// - Notices (submitted, killed, rebalanced) come from comparing a snapshot's topologies with
///   the previous one's; the first snapshot only sets the baseline.
/// - Conditions (crash loop, supervisor lost, binary missing, stuck partition, backpressure,
///   failing batches) each have a key. A condition is posted once when it starts firing, then
///   not again while it holds (but every ``EventThresholds/renotifySeconds`` as a reminder, when
///   set), and once more, `resolved`, when it clears, with the same key and `since`.
public struct EventDetector: Sendable {
    public let thresholds: EventThresholds
    /// The UI's base URL, without a trailing slash.
    public let uiURL: String

    /// The topologies of the previous snapshot; `nil` before the first.
    private var known: [String: EventTopology]?
    /// The conditions firing now, by key.
    private var firing: [String: Firing] = [:]
    private var restarts: [String: CounterHistory] = [:]
    private var replays: [String: CounterHistory] = [:]
    private var overload: [String: Episode] = [:]
    private var supervisors: [String: SupervisorMemory] = [:]
    /// Since when each topology's binary has been missing.
    private var binaryMissing: [String: Double] = [:]

    struct Firing: Sendable {
        var event: NimbusEvent
        var lastSent: Double
    }

    /// Samples of a counter that only grows (restarts, replays) until it is reset.
    struct CounterHistory: Sendable {
        var epoch: Int
        var samples: [(time: Double, value: Int)]
    }

    /// A stretch of overload with breaks shorter than the gap.
    struct Episode: Sendable {
        var start: Double
        var last: Double
    }

    struct SupervisorMemory: Sendable {
        var host: String
        /// When this detector first saw it registered.
        var firstSeen: Double
        /// Whether it was registered in the previous snapshot.
        var registered: Bool
        /// The topologies it ran workers of when last seen registered.
        var workers: [String]
        var goneSince: Double?
    }

    /// What an evaluator saw of one condition in this pass.
    struct Observation {
        var key: String
        /// The condition starts firing now (if it is not already).
        var fires: Bool
        /// A firing condition goes on (``fires`` implies it).
        var holds: Bool
        /// The firing event as it would be posted now.
        var event: NimbusEvent
        /// Why it cleared (the resolution's message), when it does not hold.
        var cleared: String?
    }

    /// Topologies submitted at or after this time (seconds since 1970) are announced even in the
    /// first snapshot: those this leader accepted before its first pass.
    public let announceSubmittedSince: Double?

    public init(
        thresholds: EventThresholds = EventThresholds(),
        uiURL: String,
        announceSubmittedSince: Double? = nil
    ) {
        self.thresholds = thresholds
        self.uiURL = uiURL.hasSuffix("/") ? String(uiURL.dropLast()) : uiURL
        self.announceSubmittedSince = announceSubmittedSince
    }

    /// The keys of the conditions firing now.
    public var firingKeys: [String] { firing.keys.sorted() }

    /// The events `snapshot` brings: notices first, then conditions that start firing, remind or
    /// clear, in key order.
    public mutating func observe(_ snapshot: EventSnapshot) -> [NimbusEvent] {
        let now = snapshot.time
        var events = notices(snapshot)
        var observations: [Observation] = []
        observations += crashLoops(snapshot)
        observations += lostSupervisors(snapshot)
        observations += missingBinaries(snapshot)
        observations += stuckPartitions(snapshot)
        observations += backpressure(snapshot)
        observations += failingBatches(snapshot)
        var seen = Set<String>()
        var conditions: [NimbusEvent] = []
        for observation in observations where seen.insert(observation.key).inserted {
            if var current = firing[observation.key] {
                if observation.holds {
                    var event = observation.event
                    event.since = current.event.since
                    current.event = event
                    if thresholds.renotifySeconds > 0, now - current.lastSent >= thresholds.renotifySeconds {
                        event.reminder = true
                        conditions.append(event)
                        current.lastSent = now
                    }
                    firing[observation.key] = current
                } else {
                    conditions.append(resolution(of: current.event, now: now, message: observation.cleared))
                    firing[observation.key] = nil
                }
            } else if observation.fires {
                firing[observation.key] = Firing(event: observation.event, lastSent: now)
                conditions.append(observation.event)
            }
        }
        for (key, current) in firing where !seen.contains(key) {
            conditions.append(resolution(of: current.event, now: now, message: gone(current.event, snapshot)))
            firing[key] = nil
        }
        events += conditions.sorted { ($0.key, $0.state.rawValue) < ($1.key, $1.state.rawValue) }
        return events
    }

    // MARK: - Helpers

    private func url(_ topology: String?) -> String {
        guard let topology else { return uiURL + "/" }
        return uiURL + "/#/topology/" + topology
    }

    private func resolution(of event: NimbusEvent, now: Double, message: String?) -> NimbusEvent {
        var resolved = event
        resolved.state = .resolved
        resolved.time = now
        resolved.reminder = nil
        resolved.message =
            (message ?? "cleared") + " (firing for \(Self.duration(now - event.since)); was: \(event.message))"
        return resolved
    }

    /// Why a condition nobody observed in this pass is over.
    private func gone(_ event: NimbusEvent, _ snapshot: EventSnapshot) -> String {
        guard let id = event.topologyId else { return "no longer observed" }
        let name = event.topology ?? id
        guard let topology = snapshot.topologies.first(where: { $0.id == id }) else {
            return "topology \(name) is gone"
        }
        switch topology.status {
        case .killed: return "topology \(name) was killed"
        case .inactive: return "topology \(name) is deactivated"
        case .active:
            if let worker = event.worker { return "worker \(worker) of \(name) is no longer reported" }
            if let component = event.component { return "component \(component) of \(name) is no longer reported" }
            return "no longer observed"
        }
    }

    /// `90 s`, `5 min`, `2 h 5 min`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(max(0, seconds).rounded())
        if s < 120 { return "\(s) s" }
        if s < 7200 { return "\(s / 60) min" }
        return "\(s / 3600) h \(s % 3600 / 60) min"
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }

    /// The topologies that are neither killed nor removed, by id.
    private func live(_ snapshot: EventSnapshot) -> [String: EventTopology] {
        Dictionary(
            snapshot.topologies.filter { $0.status != .killed }.map { ($0.id, $0) },
            uniquingKeysWith: { first, _ in first }
        )
    }

    /// Records `value` of a growing counter at `now` and returns its growth over the window and
    /// when that growth began; a lower value or another epoch starts the history again.
    private static func growth(
        _ history: inout CounterHistory?,
        epoch: Int,
        value: Int,
        now: Double,
        window: Double
    ) -> (count: Int, since: Double) {
        if var h = history, h.epoch == epoch, let last = h.samples.last, last.value <= value {
            h.samples.append((now, value))
            // Keep one sample at or before the window's start: the baseline.
            while h.samples.count >= 2, h.samples[1].time <= now - window { h.samples.removeFirst() }
            history = h
        } else {
            history = CounterHistory(epoch: epoch, samples: [(now, value)])
        }
        guard let h = history, let base = h.samples.first else { return (0, now) }
        let since = h.samples.first { $0.value > base.value }?.time ?? now
        return (value - base.value, since)
    }

    // MARK: - Notices

    private mutating func notices(_ snapshot: EventSnapshot) -> [NimbusEvent] {
        let now = snapshot.time
        let current = Dictionary(snapshot.topologies.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        defer { known = current }
        var events: [NimbusEvent] = []
        func notice(_ type: EventType, _ t: EventTopology, since: Double, _ message: String) {
            events.append(
                NimbusEvent(
                    event: type,
                    key: "\(type.rawValue)/\(t.id)/\(Int((now * 1000).rounded()))",
                    topology: t.name,
                    topologyId: t.id,
                    since: since,
                    time: now,
                    message: message,
                    url: url(t.name)
                )
            )
        }
        func submitted(_ t: EventTopology) {
            let by = t.owner.map { " by \($0)" } ?? ""
            let workers = "\(t.workers) worker\(t.workers == 1 ? "" : "s")"
            notice(
                .topologySubmitted,
                t,
                since: t.submittedAt,
                "topology \(t.name) (\(t.id)) submitted\(by): \(workers)"
            )
        }
        guard let known else {
            // The baseline: only what this leader accepted before its first pass is news.
            for t in snapshot.topologies.sorted(by: { $0.id < $1.id })
            where t.status != .killed && t.submittedAt >= announceSubmittedSince ?? .infinity {
                submitted(t)
            }
            return events
        }
        for t in snapshot.topologies.sorted(by: { $0.id < $1.id }) {
            guard let old = known[t.id] else {
                if t.status != .killed {
                    submitted(t)
                }
                continue
            }
            if t.status == .killed {
                if old.status != .killed {
                    notice(.topologyKilled, t, since: now, "topology \(t.name) (\(t.id)) killed")
                }
            } else if old.workers != t.workers || old.parallelism != t.parallelism {
                var changes: [String] = []
                if old.workers != t.workers { changes.append("workers \(old.workers) → \(t.workers)") }
                for component in Set(old.parallelism.keys).union(t.parallelism.keys).sorted()
                where old.parallelism[component] != t.parallelism[component] {
                    let before = old.parallelism[component].map(String.init) ?? "as built"
                    let after = t.parallelism[component].map(String.init) ?? "as built"
                    changes.append("\(component) tasks \(before) → \(after)")
                }
                notice(
                    .topologyRebalanced,
                    t,
                    since: now,
                    "topology \(t.name) (\(t.id)) rebalanced: " + changes.joined(separator: ", ")
                )
            }
        }
        for old in known.values.sorted(by: { $0.id < $1.id }) where current[old.id] == nil && old.status != .killed {
            notice(.topologyKilled, old, since: now, "topology \(old.name) (\(old.id)) removed")
        }
        return events
    }

    // MARK: - Crash loops

    private mutating func crashLoops(_ snapshot: EventSnapshot) -> [Observation] {
        let now = snapshot.time
        let window = thresholds.crashLoopWindowSeconds
        let topologies = live(snapshot)
        var result: [Observation] = []
        var watched = Set<String>()
        for received in snapshot.reports.values.sorted(by: { $0.report.supervisorId < $1.report.supervisorId })
        where now - received.at <= thresholds.supervisorTimeoutSeconds {
            for worker in received.report.workers {
                guard let topology = topologies[worker.topologyId] else { continue }
                let key = "\(EventType.workerCrashLoop.rawValue)/\(worker.topologyId)/\(worker.endpoint)"
                guard watched.insert(key).inserted else { continue }
                var history = restarts[key]
                let (count, since) = Self.growth(
                    &history,
                    epoch: worker.epoch,
                    value: worker.restarts,
                    now: now,
                    window: window
                )
                restarts[key] = history
                let exit = worker.lastExit.map { "; last exit: \($0)" } ?? ""
                result.append(
                    Observation(
                        key: key,
                        fires: count >= thresholds.crashLoopRestarts,
                        holds: count > 0,
                        event: NimbusEvent(
                            event: .workerCrashLoop,
                            key: key,
                            topology: topology.name,
                            topologyId: topology.id,
                            worker: worker.endpoint.description,
                            supervisor: received.report.supervisorId,
                            since: since,
                            time: now,
                            message:
                                "worker \(worker.endpoint) of \(topology.name) restarted \(count) time\(count == 1 ? "" : "s") "
                                + "in the last \(Self.seconds(window)) (supervisor \(received.report.supervisorId)\(exit))",
                            url: url(topology.name)
                        ),
                        cleared:
                            "worker \(worker.endpoint) of \(topology.name) has not restarted for \(Self.seconds(window))"
                    )
                )
            }
        }
        restarts = restarts.filter { watched.contains($0.key) }
        return result
    }

    // MARK: - Supervisors

    private mutating func lostSupervisors(_ snapshot: EventSnapshot) -> [Observation] {
        let now = snapshot.time
        let topologies = live(snapshot)
        var running: [String: Set<String>] = [:]
        for (id, assignment) in snapshot.assignments {
            guard let topology = topologies[id] else { continue }
            for worker in assignment.workers { running[worker.supervisorId, default: []].insert(topology.name) }
        }
        for received in snapshot.reports.values {
            for worker in received.report.workers {
                if let topology = topologies[worker.topologyId] {
                    running[received.report.supervisorId, default: []].insert(topology.name)
                }
            }
        }
        var result: [Observation] = []
        let registered = Dictionary(snapshot.supervisors.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for (id, record) in registered.sorted(by: { $0.key < $1.key }) {
            var memory =
                supervisors[id]
                ?? SupervisorMemory(host: record.host, firstSeen: now, registered: true, workers: [], goneSince: nil)
            memory.host = record.host
            memory.registered = true
            memory.goneSince = nil
            memory.workers = (running[id] ?? []).sorted()
            supervisors[id] = memory
            let lastReport = snapshot.reports[id]?.at
            let silentSince = max(lastReport ?? memory.firstSeen, memory.firstSeen)
            let silent = now - silentSince
            let key = "\(EventType.supervisorLost.rawValue)/\(id)"
            let workers = memory.workers.isEmpty ? "" : "; it runs workers of \(memory.workers.joined(separator: ", "))"
            let what = "has sent no report for \(Self.duration(silent))"
            result.append(
                Observation(
                    key: key,
                    fires: silent > thresholds.supervisorTimeoutSeconds,
                    holds: silent > thresholds.supervisorTimeoutSeconds,
                    event: NimbusEvent(
                        event: .supervisorLost,
                        key: key,
                        supervisor: id,
                        since: lastReport ?? memory.firstSeen,
                        time: now,
                        message: "supervisor \(id) (\(record.host)) \(what)\(workers)",
                        url: url(nil)
                    ),
                    cleared: "supervisor \(id) (\(record.host)) is registered and reporting"
                )
            )
        }
        for (id, var memory) in supervisors.sorted(by: { $0.key < $1.key }) where registered[id] == nil {
            let key = "\(EventType.supervisorLost.rawValue)/\(id)"
            if memory.registered {
                memory.registered = false
                memory.goneSince = now
            }
            guard !memory.workers.isEmpty || firing[key] != nil else {
                supervisors[id] = nil
                continue
            }
            supervisors[id] = memory
            let workers =
                memory.workers.isEmpty ? "" : " while it ran workers of \(memory.workers.joined(separator: ", "))"
            result.append(
                Observation(
                    key: key,
                    fires: true,
                    holds: true,
                    event: NimbusEvent(
                        event: .supervisorLost,
                        key: key,
                        supervisor: id,
                        since: memory.goneSince ?? now,
                        time: now,
                        message: "supervisor \(id) (\(memory.host)) is gone from ZooKeeper\(workers)",
                        url: url(nil)
                    )
                )
            )
        }
        return result
    }

    // MARK: - Binaries

    private mutating func missingBinaries(_ snapshot: EventSnapshot) -> [Observation] {
        let now = snapshot.time
        let topologies = live(snapshot).values.sorted { $0.id < $1.id }
        binaryMissing = binaryMissing.filter { entry in
            topologies.contains { $0.id == entry.key && $0.binaryProblem != nil }
        }
        return topologies.map { topology in
            let key = "\(EventType.binaryMissing.rawValue)/\(topology.id)"
            var since = now
            if topology.binaryProblem != nil {
                since = binaryMissing[topology.id] ?? now
                binaryMissing[topology.id] = since
            }
            return Observation(
                key: key,
                fires: topology.binaryProblem != nil && now - since >= thresholds.binaryMissingSeconds,
                holds: topology.binaryProblem != nil,
                event: NimbusEvent(
                    event: .binaryMissing,
                    key: key,
                    topology: topology.name,
                    topologyId: topology.id,
                    since: since,
                    time: now,
                    message: "topology \(topology.name): " + (topology.binaryProblem ?? "its binary is available"),
                    url: url(topology.name)
                ),
                cleared: "the binary of topology \(topology.name) is available"
            )
        }
    }

    // MARK: - Components

    /// The active topologies and their components' signals.
    private func components(_ snapshot: EventSnapshot) -> [(EventTopology, [ComponentSignals])] {
        snapshot.topologies.filter { $0.status == .active }.sorted { $0.id < $1.id }.map {
            ($0, snapshot.components[$0.id] ?? [])
        }
    }

    /// Keeps the firing conditions of `type` whose topology is active but whose component (or
    /// row) is missing from this pass: a worker restarting does not clear them.
    private func unknownStillHold(
        _ type: EventType,
        _ snapshot: EventSnapshot,
        observed: Set<String>
    ) -> [Observation] {
        let active = Set(snapshot.topologies.filter { $0.status == .active }.map(\.id))
        return firing.values.filter { current in
            current.event.event == type && !observed.contains(current.event.key)
                && current.event.topologyId.map(active.contains) == true
        }.map { Observation(key: $0.event.key, fires: false, holds: true, event: $0.event) }
    }

    private func stuckPartitions(_ snapshot: EventSnapshot) -> [Observation] {
        let now = snapshot.time
        var result: [Observation] = []
        for (topology, components) in components(snapshot) {
            for component in components {
                for p in component.partitions {
                    let key =
                        "\(EventType.partitionStuck.rawValue)/\(topology.id)/\(component.id)/\(p.topic)/\(p.partition)"
                    let stuck = p.lag > 0 && p.committedAgeSeconds >= thresholds.partitionStuckSeconds
                    let task = p.task.map { " task \($0)," } ?? ""
                    let committed = p.committed.map { " at offset \($0)" } ?? ""
                    let because = p.notCommittingBecause.map { ": \($0)" } ?? ""
                    result.append(
                        Observation(
                            key: key,
                            fires: stuck,
                            holds: stuck,
                            event: NimbusEvent(
                                event: .partitionStuck,
                                key: key,
                                topology: topology.name,
                                topologyId: topology.id,
                                component: component.id,
                                topic: p.topic,
                                partition: p.partition,
                                since: now - p.committedAgeSeconds,
                                time: now,
                                message:
                                    "partition \(p.topic)/\(p.partition) of \(topology.name) (spout \(component.id),\(task) "
                                    + "lag \(p.lag)) has not committed for \(Self.duration(p.committedAgeSeconds))"
                                    + "\(committed)\(because)",
                                url: url(topology.name)
                            ),
                            cleared: p.lag == 0
                                ? "partition \(p.topic)/\(p.partition) of \(topology.name) caught up (lag 0)"
                                : "partition \(p.topic)/\(p.partition) of \(topology.name) commits again"
                        )
                    )
                }
            }
        }
        return result + unknownStillHold(.partitionStuck, snapshot, observed: Set(result.map(\.key)))
    }

    private mutating func backpressure(_ snapshot: EventSnapshot) -> [Observation] {
        let now = snapshot.time
        let gap = thresholds.backpressureGapSeconds
        var result: [Observation] = []
        var watched = Set<String>()
        for (topology, components) in components(snapshot) {
            for component in components {
                let key = "\(EventType.backpressure.rawValue)/\(topology.id)/\(component.id)"
                watched.insert(key)
                var episode = overload[key]
                if component.overloaded {
                    if let e = episode, now - e.last <= gap {
                        episode?.last = now
                    } else {
                        episode = Episode(start: now, last: now)
                    }
                }
                guard let e = episode else { continue }
                let holds = now - e.last <= gap
                overload[key] = holds ? e : nil
                result.append(
                    Observation(
                        key: key,
                        fires: holds && now - e.start >= thresholds.backpressureSeconds,
                        holds: holds,
                        event: NimbusEvent(
                            event: .backpressure,
                            key: key,
                            topology: topology.name,
                            topologyId: topology.id,
                            component: component.id,
                            since: e.start,
                            time: now,
                            message:
                                "component \(component.id) of \(topology.name) has been overloaded (inbound queue above "
                                + "its high watermark, its producers paused) for \(Self.duration(now - e.start))",
                            url: url(topology.name)
                        ),
                        cleared: "component \(component.id) of \(topology.name) has not been overloaded for "
                            + Self.seconds(gap)
                    )
                )
            }
        }
        // Components of topologies that are gone or inactive start afresh.
        let active = Set(snapshot.topologies.filter { $0.status == .active }.map(\.id))
        overload = overload.filter { entry in
            watched.contains(entry.key)
                || active.contains { entry.key.hasPrefix("\(EventType.backpressure.rawValue)/\($0)/") }
        }
        return result + unknownStillHold(.backpressure, snapshot, observed: Set(result.map(\.key)))
    }

    private mutating func failingBatches(_ snapshot: EventSnapshot) -> [Observation] {
        let now = snapshot.time
        let window = thresholds.batchWindowSeconds
        var result: [Observation] = []
        var watched = Set<String>()
        for (topology, components) in components(snapshot) {
            for component in components {
                guard let status = component.transactional else { continue }
                let key = "\(EventType.batchFailing.rawValue)/\(topology.id)/\(component.id)"
                watched.insert(key)
                var history = replays[key]
                let (count, since) = Self.growth(
                    &history,
                    epoch: 0,
                    value: status.replays,
                    now: now,
                    window: window
                )
                replays[key] = history
                let failure = status.lastFailure.map { "; last failure: \($0)" } ?? ""
                let txid = status.committedTxid.map { "; last committed txid \($0)" } ?? ""
                result.append(
                    Observation(
                        key: key,
                        fires: count >= thresholds.batchReplays,
                        holds: count > 0,
                        event: NimbusEvent(
                            event: .batchFailing,
                            key: key,
                            topology: topology.name,
                            topologyId: topology.id,
                            component: component.id,
                            since: since,
                            time: now,
                            message:
                                "transactional batches of \(topology.name) were replayed \(count) time\(count == 1 ? "" : "s") "
                                + "in the last \(Self.seconds(window)) (\(component.id)\(txid)\(failure))",
                            url: url(topology.name)
                        ),
                        cleared:
                            "transactional batches of \(topology.name) have not been replayed for \(Self.seconds(window))"
                    )
                )
            }
        }
        // A coordinator that is not reported keeps its history (its worker may be restarting).
        let active = Set(snapshot.topologies.filter { $0.status == .active }.map(\.id))
        replays = replays.filter { entry in
            watched.contains(entry.key)
                || active.contains { entry.key.hasPrefix("\(EventType.batchFailing.rawValue)/\($0)/") }
        }
        return result + unknownStillHold(.batchFailing, snapshot, observed: Set(result.map(\.key)))
    }
}
