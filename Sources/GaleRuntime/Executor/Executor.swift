package import Dispatch
package import Gale
package import Logging
package import Synchronization

/// What every executor shares with its running topology.
package final class ExecutorEnvironment: Sendable {
    package let topologyName: String
    package let config: TopologyConfig
    package let plan: TopologyPlan
    package let sinks: SinkTable
    package let backpressure: Backpressure
    package let logger: Logger
    package let pool: DispatchQueue
    package let errorLogs: [String: ErrorLog]
    /// Event sampling: each component's rate and the samples taken.
    package let sampling: TupleSampling

    package init(
        topologyName: String,
        config: TopologyConfig,
        plan: TopologyPlan,
        sinks: SinkTable,
        backpressure: Backpressure,
        logger: Logger,
        pool: DispatchQueue,
        errorLogs: [String: ErrorLog],
        sampling: TupleSampling = TupleSampling()
    ) {
        self.topologyName = topologyName
        self.config = config
        self.plan = plan
        self.sinks = sinks
        self.backpressure = backpressure
        self.logger = logger
        self.pool = pool
        self.errorLogs = errorLogs
        self.sampling = sampling
    }
}

/// Runs one task: a serial queue targeting the shared pool, a bounded inbox drained in batches,
/// and an outbox that hands batches to other tasks.
///
/// Threading: `deliver` runs on any thread; everything else runs on ``queue``.
package class Executor: EnvelopeSink, @unchecked Sendable {
    /// Envelopes taken from the inbox per drain.
    static let drainLimit = 4096
    /// Longest a drain keeps taking queued input before it yields its thread.
    static let timeSliceNanos: UInt64 = 1_000_000
    /// Minimum time between two publications of statistics while busy.
    static let publishIntervalNanos: UInt64 = 20_000_000

    /// Keeps this object's hot fields off the cache lines of whatever was allocated before it.
    private let headPadding: CacheLinePadding = CacheLinePadding()
    package let taskId: Int
    package let componentId: String
    package let queue: DispatchQueue
    package let inbox: Inbox
    package let stats: TaskStats
    package let environment: ExecutorEnvironment
    var outbox: Outbox
    /// The batches this task sent, given back by the tasks that executed them (``RecycleBin``).
    package let recycleBin: RecycleBin
    var local = LocalTaskStats()
    var taken: [ContiguousArray<Envelope>] = []
    var lastPublish: UInt64
    var rng = SplitMix64()
    let ackerTasks: [Int]
    let stoppedFlag = Atomic<Bool>(false)
    /// Number of overloaded queues this task feeds (see ``Backpressure``); it takes no new
    /// input (a spout: calls no `nextTuple`) while this is above zero.
    package let throttle = Atomic<Int>(0)
    /// Times backpressure paused this task (``throttle`` went from zero to one).
    package let pauses = Atomic<UInt64>(0)
    /// Times this task's inbox crossed its high watermark.
    package let overloads = Atomic<UInt64>(0)
    /// Set on the queue once the component's close/cleanup ran.
    var stopped = false
    /// The component's event-sampling rate (``TupleSampling``), read once per drain.
    let samplingRate: SamplingRate
    /// Which tuples to sample: checked per tuple (`countdown != 0`), refreshed per drain.
    var sampleSchedule = SampleSchedule()

    /// What each executor's queue holds (`DispatchQueue.setSpecific`): its component's id, so
    /// that code can tell which component's task the current thread runs.
    static let componentKey = DispatchSpecificKey<String>()

    init(taskId: Int, componentId: String, environment: ExecutorEnvironment, watchesWatermarks: Bool) {
        self.taskId = taskId
        self.componentId = componentId
        self.environment = environment
        self.queue = DispatchQueue(
            label: "gale.\(environment.topologyName).\(componentId).\(taskId)",
            target: environment.pool
        )
        self.inbox = Inbox(capacity: environment.config.executorQueueCapacity, watchesWatermarks: watchesWatermarks)
        let now = monotonicNanos()
        self.stats = TaskStats(now: now)
        self.lastPublish = now
        let recycleBin = RecycleBin()
        self.recycleBin = recycleBin
        self.outbox = Outbox(table: environment.sinks, maxTaskId: environment.plan.maxTaskId, recycled: recycleBin)
        self.ackerTasks = environment.config.ackers > 0 ? environment.plan.ackerTasks : []
        self.samplingRate = environment.sampling.rate(of: componentId)
        queue.setSpecific(key: Self.componentKey, value: componentId)
    }

    // MARK: - Inbound

    package func deliver(_ batch: ContiguousArray<Envelope>, to task: Int) {
        guard !stoppedFlag.load(ordering: .relaxed) else { return }
        let result = inbox.push(batch)
        if result.becameOverloaded {
            overloads.wrappingAdd(1, ordering: .relaxed)
            environment.backpressure.overloaded(task: taskId)
        }
        if result.schedule { queue.async { self.run() } }
    }

    /// `true` while a queue this task feeds is overloaded.
    @inline(__always)
    var isThrottled: Bool { throttle.load(ordering: .relaxed) > 0 }

    /// Schedules a drain unless one is queued or running.
    package func wake() {
        if inbox.claimSchedule() { queue.async { self.run() } }
    }

    /// One drain; subclasses override.
    func run() {}

    // MARK: - Event sampling

    /// Takes the component's sampling rate; once per drain.
    @inline(__always)
    func refreshSampling() {
        sampleSchedule.refresh(samplingRate.milliPercent.load(ordering: .relaxed))
    }

    /// Counts a tuple while sampling is on (callers check `sampleSchedule.countdown != 0`) and
    /// records it when its turn has come.
    @inline(never)
    func sample(stream: String, values: borrowing TupleValues) {
        guard sampleSchedule.tick() else { return }
        environment.sampling.record(
            TupleSample(
                time: wallClockSeconds(),
                component: componentId,
                task: taskId,
                stream: stream,
                values: TupleSample.render(values.array)
            )
        )
    }

    /// Ends a drain: publishes statistics and reschedules as `finish` decides.
    func finishRun(
        now: UInt64,
        wantsMore: () -> Bool = { false },
        wantsLater: () -> Bool = { false },
        laterNanos: UInt64 = 0,
        paused: () -> Bool = { false }
    ) {
        let (decision, relieved) = inbox.finish(wantsMore: wantsMore, wantsLater: wantsLater, paused: paused)
        if relieved { environment.backpressure.relieved(task: taskId) }
        switch decision {
        case .runAgain:
            if now &- lastPublish >= Self.publishIntervalNanos { publish(now: now) }
            queue.async { self.run() }
        case .runLater(let generation):
            if now &- lastPublish >= Self.publishIntervalNanos { publish(now: now) }
            // A push meanwhile (an ack for an idle spout) schedules a drain at once; this timer
            // then finds its drain claimed, or a newer timer set, and does nothing.
            queue.asyncAfter(deadline: .now() + .nanoseconds(Int(laterNanos))) {
                if self.inbox.claimTimer(generation) { self.run() }
            }
        case .idle:
            publish(now: now, idle: true)
        }
    }

    /// Publishes the counters; status lines, tables and edge counts at most once a second, and
    /// whenever the task goes idle (`idle`).
    func publish(now: UInt64, idle: Bool = false) {
        stats.publish(&local, pending: pendingCount, now: now)
        lastPublish = now
        guard idle || now &- lastDetails >= Self.detailsIntervalNanos else { return }
        lastDetails = now
        if let reporter = statusReporter {
            stats.setDetails(reporter.statusLines(), table: reporter.statusTable())
        }
        if let routeTable { stats.setFlows(edges: routeTable.edgeCounts(from: componentId), streams: streamRows()) }
    }

    /// The task's output routes (spouts and bolts); subclasses override.
    var routeTable: RoutingTable? { nil }

    /// The task's per-stream counts so far (call on the queue); subclasses add theirs.
    func streamRows() -> [StreamStatsRow] {
        routeTable?.outputRows(of: componentId) ?? []
    }

    /// Minimum time between two refreshes of a component's status lines.
    static let detailsIntervalNanos: UInt64 = 1_000_000_000
    /// When the status lines were last refreshed.
    var lastDetails: UInt64 = 0

    /// The component, when it reports status lines; subclasses override.
    var statusReporter: (any StatusReporting)? { nil }

    /// Pending tuple trees (spouts only).
    package var pendingCount: Int { 0 }

    // MARK: - Errors and logging

    /// Records `error` for this component and logs it.
    func report(_ message: String) {
        environment.errorLogs[componentId]?.append(
            ComponentError(task: taskId, time: wallClockSeconds(), message: message)
        )
        environment.logger.warning(
            "component error",
            metadata: ["component": "\(componentId)", "task": "\(taskId)", "error": "\(message)"]
        )
    }

    @inline(__always)
    func ackerTask(for root: UInt64) -> Int {
        ackerTasks[Int(truncatingIfNeeded: root % UInt64(ackerTasks.count))]
    }

    func logEmit(stream: String, values: borrowing TupleValues, tasks: Int) {
        environment.logger.debug(
            "emit",
            metadata: [
                "component": "\(componentId)", "task": "\(taskId)", "stream": "\(stream)",
                "types": "\(values.array.map(\.typeName))", "targets": "\(tasks)",
            ]
        )
    }

    // MARK: - Lifecycle

    /// Runs the component's close or cleanup on the queue and stops taking envelopes.
    func stop() {}

    /// Calls `body` on the queue and waits for it.
    func onQueue<R>(_ body: () throws -> R) rethrows -> R {
        try queue.sync(execute: body)
    }
}

/// Seconds since 1970, for error timestamps.
func wallClockSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// 128 bytes (two cache lines, the unit of adjacent-line prefetch) that keep the fields written
/// per tuple by one executor's thread off the cache lines of another object's hot fields. Without
/// it, a run of word count fell into a mode about twice as slow whenever two executors' fields
/// happened to share a line.
struct CacheLinePadding {
    private var bytes = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}
