import Dispatch
public import Gale
public import Logging
import Synchronization

/// The executors of one running topology in this process, their timer and their statistics.
///
/// Local mode runs every task here; a ``ClusterWorker`` runs the tasks assigned to it and plugs
/// in remote sinks (its transport's peer links) for the others.
public final class TopologyRuntime: Sendable {
    /// The topology's plan.
    public let plan: TopologyPlan
    let environment: ExecutorEnvironment
    let executors: [Executor]
    let spouts: [SpoutExecutor]
    let bolts: [BoltExecutor]
    let ackers: [AckerExecutor]
    let errorLogs: [String: ErrorLog]
    let startedAt: UInt64
    private let timer = TimerBox()
    private let stopped = Atomic<Bool>(false)

    /// Creates the executors of `tasks` (all tasks when `nil`), opens and prepares them, and
    /// starts the spouts.
    /// - Throws: ``GaleRuntimeError/componentFailedToStart(component:task:error:)``.
    public convenience init(topology: Topology, tasks: Set<Int>? = nil, logger: Logger, activate: Bool = true) throws {
        try self.init(topology: topology, tasks: tasks, logger: logger, activate: activate, remote: nil)
    }

    /// Creates the executors of `tasks` (all tasks when `nil`) and plugs in `remote`'s sinks and
    /// backpressure peers for the tasks that run in other workers.
    /// - Throws: ``GaleRuntimeError/componentFailedToStart(component:task:error:)``.
    package init(
        topology: Topology,
        tasks: Set<Int>?,
        logger: Logger,
        activate: Bool,
        remote: RemoteTasks?
    ) throws {
        _ = AllocatorTuning.applied
        let plan = TopologyPlan(topology: topology)
        self.plan = plan
        var errorLogs: [String: ErrorLog] = [:]
        for spec in topology.components { errorLogs[spec.id] = ErrorLog() }
        errorLogs[Topology.ackerComponentId] = ErrorLog()
        self.errorLogs = errorLogs
        let pool = DispatchQueue(label: "gale.\(topology.name).pool", attributes: .concurrent)
        let sinks = SinkTable()
        let backpressure = Backpressure()
        var logger = logger
        logger[metadataKey: "topology"] = "\(topology.name)"
        if topology.config.debug { logger.logLevel = min(logger.logLevel, .debug) }
        let environment = ExecutorEnvironment(
            topologyName: topology.name,
            config: topology.config,
            plan: plan,
            sinks: sinks,
            backpressure: backpressure,
            logger: logger,
            pool: pool,
            errorLogs: errorLogs,
            sampling: TupleSampling(components: topology.components.map(\.id))
        )
        self.environment = environment

        var spouts: [SpoutExecutor] = []
        var bolts: [BoltExecutor] = []
        var ackers: [AckerExecutor] = []
        var table = [(any EnvelopeSink)?](repeating: nil, count: plan.maxTaskId + 1)
        for task in 1...max(1, plan.maxTaskId) where task <= plan.maxTaskId && (tasks?.contains(task) ?? true) {
            let componentId = plan.componentByTask[task]
            if componentId == Topology.ackerComponentId {
                let acker = AckerExecutor(taskId: task, environment: environment)
                ackers.append(acker)
                table[task] = acker
                continue
            }
            guard let spec = topology.component(componentId) else { continue }
            let routes = plan.routingTable(task: task, localTasks: tasks)
            switch spec.factory {
            case .spout(let make):
                let spout = SpoutExecutor(
                    taskId: task,
                    spec: spec,
                    spout: make(),
                    routes: routes,
                    environment: environment
                )
                spouts.append(spout)
                table[task] = spout
            case .bolt, .basicBolt:
                let bolt = BoltExecutor(taskId: task, spec: spec, routes: routes, environment: environment)
                bolts.append(bolt)
                table[task] = bolt
            }
        }
        if let remote {
            for (task, sink) in remote.sinks where task >= 1 && task < table.count && table[task] == nil {
                table[task] = sink
            }
        }
        sinks.install(table)
        var upstream = [[Executor]](repeating: [], count: plan.maxTaskId + 1)
        let executorsByComponent = Dictionary(grouping: ackers + bolts + spouts as [Executor], by: \.componentId)
        for task in 1..<max(1, plan.maxTaskId + 1) {
            upstream[task] = plan.componentsToPause(whenOverloaded: plan.componentByTask[task]).flatMap {
                executorsByComponent[$0] ?? []
            }
        }
        var peers = [[any BackpressurePeer]](repeating: [], count: plan.maxTaskId + 1)
        for (task, taskPeers) in remote?.backpressurePeers ?? [:] where task >= 1 && task < peers.count {
            peers[task] = taskPeers
        }
        backpressure.install(upstream, peers: peers)
        self.spouts = spouts
        self.bolts = bolts
        self.ackers = ackers
        self.executors = ackers + bolts + spouts
        self.startedAt = monotonicNanos()

        // Prepare bolts, then open spouts, each on its own queue.
        do {
            for bolt in bolts {
                let context = plan.context(task: bolt.taskId)
                try wrapStart(bolt) { try bolt.onQueue { try bolt.prepare(context: context) } }
            }
            for spout in spouts {
                let context = plan.context(task: spout.taskId)
                try wrapStart(spout) { try spout.onQueue { try spout.open(context: context) } }
            }
        } catch {
            for executor in executors { executor.stop() }
            throw error
        }
        startTimer()
        if activate { setActive(true) }
    }

