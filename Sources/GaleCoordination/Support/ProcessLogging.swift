public import Logging
import Synchronization

/// The log level of a Gale process (a daemon, a worker, a local run): every `Logger` created in
/// the process after ``setLevel(_:)`` logs at that level, the components' and the Kafka and
/// ZooKeeper clients' included, not only the command's own logger.
///
/// The first call installs swift-log's standard-error handler for the process (swift-log allows
/// one installation per process); later calls change the level of the loggers created after them.
public enum ProcessLogging {
    private static let level = Mutex(Logger.Level.info)

    private static let installed: Void = LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = ProcessLogging.level.withLock { $0 }
        return handler
    }

    /// Makes `level` the level of the loggers created from now on in this process.
    public static func setLevel(_ level: Logger.Level) {
        Self.level.withLock { $0 = level }
        _ = installed
    }

    /// The level new loggers get.
    public static var currentLevel: Logger.Level { level.withLock { $0 } }
}
