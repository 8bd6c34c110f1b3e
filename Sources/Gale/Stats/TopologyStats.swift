/// One error reported by a component.
public struct ComponentError: Sendable, Equatable, Codable {
    /// The reporting task.
    public var task: Int
    /// Seconds since 1970 when it was reported.
    public var time: Double
    /// The error's description.
    public var message: String

    /// Creates an error record.
    public init(task: Int, time: Double, message: String) {
        self.task = task
        self.time = time
        self.message = message
    }
}

/// Statistics of one component, summed over its tasks.
public struct ComponentStats: Sendable, Equatable, Codable {
    /// The component id.
    public var id: String
    /// `spout`, `bolt` or `acker`.
    public var kind: String
    /// Number of tasks.
    public var tasks: Int
    /// Tuples emitted (per stream emit call, once per emit).
    public var emitted: UInt64
    /// Tuples sent to tasks (an emit to three tasks counts three).
    public var transferred: UInt64
    /// Tuples executed (bolts).
    public var executed: UInt64
    /// Trees completed (spouts) or tuples acked (bolts).
    public var acked: UInt64
    /// Trees failed or timed out (spouts) or tuples failed (bolts).
    public var failed: UInt64
    /// Mean time from a spout's emit to its tree's completion, in milliseconds.
    public var completeLatencyMs: Double
    /// 99th percentile of the complete latency, in milliseconds.
    public var completeLatencyP99Ms: Double
    /// Mean execute time per tuple, in milliseconds.
    public var executeLatencyMs: Double
    /// 99th percentile of the (sampled) execute time, in milliseconds.
    public var executeLatencyP99Ms: Double
    /// Share of the recent window the busiest task spent executing (0...1).
    public var capacity: Double
    /// Pending tuple trees (spouts).
    public var pending: Int
    /// Tuples waiting in the component's inbound queues now.
    public var queued: Int
    /// The longest any of its inbound queues has been.
    public var maxQueueLength: Int
    /// Capacity of each inbound queue.
    public var queueCapacity: Int
    /// The most recent errors, oldest first.
    public var recentErrors: [ComponentError]
    /// Errors reported in total.
    public var errorCount: Int
    /// What its tasks say of their state (``StatusReporting``), each line prefixed with the
    /// task id; `nil` when none of them reports.
    public var details: [String]?
    /// Whether an inbound queue of one of its tasks is above its high watermark now, so the tasks
    /// feeding it are paused (backpressure); `nil` when not reported.
    public var overloaded: Bool?
    /// Its tasks' ``StatusTable``s, joined by name; `nil` when none of them reports one.
    public var tables: [StatusTable]?

    /// Empty statistics of component `id`.
    public init(id: String, kind: String, tasks: Int, queueCapacity: Int) {
        self.id = id
        self.kind = kind
        self.tasks = tasks
        self.emitted = 0
        self.transferred = 0
        self.executed = 0
        self.acked = 0
        self.failed = 0
        self.completeLatencyMs = 0
        self.completeLatencyP99Ms = 0
        self.executeLatencyMs = 0
        self.executeLatencyP99Ms = 0
        self.capacity = 0
        self.pending = 0
        self.queued = 0
        self.maxQueueLength = 0
        self.queueCapacity = queueCapacity
        self.recentErrors = []
        self.errorCount = 0
    }
}

/// Statistics of one task, as a running process counted them since it started.
public struct TaskStatsRow: Sendable, Equatable, Codable {
    /// The task id.
    public var task: Int
    /// Its component.
    public var component: String
    public var emitted: UInt64
    public var transferred: UInt64
    public var executed: UInt64
    public var acked: UInt64
    public var failed: UInt64
    /// Mean complete latency of its spout tuples, in milliseconds.
    public var completeLatencyMs: Double
    /// Mean (sampled) execute time, in milliseconds.
    public var executeLatencyMs: Double
    /// Busy share of the recent window (0...1).
    public var capacity: Double
    /// Pending tuple trees (spouts).
    public var pending: Int
    /// Tuples in its inbound queue now.
    public var queued: Int
    /// Its inbound queue is above the high watermark now.
    public var overloaded: Bool

