public import Logging
import Synchronization

/// The log level of a Gale process (a daemon, a worker, a local run): every `Logger` created in
/// the process after ``setLevel(_:)`` logs at that level, the components' and the Kafka and
/// ZooKeeper clients' included, not only the command's own logger.
///
/// The first call installs the process's handler (swift-log allows one installation per
/// process): swift-log's standard-error handler behind a level that can change while the
/// loggers live (``setOverrides(_:)``). swift-log copies a handler into each `Logger` and asks
/// the handler for its level at every log call, so the handler's level is read from shared
/// state: with no override that costs one atomic load per call.
public enum ProcessLogging {
    private static let level = Mutex(Logger.Level.info)

    private static let installed: Void = LoggingSystem.bootstrap { label in
        OverridableLogHandler(
            label: label,
            level: ProcessLogging.level.withLock { $0 },
            inner: StreamLogHandler.standardError(label: label)
        )
    }

    /// Makes `level` the level of the loggers created from now on in this process.
    public static func setLevel(_ level: Logger.Level) {
        Self.level.withLock { $0 = level }
        _ = installed
    }

    /// The level new loggers get.
    public static var currentLevel: Logger.Level { level.withLock { $0 } }

    // MARK: - Overrides while loggers live

    /// Whether any override is set: the one atomic load a log call costs without one.
    private static let overridden = Atomic<Bool>(false)
    private static let overrides = Mutex(LogLevelOverrides())
    private static let componentLookup = Mutex<(@Sendable () -> String?)?>(nil)

    /// Sets the levels every logger of the process logs at from now on, over its own (see
    /// ``LogLevelOverrides``); empty overrides give every logger its own level back.
    public static func setOverrides(_ new: LogLevelOverrides) {
        overrides.withLock { $0 = new }
        overridden.store(!new.isEmpty, ordering: .releasing)
    }

    /// The overrides in force.
    public static var currentOverrides: LogLevelOverrides { overrides.withLock { $0 } }

    /// Tells the handler which component's code the calling thread runs (the worker's runtime
    /// knows: each task runs on its own queue), so that a component's override reaches every
    /// logger that component's code uses, whatever its label. Asked only while a component has
    /// an override.
    public static func setComponentLookup(_ lookup: (@Sendable () -> String?)?) {
        componentLookup.withLock { $0 = lookup }
    }

    /// The level a logger labelled `label` whose own level is `base` logs at now.
    static func effectiveLevel(label: String, base: Logger.Level) -> Logger.Level {
        guard overridden.load(ordering: .acquiring) else { return base }
        let current = overrides.withLock { $0 }
        guard !current.components.isEmpty else { return current.all ?? base }
        let lookup = componentLookup.withLock { $0 }
        return current.level(label: label, runningComponent: lookup?(), base: base)
    }
}

/// Levels that replace the loggers' own while they are set (``ProcessLogging/setOverrides(_:)``):
/// one for every logger of the process and one per component, the component's winning.
///
/// A logger belongs to component `C` when its label is `C` or starts with `C.`, and a log call
/// belongs to `C` when it is made on a thread running one of `C`'s tasks.
public struct LogLevelOverrides: Sendable, Equatable {
    /// The level of every logger; `nil`: their own.
    public var all: Logger.Level?
    /// The level of each component's loggers.
    public var components: [String: Logger.Level]

    public init(all: Logger.Level? = nil, components: [String: Logger.Level] = [:]) {
        self.all = all
        self.components = components
    }

    public var isEmpty: Bool { all == nil && components.isEmpty }

    /// The level of a log call by a logger labelled `label` (own level `base`) on a thread
    /// running `runningComponent`'s code (`nil`: no component's).
    public func level(label: String, runningComponent: String?, base: Logger.Level) -> Logger.Level {
        if let runningComponent, let level = components[runningComponent] { return level }
        if !components.isEmpty {
            if let level = components[label] { return level }
            var prefix = label[...]
            while let dot = prefix.lastIndex(of: ".") {
                prefix = prefix[..<dot]
                if let level = components[String(prefix)] { return level }
            }
        }
        return all ?? base
    }
}

/// swift-log's standard-error handler at a level ``ProcessLogging`` may override while the logger
/// lives.
struct OverridableLogHandler: LogHandler {
    let label: String
    /// The logger's own level (what setting `logLevel` sets).
    var level: Logger.Level
    var inner: StreamLogHandler

    init(label: String, level: Logger.Level, inner: StreamLogHandler) {
        self.label = label
        self.level = level
        self.inner = inner
        // The Logger checks the level before calling `log`: the inner handler logs what it gets.
        self.inner.logLevel = .trace
    }

    var logLevel: Logger.Level {
        get { ProcessLogging.effectiveLevel(label: label, base: level) }
        set { level = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        inner.log(event: event)
    }
}
