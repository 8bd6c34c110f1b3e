public import Gale
public import Logging

/// One log-level override of a topology's workers (`gale set-log-level`).
public struct LogLevelControl: Sendable, Codable, Equatable {
    /// The component whose loggers it sets (``LogLevelOverrides``); `nil`: every logger of the
    /// topology's workers.
    public var component: String?
    /// A swift-log level name: trace, debug, info, notice, warning, error or critical.
    public var level: String
    /// Seconds since 1970 after which it no longer applies; `nil`: until changed.
    public var until: Double?

    public init(component: String?, level: String, until: Double?) {
        self.component = component
        self.level = level
        self.until = until
    }
}

/// Event sampling of one component (`gale debug`).
public struct SamplingControl: Sendable, Codable, Equatable {
    public var component: String
    /// The share of the component's tuples sampled, in percent (above 0, at most 100).
    public var percent: Double
    /// Seconds since 1970 after which sampling stops; `nil`: until changed.
    public var until: Double?

    public init(component: String, percent: Double, until: Double?) {
        self.component = component
        self.percent = percent
        self.until = until
    }
}

/// What an operator asked of a running topology's workers besides its assignment: log levels and
/// event sampling. Nimbus keeps it in ZooKeeper (``ControlsRecord``); supervisors hand it to
/// their workers in the heartbeat reply; workers apply it and drop entries whose `until` passed.
public struct TopologyControls: Sendable, Codable, Equatable {
    public var logLevels: [LogLevelControl]
    public var sampling: [SamplingControl]

    public init(logLevels: [LogLevelControl] = [], sampling: [SamplingControl] = []) {
        self.logLevels = logLevels
        self.sampling = sampling
    }

    public var isEmpty: Bool { logLevels.isEmpty && sampling.isEmpty }

    /// The level names ``LogLevelControl/level`` accepts, lowest first.
    public static let levelNames = Logger.Level.allCases.map(\.rawValue)

    /// The entries still in force at `now` (seconds since 1970).
    public func active(at now: Double) -> TopologyControls {
        TopologyControls(
            logLevels: logLevels.filter { ($0.until ?? .infinity) > now },
            sampling: sampling.filter { ($0.until ?? .infinity) > now }
        )
    }

    /// Sets the level of `component`'s loggers (`nil`: every logger), replacing its previous
    /// entry; `level` `nil` removes the entry (the loggers' own level again).
    public mutating func setLogLevel(component: String?, level: Logger.Level?, until: Double?) {
        logLevels.removeAll { $0.component == component }
        guard let level else { return }
        logLevels.append(LogLevelControl(component: component, level: level.rawValue, until: until))
        // The topology-wide entry first, then by component.
        logLevels.sort { ($0.component ?? "") < ($1.component ?? "") }
    }

    /// Samples `percent` of `component`'s tuples, replacing its previous entry; `percent` 0
    /// stops sampling it.
    public mutating func setSampling(component: String, percent: Double, until: Double?) {
        sampling.removeAll { $0.component == component }
        guard percent > 0 else { return }
        sampling.append(SamplingControl(component: component, percent: min(100, percent), until: until))
        sampling.sort { $0.component < $1.component }
    }

    /// The log levels in force at `now`, for ``ProcessLogging/setOverrides(_:)`` (entries naming
    /// no known level are left out).
    public func logLevelOverrides(at now: Double) -> LogLevelOverrides {
        var result = LogLevelOverrides()
        for entry in active(at: now).logLevels {
            guard let level = Logger.Level(rawValue: entry.level) else { continue }
            if let component = entry.component {
                result.components[component] = level
            } else {
                result.all = level
            }
        }
        return result
    }

    /// The sampling percent of each component in force at `now`.
    public func samplingPercents(at now: Double) -> [String: Double] {
        var result: [String: Double] = [:]
        for entry in active(at: now).sampling where entry.percent > 0 {
            result[entry.component] = min(100, entry.percent)
        }
        return result
    }

    /// The earliest `until` of the entries in force at `now`, when one of them has one: when
    /// the controls change next without anyone asking.
    public func nextExpiry(after now: Double) -> Double? {
        let ends = (logLevels.compactMap(\.until) + sampling.compactMap(\.until)).filter { $0 > now }
        return ends.min()
    }
}

/// `/gale/controls/<topology-id>`: a topology's ``TopologyControls``, written by nimbus only when
/// an operator changes them and removed with the topology.
public struct ControlsRecord: Sendable, Codable, Equatable {
    public var v = 1
    public var topologyId: String
    public var logLevels: [LogLevelControl]
    public var sampling: [SamplingControl]

    public init(topologyId: String, controls: TopologyControls) {
        self.topologyId = topologyId
        self.logLevels = controls.logLevels
        self.sampling = controls.sampling
    }

    public var controls: TopologyControls { TopologyControls(logLevels: logLevels, sampling: sampling) }
}

/// A bounded buffer of samples that keeps the newest: what a worker, a supervisor and nimbus hold
/// between the hops samples travel.
public struct SampleBuffer: Sendable, Equatable {
    public let capacity: Int
    /// Oldest first.
    public private(set) var samples: [TupleSample] = []
    /// Samples pushed out by newer ones since the buffer was made.
    public private(set) var dropped = 0

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public mutating func append(contentsOf more: some Collection<TupleSample>) {
        samples.append(contentsOf: more)
        if samples.count > capacity {
            dropped += samples.count - capacity
            samples.removeFirst(samples.count - capacity)
        }
    }

    /// Empties the buffer; returns what it held, oldest first.
    public mutating func take() -> [TupleSample] {
        defer { samples.removeAll(keepingCapacity: true) }
        return samples
    }
}
