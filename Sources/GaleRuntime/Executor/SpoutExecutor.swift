import Dispatch
package import Gale
import Synchronization

/// Runs one spout task: calls `nextTuple` in batches while allowed, tracks pending trees,
/// delivers `ack`/`fail`, and times trees out.
///
/// Threading: the spout and all state here are touched only on the executor's queue, except
/// ``throttle`` (atomic, changed by backpressure) and ``deliver(_:to:)``.
package final class SpoutExecutor: Executor, SpoutOutputCollector, @unchecked Sendable {
    /// `nextTuple` calls per drain, at most.
    static let batchSize = 1024
    /// Longest pause after a `nextTuple` that emitted nothing.
    static let maxIdleNanos: UInt64 = 1_000_000

    struct PendingTree {
        var messageId: any Sendable
        var emittedAt: UInt64
        /// The index of the tree's stream in ``RoutingTable/ordered``.
        var stream: Int
    }

    let spout: any Spout

    override var statusReporter: (any StatusReporting)? { spout as? any StatusReporting }
    let routes: RoutingTable
    override var routeTable: RoutingTable? { routes }
    let maxPending: Int
    /// Tuples one drain may transfer: the room above the high watermark of a queue, shared by
    /// every spout task, so that bursts emitted before a pause still fit in the queue.
    let transferBudget: Int
    let timeoutNanos: UInt64
    let tracking: Bool
    let debug: Bool
    var pending: [TreeId: PendingTree] = [:]
    /// Trees acked and failed per stream (indexed like ``RoutingTable/ordered``), owned by this
    /// executor: written per tree without the uniqueness check of an array.
    let streamAcked: UnsafeMutableBufferPointer<UInt64>
    let streamFailed: UnsafeMutableBufferPointer<UInt64>
    var immediateAcks: [any Sendable] = []
    var active = false
    /// Drains in a row that ended with a `nextTuple` emitting nothing (see ``nextDrain(emitted:ranDry:dryRuns:)``).
    var dryRuns = 0
    /// When the current drain began (0 outside drains): the emit time of the trees it starts (a
    /// drain lasts about a millisecond at most), read once per drain rather than once per tuple.
    var drainStart: UInt64 = 0
    let pendingGauge = Atomic<Int>(0)

    /// Keeps this object's hot fields off the cache lines of whatever is allocated after it.
    private let tailPadding = CacheLinePadding()

    init(taskId: Int, spec: ComponentSpec, spout: any Spout, routes: RoutingTable, environment: ExecutorEnvironment) {
        self.spout = spout
        self.routes = routes
        self.streamAcked = .allocate(capacity: routes.ordered.count)
        self.streamFailed = .allocate(capacity: routes.ordered.count)
        streamAcked.initialize(repeating: 0)
        streamFailed.initialize(repeating: 0)
        let config = environment.config
        self.maxPending = spec.maxSpoutPending ?? config.maxSpoutPending ?? Int.max
        self.timeoutNanos = nanoseconds(fromSeconds: config.messageTimeoutSeconds)
        let spoutTasks = environment.plan.topology.spouts.reduce(0) { $0 + $1.tasks }
        let room = config.executorQueueCapacity - config.executorQueueCapacity / 2
        self.transferBudget = max(1, min(Outbox.flushThreshold, room / max(1, spoutTasks)))
        self.tracking = config.ackers > 0
        self.debug = config.debug
        super.init(taskId: taskId, componentId: spec.id, environment: environment, watchesWatermarks: false)
    }

    override package var pendingCount: Int { pending.count }

    deinit {
        streamAcked.deallocate()
        streamFailed.deallocate()
    }

    override func streamRows() -> [StreamStatsRow] {
        routes.outputRows(of: componentId, acked: Array(streamAcked), failed: Array(streamFailed))
    }

    /// `true` when `nextTuple` may be called now.
    @inline(__always)
    var mayEmit: Bool {
        active && !stopped && throttle.load(ordering: .relaxed) == 0 && pending.count < maxPending
    }

    // MARK: - Drain

    override func run() {
        guard !stopped else { return }
        let start = monotonicNanos()
        drainStart = start
        refreshSampling()
        processInbox(now: start)
        var emittedAny = false
        var ranDry = false
        if mayEmit {
            // Held once per drain: calling through the property would retain the spout per call.
            let spout = self.spout
            var calls = 0
            let budgetEnd = local.counters.transferred &+ UInt64(transferBudget)
            while calls < Self.batchSize && local.counters.transferred < budgetEnd && mayEmit {
                let before = local.counters.transferred &+ local.counters.emitted
                spout.nextTuple()
                if !immediateAcks.isEmpty { deliverImmediateAcks() }
                calls += 1
                if local.counters.transferred &+ local.counters.emitted == before {
                    ranDry = true
                    break
                }
                emittedAny = true
            }
        }
        outbox.flush()
        pendingGauge.store(pending.count, ordering: .relaxed)
        let next = Self.nextDrain(emitted: emittedAny, ranDry: ranDry, dryRuns: dryRuns)
        dryRuns = next.dryRuns
        let end = monotonicNanos()
        drainStart = 0
        local.busyNanos &+= end &- start
        finishRun(
            now: end,
            wantsMore: { next.now && mayEmit },
            wantsLater: { mayEmit },
            laterNanos: next.pause
        )
    }

    /// When a spout's next drain runs, after one that emitted (`emitted`) and ended with a
    /// `nextTuple` that emitted nothing (`ranDry`) or at its limits (calls, transfer budget,
    /// pending trees: `ranDry` false), with `dryRuns` dry drains in a row before it.
    ///
    /// A drain that stopped at its limits having emitted runs again at once. One that ran dry
    /// waits, even when it emitted something first: 32 µs after the first dry drain, doubling up
    /// to ``maxIdleNanos`` (1 ms, Storm's spout wait) from the sixth in a row. So a source that
    /// trickles (a rate-limited spout, a quiet Kafka partition) is asked about a thousand times a
    /// second for what arrived meanwhile, rather than woken by a timer every few tuples: each
    /// wake-up is a timer, a thread switch and a flush that wakes every downstream task, and at
    /// half of the word count's peak rate those took about a third of the process's CPU. A push into the
    /// spout's inbox (an ack, a failure) still runs a drain at once.
    /// - Returns: whether to run again now, the pause otherwise, and the new dry-run count.
    static func nextDrain(emitted: Bool, ranDry: Bool, dryRuns: Int) -> (now: Bool, pause: UInt64, dryRuns: Int) {
        let dry = ranDry ? min(dryRuns + 1, 16) : 0
        return (emitted && !ranDry, min(maxIdleNanos, UInt64(16_000) << UInt64(min(dry, 10))), dry)
    }

    private func processInbox(now: UInt64) {
        _ = inbox.take(into: &taken, limit: Self.drainLimit)
        for batch in taken {
            for envelope in batch {
                switch envelope {
                case .treeCompleted(let root):
                    guard let tree = pending.removeValue(forKey: TreeId(root)) else { continue }
                    local.counters.acked &+= 1
                    streamAcked[tree.stream] &+= 1
                    local.counters.completeLatency.record(now &- tree.emittedAt)
                    spout.ack(tree.messageId)
                case .treeFailed(let root):
                    guard let tree = pending.removeValue(forKey: TreeId(root)) else { continue }
                    local.counters.failed &+= 1
                    streamFailed[tree.stream] &+= 1
                    spout.fail(tree.messageId)
                case .sweep:
                    expire(now: now)
                case .tuple, .ackInit, .ack, .fail:
                    continue
                }
            }
        }
        taken.removeAll(keepingCapacity: true)
    }

    private func expire(now: UInt64) {
        guard !pending.isEmpty, now > timeoutNanos else { return }
        let deadline = now - timeoutNanos
        var expired: [TreeId] = []
        for (root, tree) in pending where tree.emittedAt < deadline {
            expired.append(root)
        }
        for root in expired {
            guard let tree = pending.removeValue(forKey: root) else { continue }
            local.counters.failed &+= 1
            streamFailed[tree.stream] &+= 1
            spout.fail(tree.messageId)
        }
    }

    private func deliverImmediateAcks() {
        while !immediateAcks.isEmpty {
            let ids = immediateAcks
            immediateAcks.removeAll()
            for id in ids {
                local.counters.acked &+= 1
                spout.ack(id)
            }
        }
    }

    // MARK: - SpoutOutputCollector

    package func emit(_ values: consuming [GaleValue], stream: String, messageId: (any Sendable)?) {
        emit(stored: TupleValues(values), stream: stream, messageId: messageId)
    }

    package func emit(value: consuming GaleValue, stream: String, messageId: (any Sendable)?) {
        emit(stored: .one(value), stream: stream, messageId: messageId)
    }

    @inline(__always)
    private func emit(stored values: consuming TupleValues, stream: String, messageId: (any Sendable)?) {
        guard let routeRef = checkedRouteRef(routes, stream: stream, count: values.count, direct: false) else {
            return
        }
        local.counters.emitted &+= 1
        if sampleSchedule.countdown != 0 { sample(stream: stream, values: values) }
        let tracked = messageId != nil && tracking
        // The common case, one subscriber whose grouping picks one task: the route and subscriber
        // are used through unretained references (the routing table keeps them alive) and
        // `values` moves into the one tuple sent (no copy, no reference counting).
        let task = routeRef._withUnsafeGuaranteedRef { route -> Int in
            route.emitted &+= 1
            guard !debug, let single = route.singleRef else { return -1 }
            return single._withUnsafeGuaranteedRef { $0.pickOne(values) }
        }
        guard task >= 0 else {
            let route = routeRef.takeUnretainedValue()
            if tracked {
                emitTracked(route, values: values, messageId: messageId, directTask: nil)
            } else {
                emitUntracked(route, values: values, stream: stream)
                if let messageId { completeAtOnce(messageId, route: route) }
            }
            return
        }
        local.counters.transferred &+= 1
        let source = routeRef._withUnsafeGuaranteedRef { $0.sourceRef }
        if tracked {
            let root = rng.nextId()
            let edge = rng.nextId()
            outbox.send(
                .tuple(Tuple(storage: values, sourceRef: source, sourceTask: taskId, root: root, edge: edge)),
                to: task
            )
            routeRef._withUnsafeGuaranteedRef { startTree(root, xor: edge, route: $0, messageId: messageId) }
        } else {
            outbox.send(.tuple(Tuple(storage: values, sourceRef: source, sourceTask: taskId)), to: task)
            if let messageId { completeAtOnce(messageId, route: routeRef.takeUnretainedValue()) }
        }
    }

    /// An untracked emit to every target of every subscriber.
    @inline(never)
    private func emitUntracked(_ route: StreamRoute, values: TupleValues, stream: String) {
        let source = route.sourceRef
        var sent = 0
        for target in route.targets {
            target.forEachTarget(sourceTask: taskId, values: values) { task in
                outbox.send(.tuple(Tuple(storage: values, sourceRef: source, sourceTask: taskId)), to: task)
                sent += 1
            }
        }
        local.counters.transferred &+= UInt64(sent)
        if debug { logEmit(stream: stream, values: values, tasks: sent) }
    }

    /// A tracked emit's tree without a tracked tuple (ackers off, or no subscriber): the spout
    /// gets its ack at once (as in Storm).
    private func completeAtOnce(_ messageId: any Sendable, route: StreamRoute) {
        immediateAcks.append(messageId)
        streamAcked[route.index] &+= 1
    }

    /// Starts tracking the tree `root` whose tuples' edges XOR to `xor`.
    @inline(__always)
    private func startTree(_ root: UInt64, xor: UInt64, route: StreamRoute, messageId: (any Sendable)?) {
        guard let messageId else { return }
        pending[TreeId(root)] = PendingTree(
            messageId: messageId,
            emittedAt: drainStart != 0 ? drainStart : monotonicNanos(),
            stream: route.index
        )
        outbox.send(
            .ackInit(root: root, xor: xor, spoutTask: Int32(truncatingIfNeeded: taskId)),
            to: ackerTask(for: root)
        )
    }

    package func emitDirect(task: Int, _ values: consuming [GaleValue], stream: String, messageId: (any Sendable)?) {
        let values = TupleValues(values)
        guard let route = checkedRoute(routes, stream: stream, count: values.count, direct: true),
            checkDirectTarget(route, task: task)
        else { return }
        local.counters.emitted &+= 1
        route.emitted &+= 1
        if sampleSchedule.countdown != 0 { sample(stream: stream, values: values) }
        if messageId == nil || !tracking {
            if debug { logEmit(stream: stream, values: values, tasks: 1) }
            outbox.send(.tuple(Tuple(storage: values, sourceRef: route.sourceRef, sourceTask: taskId)), to: task)
            local.counters.transferred &+= 1
            if let messageId { completeAtOnce(messageId, route: route) }
            return
        }
        emitTracked(route, values: values, messageId: messageId, directTask: task)
    }

    @inline(never)
    private func emitTracked(_ route: StreamRoute, values: TupleValues, messageId: (any Sendable)?, directTask: Int?) {
        let root = rng.nextId()
        var xor: UInt64 = 0
        var sent = 0
        let source = route.sourceRef
        func send(_ task: Int) {
            let edge = rng.nextId()
            xor ^= edge
            outbox.send(
                .tuple(Tuple(storage: values, sourceRef: source, sourceTask: taskId, root: root, edge: edge)),
                to: task
            )
            sent += 1
        }
        if let directTask {
            send(directTask)
        } else {
            for target in route.targets {
                target.forEachTarget(sourceTask: taskId, values: values) { send($0) }
            }
        }
        local.counters.transferred &+= UInt64(sent)
        if debug { logEmit(stream: route.source.streamId, values: values, tasks: sent) }
        guard sent > 0 else {
            // No subscriber: the tree is complete at once (as in Storm).
            if let messageId { completeAtOnce(messageId, route: route) }
            return
        }
        startTree(root, xor: xor, route: route, messageId: messageId)
    }

    package func reportError(_ error: any Error) {
        report(String(describing: error))
    }

    // MARK: - Lifecycle

    /// Opens the spout; called on the queue before activation.
    func open(context: TopologyContext) throws {
        try spout.open(context: context, collector: self)
    }

    /// Activates or deactivates the spout on its queue.
    func setActive(_ value: Bool) {
        queue.async {
            guard !self.stopped, self.active != value else { return }
            self.active = value
            if value { self.spout.activate() } else { self.spout.deactivate() }
            self.wake()
        }
    }

    override func stop() {
        onQueue {
            guard !stopped else { return }
            if active {
                active = false
                spout.deactivate()
            }
            stopped = true
            stoppedFlag.store(true, ordering: .relaxed)
            spout.close()
            publish(now: monotonicNanos())
        }
    }
}