    /// Empty statistics of `task` of `component`.
    public init(task: Int, component: String) {
        self.task = task
        self.component = component
        emitted = 0
        transferred = 0
        executed = 0
        acked = 0
        failed = 0
        completeLatencyMs = 0
        executeLatencyMs = 0
        capacity = 0
        pending = 0
        queued = 0
        overloaded = false
    }
}

/// Tuples sent along one edge of the topology (a stream of `from` to subscriber `to`), counted
/// by the sending tasks of one process since it started.
public struct EdgeCount: Sendable, Equatable, Hashable, Codable {
    public var from: String
    public var stream: String
    public var to: String
    public var transferred: UInt64

    public init(from: String, stream: String, to: String, transferred: UInt64) {
        self.from = from
        self.stream = stream
        self.to = to
        self.transferred = transferred
    }
}

/// The tuples of one stream of a component, counted by the tasks of one process since it
/// started (Storm's "output stats" and "input stats").
///
/// An output row (`from == nil`) counts what `component` emitted on `stream`: emitted,
/// transferred, and for a spout the trees rooted on that stream that were acked or failed. An
/// input row counts what bolt `component` took from stream `stream` of component `from`:
/// executed, acked and failed.
public struct StreamStatsRow: Sendable, Equatable, Codable {
    public var component: String
    public var stream: String
    /// The emitting component of an input row; `nil` for an output row.
    public var from: String?
    public var emitted: UInt64
    public var transferred: UInt64
    public var executed: UInt64
    public var acked: UInt64
    public var failed: UInt64

    /// A row with every count zero.
    public init(component: String, stream: String, from: String? = nil) {
        self.component = component
        self.stream = stream
        self.from = from
        emitted = 0
        transferred = 0
        executed = 0
        acked = 0
        failed = 0
    }

    /// Adds the counts of `other`.
    public mutating func add(_ other: StreamStatsRow) {
        emitted &+= other.emitted
        transferred &+= other.transferred
        executed &+= other.executed
        acked &+= other.acked
        failed &+= other.failed
    }
}

/// Statistics of a running topology.
public struct TopologyStats: Sendable, Equatable, Codable {
    /// The topology's name.
    public var name: String
    /// Seconds since the topology started.
    public var uptimeSeconds: Double
    /// Per component, spouts and bolts in declaration order, then the ackers.
    public var components: [ComponentStats]
    /// Per task, in task order; `nil` from a process that does not report tasks.
    public var tasks: [TaskStatsRow]?
    /// Per edge (stream and subscriber); `nil` from a process that does not report edges.
    public var edges: [EdgeCount]?
    /// Per component and stream, outputs and inputs; `nil` from a process that does not report
    /// streams.
    public var streams: [StreamStatsRow]?

    /// Statistics of topology `name`.
    public init(
        name: String,
        uptimeSeconds: Double,
        components: [ComponentStats],
        tasks: [TaskStatsRow]? = nil,
        edges: [EdgeCount]? = nil,
        streams: [StreamStatsRow]? = nil
    ) {
        self.name = name
        self.uptimeSeconds = uptimeSeconds
        self.components = components
        self.tasks = tasks
        self.edges = edges
        self.streams = streams
    }

    /// The component `id`, if any.
    public func component(_ id: String) -> ComponentStats? {
        components.first { $0.id == id }
    }

    /// Sum of `acked` over the spouts.
    public var spoutAcked: UInt64 { components.filter { $0.kind == "spout" }.reduce(0) { $0 + $1.acked } }
    /// Sum of `failed` over the spouts.
    public var spoutFailed: UInt64 { components.filter { $0.kind == "spout" }.reduce(0) { $0 + $1.failed } }
    /// Sum of `emitted` over spouts and bolts.
    public var emitted: UInt64 { components.filter { $0.kind != "acker" }.reduce(0) { $0 + $1.emitted } }
}