    private func wrapStart(_ executor: Executor, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            throw GaleRuntimeError.componentFailedToStart(
                component: executor.componentId,
                task: executor.taskId,
                error: String(describing: error)
            )
        }
    }

    // MARK: - Timer: ticks and timeouts

    private func startTimer() {
        let config = plan.topology.config
        let sweepInterval = nanoseconds(fromSeconds: min(1.0, max(0.01, config.messageTimeoutSeconds / 10)))
        var ticks: [(every: UInt64, next: UInt64, targets: [BoltExecutor])] = []
        let now = monotonicNanos()
        for spec in plan.topology.components {
            guard let seconds = spec.tickFrequencySeconds else { continue }
            let targets = bolts.filter { $0.componentId == spec.id }
            guard !targets.isEmpty else { continue }
            let every = nanoseconds(fromSeconds: seconds)
            ticks.append((every, now + every, targets))
        }
        let sweepTargets: [Executor] = spouts + ackers
        var nextSweep = now + sweepInterval
        let tickTuple = Tuple(values: [], source: TupleSource.tick, sourceTask: -1)
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "gale.\(plan.topology.name).timer"))
        timer.schedule(deadline: .now() + .milliseconds(10), repeating: .milliseconds(10), leeway: .milliseconds(2))
        timer.setEventHandler {
            let now = monotonicNanos()
            for i in ticks.indices where now >= ticks[i].next {
                for bolt in ticks[i].targets {
                    bolt.deliver([.tuple(tickTuple)], to: bolt.taskId)
                }
                ticks[i].next = max(ticks[i].next + ticks[i].every, now)
            }
            if now >= nextSweep {
                nextSweep = now + sweepInterval
                for executor in sweepTargets { executor.deliver([.sweep], to: executor.taskId) }
            }
        }
        self.timer.set(timer)
        timer.resume()
    }

    // MARK: - Control

    /// Activates (`true`) or deactivates the spouts.
    public func setActive(_ active: Bool) {
        for spout in spouts { spout.setActive(active) }
    }

    /// Samples `percents[c]` % of the tuples of each component `c` (those a spout emits, those a
    /// bolt executes) from its tasks' next drain on, the other components' none; the samples
    /// wait in a bounded buffer (the newest kept) until ``takeSamples()``.
    public func setSampling(_ percents: [String: Double]) {
        environment.sampling.set(percents)
    }

    /// The tuples sampled since the last call, oldest first.
    public func takeSamples() -> [TupleSample] {
        environment.sampling.take()
    }

    /// Tuples sampled since the runtime started (taken or not).
    package var samplesRecorded: Int { environment.sampling.recorded }

    /// The component whose task the calling thread runs (on its task's queue), or `nil`.
    public static var currentComponent: String? {
        DispatchQueue.getSpecific(key: Executor.componentKey)
    }

    /// `true` when no envelope is queued or being processed and no spout has pending trees.
    public var isDrained: Bool {
        for executor in executors where !(executor is SpoutExecutor) {
            if !executor.inbox.isIdle { return false }
        }
        for spout in spouts where spout.pendingGauge.load(ordering: .relaxed) > 0 || spout.inbox.count > 0 {
            return false
        }
        return true
    }

    /// Deactivates the spouts, waits up to `drainTimeout` for queued tuples and pending trees to
    /// finish, then closes every component. Safe to call twice.
    public func shutdown(drainTimeout: Duration = .seconds(5)) async {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        setActive(false)
        let clock = ContinuousClock()
        let deadline = clock.now + drainTimeout
        while clock.now < deadline && !isDrained {
            try? await Task.sleep(for: .milliseconds(5))
        }
        timer.cancel()
        // `stop` waits on each executor's queue (which may be busy with a slow bolt): do it on a
        // Dispatch thread, not on a thread of the cooperative pool.
        let (spouts, bolts, ackers) = (self.spouts, self.bolts, self.ackers)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                for spout in spouts { spout.stop() }
                for bolt in bolts { bolt.stop() }
                for acker in ackers { acker.stop() }
                done.resume()
            }
        }
    }

    // MARK: - Statistics

    /// Statistics of every component, summed over its tasks in this process.
    public func stats() -> TopologyStats {
        let snapshots = executors.map { ($0, $0.stats.snapshot) }
        var components: [ComponentStats] = []
        var tasks: [TaskStatsRow] = []
        var edges: [EdgeCount] = []
        var streams: [StreamStatsRow] = []
        let ids = plan.topology.components.map(\.id) + (ackers.isEmpty ? [] : [Topology.ackerComponentId])
        for id in ids {
            let mine = snapshots.filter { $0.0.componentId == id }
            var total = TaskCounters()
            var c = ComponentStats(
                id: id,
                kind: id == Topology.ackerComponentId
                    ? "acker" : (plan.topology.component(id)?.kind.rawValue ?? "bolt"),
                tasks: mine.count,
                queueCapacity: plan.topology.config.executorQueueCapacity
            )
            var overloaded = false
            var edgeTotals: [EdgeCount] = []
            var streamTotals: [StreamStatsRow] = []
            for (executor, s) in mine {
                if let lines = executor.stats.details {
                    c.details = (c.details ?? []) + lines.map { "task \(executor.taskId): \($0)" }
                }
                if let table = executor.stats.table {
                    var tables = c.tables ?? []
                    if let i = tables.firstIndex(where: { $0.name == table.name }) {
                        tables[i] = tables[i].appending(table)
                    } else {
                        tables.append(table)
                    }
                    c.tables = tables
                }
                for edge in executor.stats.edges {
                    if let i = edgeTotals.firstIndex(where: { $0.stream == edge.stream && $0.to == edge.to }) {
                        edgeTotals[i].transferred &+= edge.transferred
                    } else {
                        edgeTotals.append(edge)
                    }
                }
                for row in executor.stats.streams {
                    if let i = streamTotals.firstIndex(where: { $0.stream == row.stream && $0.from == row.from }) {
                        streamTotals[i].add(row)
                    } else {
                        streamTotals.append(row)
                    }
                }
                total.add(s.counters)
                c.pending += s.pending
                c.capacity = max(c.capacity, s.capacity)
                let queued = executor.inbox.count
                let taskOverloaded = executor.inbox.isOverloaded
                overloaded = overloaded || taskOverloaded
                c.queued += queued
                c.maxQueueLength = max(c.maxQueueLength, executor.inbox.maxCount)
                var row = TaskStatsRow(task: executor.taskId, component: id)
                row.emitted = s.counters.emitted
                row.transferred = s.counters.transferred
                row.executed = s.counters.executed
                row.acked = s.counters.acked
                row.failed = s.counters.failed
                row.completeLatencyMs = s.counters.completeLatency.meanMillis
                row.executeLatencyMs = s.counters.executeLatency.meanMillis
                row.capacity = s.capacity
                row.pending = s.pending
                row.queued = queued
                row.overloaded = taskOverloaded
                tasks.append(row)
            }
            c.overloaded = overloaded
            edges += edgeTotals
            streams += streamTotals
            c.emitted = total.emitted
            c.transferred = total.transferred
            c.executed = total.executed
            c.acked = total.acked
            c.failed = total.failed
            c.executeLatencyMs = total.executeLatency.meanMillis
            c.executeLatencyP99Ms = total.executeLatency.quantileMillis(0.99)
            c.completeLatencyMs = total.completeLatency.meanMillis
            c.completeLatencyP99Ms = total.completeLatency.quantileMillis(0.99)
            if let log = errorLogs[id]?.contents {
                c.recentErrors = log.errors
                c.errorCount = log.total
            }
            components.append(c)
        }
        return TopologyStats(
            name: plan.topology.name,
            uptimeSeconds: Double(monotonicNanos() - startedAt) / 1e9,
            components: components,
            tasks: tasks.sorted { $0.task < $1.task },
            edges: edges,
            streams: streams
        )
    }

    /// The largest inbound queue length any bolt or acker task has reached.
    public var maxQueueLength: Int {
        executors.filter { !($0 is SpoutExecutor) }.map(\.inbox.maxCount).max() ?? 0
    }
}

/// How a cluster worker plugs the tasks of other workers into a ``TopologyRuntime``.
package struct RemoteTasks: Sendable {
    /// The sink of every task that runs in another worker, by task id.
    package var sinks: [Int: any EnvelopeSink]
    /// Per task of this worker, the peers that run tasks to pause while its queue is overloaded.
    package var backpressurePeers: [Int: [any BackpressurePeer]]

    package init(sinks: [Int: any EnvelopeSink], backpressurePeers: [Int: [any BackpressurePeer]]) {
        self.sinks = sinks
        self.backpressurePeers = backpressurePeers
    }
}

/// The runtime's timer source, guarded by a lock.
private final class TimerBox: @unchecked Sendable {
    private let lock = Mutex(())
    private var timer: (any DispatchSourceTimer)?

    func set(_ timer: any DispatchSourceTimer) {
        lock.withLock { _ in self.timer = timer }
    }

    func cancel() {
        lock.withLock { _ in
            timer?.cancel()
            timer = nil
        }
    }
}
