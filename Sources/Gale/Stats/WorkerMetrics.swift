/// What a cluster worker tells its supervisor every second for the supervisor's `/metrics`
/// page (docs/metrics.md): each local task's counters, queue and latency histograms, the
/// transport's counters, and the exposition text of the worker's own metrics registry (the
/// components' ``ComponentMetrics`` and swift-metrics series).
public struct WorkerMetrics: Sendable, Codable, Equatable {
    /// One sample per local task (ackers included), by task id.
    public var tasks: [TaskMetrics]
    /// The transport's counters since the worker started.
    public var transport: TransportMetrics
    /// The user metrics in Prometheus text exposition format (at most ``userTextLimit`` bytes,
    /// cut at a line end), or `nil` when there are none.
    public var user: String?

    /// The most user exposition text a heartbeat carries (what a worker registers beyond is cut).
    public static let userTextLimit = 256 << 10

    public init(tasks: [TaskMetrics], transport: TransportMetrics, user: String?) {
        self.tasks = tasks
        self.transport = transport
        self.user = user
    }
}

/// The counters of one task since its worker started.
public struct TaskMetrics: Sendable, Codable, Equatable {
    public var task: Int
    public var component: String
    public var emitted: UInt64
    public var transferred: UInt64
    public var executed: UInt64
    public var acked: UInt64
    public var failed: UInt64
    /// Tuples waiting in its inbound queue now.
    public var queued: Int
    /// Its inbound queue's capacity.
    public var queueCapacity: Int
    /// Pending tuple trees (spouts).
    public var pending: Int
    /// Busy share of the recent window (0...1).
    public var capacity: Double
    /// Times its inbound queue crossed its high watermark (each pausing the tasks feeding it).
    public var overloaded: UInt64
    /// Times backpressure paused it (an overloaded queue it feeds, here or in another worker).
    public var pauses: UInt64
    /// Whether backpressure pauses it now.
    public var paused: Bool
    /// Complete latency (spouts), `nil` when nothing was recorded.
    public var completeLatency: LatencyBuckets?
    /// Execute latency, sampled 1 in 16 executes; `nil` when nothing was recorded.
    public var executeLatency: LatencyBuckets?

    public init(task: Int, component: String) {
        self.task = task
        self.component = component
        self.emitted = 0
        self.transferred = 0
        self.executed = 0
        self.acked = 0
        self.failed = 0
        self.queued = 0
        self.queueCapacity = 0
        self.pending = 0
        self.capacity = 0
        self.overloaded = 0
        self.pauses = 0
        self.paused = false
    }
}

/// A latency histogram with Prometheus-style cumulative buckets in seconds.
public struct LatencyBuckets: Sendable, Codable, Equatable {
    /// The upper bounds in seconds of the buckets Gale exports, ascending.
    public static let bounds: [Double] = [
        0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
        5, 10, 30,
    ]

    /// Per bound of ``bounds``: the recordings known to be at most that long.
    public var cumulative: [UInt64]
    /// All recordings.
    public var count: UInt64
    /// Their sum, in seconds.
    public var sumSeconds: Double

    public init(cumulative: [UInt64], count: UInt64, sumSeconds: Double) {
        self.cumulative = cumulative
        self.count = count
        self.sumSeconds = sumSeconds
    }
}

/// A worker transport's counters (a subset of the runtime's `TransportStats`).
public struct TransportMetrics: Sendable, Codable, Equatable {
    public var bytesSent: UInt64 = 0
    public var bytesReceived: UInt64 = 0
    public var framesSent: UInt64 = 0
    public var framesReceived: UInt64 = 0
    public var envelopesSent: UInt64 = 0
    public var envelopesReceived: UInt64 = 0
    public var envelopesDropped: UInt64 = 0
    public var reconnects: UInt64 = 0
    public var corruptFrames: UInt64 = 0
    public var handshakesRefused: UInt64 = 0
    public var tlsHandshakesRefused: UInt64 = 0
    public var controlFramesSent: UInt64 = 0
    public var controlFramesReceived: UInt64 = 0
    /// Peers with an established outbound connection now.
    public var connectedPeers: Int = 0
    /// Encoded bytes waiting in send buffers now.
    public var pendingBytes: Int = 0

    public init() {}
}
