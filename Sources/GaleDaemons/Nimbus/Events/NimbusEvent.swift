import Foundation

/// What an event is about. The raw values are the names webhooks' `events` filters and the
/// JSON form use.
public enum EventType: String, Sendable, Codable, CaseIterable {
    /// A topology appeared (notice).
    case topologySubmitted = "topology-submitted"
    /// A topology was killed or removed (notice).
    case topologyKilled = "topology-killed"
    /// A topology's worker count or parallelism changed (notice).
    case topologyRebalanced = "topology-rebalanced"
    /// A worker restarted at least the threshold number of times within the window.
    case workerCrashLoop = "worker-crash-loop"
    /// A supervisor's ZooKeeper node went away while it ran workers, or its reports stopped.
    case supervisorLost = "supervisor-lost"
    /// A topology whose binary the leader lacks or its workers cannot fetch.
    case binaryMissing = "binary-missing"
    /// A Kafka partition with a lag that has not committed for the threshold time.
    case partitionStuck = "partition-stuck"
    /// A component whose inbound queues have been above their high watermark for the threshold time.
    case backpressure = "backpressure"
    /// A transactional topology whose batches are replayed repeatedly.
    case batchFailing = "batch-failing"

    /// One-shot events: posted once, never resolved.
    public var isNotice: Bool {
        switch self {
        case .topologySubmitted, .topologyKilled, .topologyRebalanced: true
        default: false
        }
    }

    /// How urgent it is.
    public var severity: EventSeverity {
        switch self {
        case .topologySubmitted, .topologyKilled, .topologyRebalanced: .info
        case .partitionStuck, .backpressure: .warning
        case .workerCrashLoop, .supervisorLost, .binaryMissing, .batchFailing: .critical
        }
    }

    /// Words for it in chat messages.
    var title: String {
        switch self {
        case .topologySubmitted: "Topology submitted"
        case .topologyKilled: "Topology killed"
        case .topologyRebalanced: "Topology rebalanced"
        case .workerCrashLoop: "Worker in a crash loop"
        case .supervisorLost: "Supervisor lost"
        case .binaryMissing: "Topology binary missing"
        case .partitionStuck: "Kafka partition not committing"
        case .backpressure: "Sustained backpressure"
        case .batchFailing: "Transactional batches failing"
        }
    }
}

/// How urgent an event is.
public enum EventSeverity: String, Sendable, Codable {
    case info, warning, critical
}

/// Whether a condition started (or still holds, for a reminder) or ended. Notices are `firing`.
public enum EventState: String, Sendable, Codable {
    case firing, resolved
}

/// One event nimbus posts to its webhooks; its JSON form is the `json` webhook format
/// (docs/webhooks.md).
public struct NimbusEvent: Sendable, Equatable, Codable {
    /// The format version.
    public var v = 1
    public var event: EventType
    public var severity: EventSeverity
    public var state: EventState
    /// The condition's identity: the same in its firing, reminders and resolution (for
    /// receivers that deduplicate, e.g. a paging service's dedup key).
    public var key: String
    /// The topology's name.
    public var topology: String?
    /// The topology's id (`<name>-<n>`).
    public var topologyId: String?
    public var component: String?
    /// A worker's `host:port`.
    public var worker: String?
    /// A supervisor's id.
    public var supervisor: String?
    /// A Kafka topic and partition.
    public var topic: String?
    public var partition: Int?
    /// Seconds since 1970 when the condition began (for a notice: when it happened).
    public var since: Double
    /// Seconds since 1970 when this event was made.
    public var time: Double
    /// What happened, in one line.
    public var message: String
    /// The UI page of the topology (or of the cluster).
    public var url: String
    /// `true` on a re-notification of a condition that still holds.
    public var reminder: Bool?

    public init(
        event: EventType,
        state: EventState = .firing,
        key: String,
        topology: String? = nil,
        topologyId: String? = nil,
        component: String? = nil,
        worker: String? = nil,
        supervisor: String? = nil,
        topic: String? = nil,
        partition: Int? = nil,
        since: Double,
        time: Double,
        message: String,
        url: String,
        reminder: Bool? = nil
    ) {
        self.event = event
        self.severity = event.severity
        self.state = state
        self.key = key
        self.topology = topology
        self.topologyId = topologyId
        self.component = component
        self.worker = worker
        self.supervisor = supervisor
        self.topic = topic
        self.partition = partition
        self.since = since
        self.time = time
        self.message = message
        self.url = url
        self.reminder = reminder
    }
}
