/// Settings of one topology. Names in ``set(_:_:)`` follow Storm's (`topology.max.spout.pending`, ...).
public struct TopologyConfig: Sendable, Hashable, Codable {
    /// Seconds a tuple tree may stay incomplete before its spout gets `fail`. Storm: 30.
    public var messageTimeoutSeconds: Double = 30
    /// Pending (tracked, incomplete) tuple trees per spout task; `nil` for no limit.
    public var maxSpoutPending: Int? = nil
    /// Number of acker tasks; `0` disables tuple tracking (spouts get `ack` at once).
    public var ackers: Int = 1
    /// Logs every emit (component, stream, task and value types) at debug level.
    public var debug: Bool = false
    /// Number of worker processes in cluster mode.
    public var workers: Int = 1
    /// Capacity of each task's inbound queue, in tuples. The tasks feeding a queue (hop by hop up
    /// to the spouts) pause when it is half full and resume when it is below a quarter.
    public var executorQueueCapacity: Int = 16_384
    /// Settings for user code, read by components through ``TopologyContext/config``.
    public var custom: [String: String] = [:]

    /// The default configuration.
    public init() {}

    /// Keys understood by ``set(_:_:)``.
    public static let knownKeys = [
        "topology.message.timeout.secs", "topology.max.spout.pending", "topology.acker.executors",
        "topology.debug", "topology.workers", "topology.executor.receive.buffer.size",
    ]

    /// Sets one setting from its text form, as given on a command line (`key=value`).
    ///
    /// Keys starting with `topology.` must be known; any other key becomes a ``custom`` setting.
    /// - Throws: ``TopologyError/invalidConfig(key:value:reason:)`` naming the key and the value.
    public mutating func set(_ key: String, _ value: String) throws(TopologyError) {
        var copy = self
        try copy.apply(key, value)
        try copy.validate()
        self = copy
    }

    private mutating func apply(_ key: String, _ value: String) throws(TopologyError) {
        func int() throws(TopologyError) -> Int {
            guard let n = Int(value) else { throw .invalidConfig(key: key, value: value, reason: "not an integer") }
            return n
        }
        switch key {
        case "topology.message.timeout.secs":
            guard let seconds = Double(value) else {
                throw .invalidConfig(key: key, value: value, reason: "not a number")
            }
            messageTimeoutSeconds = seconds
        case "topology.max.spout.pending":
            maxSpoutPending = value == "null" || value == "none" ? nil : try int()
        case "topology.acker.executors": ackers = try int()
        case "topology.workers": workers = try int()
        case "topology.executor.receive.buffer.size": executorQueueCapacity = try int()
        case "topology.debug":
            guard let flag = Bool(value) else {
                throw .invalidConfig(key: key, value: value, reason: "not true or false")
            }
            debug = flag
        default:
            guard !key.hasPrefix("topology.") else {
                throw .invalidConfig(key: key, value: value, reason: "unknown setting")
            }
            custom[key] = value
        }
    }

    /// Checks every setting's range.
    /// - Throws: ``TopologyError/invalidConfig(key:value:reason:)`` for the first bad setting.
    public func validate() throws(TopologyError) {
        guard messageTimeoutSeconds > 0, messageTimeoutSeconds.isFinite else {
            throw .invalidConfig(
                key: "topology.message.timeout.secs",
                value: "\(messageTimeoutSeconds)",
                reason: "must be positive"
            )
        }
        if let pending = maxSpoutPending, pending <= 0 {
            throw .invalidConfig(key: "topology.max.spout.pending", value: "\(pending)", reason: "must be positive")
        }
        guard ackers >= 0 else {
            throw .invalidConfig(key: "topology.acker.executors", value: "\(ackers)", reason: "must not be negative")
        }
        guard workers > 0 else {
            throw .invalidConfig(key: "topology.workers", value: "\(workers)", reason: "must be positive")
        }
        guard executorQueueCapacity >= 64 else {
            throw .invalidConfig(
                key: "topology.executor.receive.buffer.size",
                value: "\(executorQueueCapacity)",
                reason: "must be at least 64"
            )
        }
    }
}
