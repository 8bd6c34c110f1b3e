import CZooKeeper
import Foundation
import Logging
import Synchronization

/// Routes the ZooKeeper C client's own log lines through swift-log at the process's level
/// (the level a `Logger` created now gets: `ProcessLogging` in GaleCoordination sets it for
/// daemons, workers and local runs), under the label `gale.zookeeper.client`.
///
/// The C client formats each line itself (`<time>:<pid>(<thread>):ZOO_ERROR@check_events@2456:
/// Socket [...] zk retcode=-4, errno=111(Connection refused)...`) and hands it to the callback
/// given to `zookeeper_init2`, which has no context pointer: the bridge is process-wide. The
/// level is read from the `ZOO_<LEVEL>@` tag and the text from the function name on. The C
/// client's ERROR and WARN lines keep their level; its INFO lines (connection tracing, which
/// ``ZooKeeperClient`` already reports as session events) become `debug`, its DEBUG lines
/// `trace`. A line logged less than 10 s ago is counted instead of logged again (while a server
/// refuses connections the C client repeats the same two lines several times a second); the
/// count goes with the line when it next gets through.
enum ZooKeeperCLog {
    /// When each recent line was last logged, and how often it came since.
    private static let recent = Mutex([String: (at: Date, repeats: Int)]())

    /// The callback every handle is created with (`zookeeper_init2`).
    static let callback: log_callback_fn = { message in
        guard let message else { return }
        ZooKeeperCLog.log(String(cString: message))
    }

    /// Sets the C client's own threshold from the process's level, so that lines nobody would
    /// see are not even formatted. Lines logged before a handle exists go to standard error in
    /// the C client, which is why this runs before every `zookeeper_init2`.
    static func applyProcessLevel() {
        let level = Logger(label: "gale.zookeeper.client").logLevel
        zoo_set_debug_level(ZooLogLevel(rawValue: cLevel(for: level)))
    }

    /// The C client's threshold (a `ZooLogLevel` value) for a process logging at `level`.
    static func cLevel(for level: Logger.Level) -> UInt32 {
        switch level {
        case .trace: ZOO_LOG_LEVEL_DEBUG.rawValue
        case .debug: ZOO_LOG_LEVEL_INFO.rawValue
        case .info, .notice, .warning: ZOO_LOG_LEVEL_WARN.rawValue
        case .error, .critical: ZOO_LOG_LEVEL_ERROR.rawValue
        }
    }

    /// The swift-log level and text of one C client line.
    static func parse(_ line: String) -> (level: Logger.Level, text: Substring) {
        let tags: [(String, Logger.Level)] = [
            ("ZOO_ERROR@", .error), ("ZOO_WARN@", .warning), ("ZOO_INFO@", .debug), ("ZOO_DEBUG@", .trace),
        ]
        var text = line[...]
        while text.last?.isNewline == true { text = text.dropLast() }
        for (tag, level) in tags {
            if let range = text.range(of: tag) { return (level, text[range.upperBound...]) }
        }
        return (.warning, text)
    }

    static func log(_ line: String) {
        let (level, text) = parse(line)
        let now = Date()
        let repeated = recent.withLock { recent -> Int? in
            let key = String(text)
            if let seen = recent[key], now.timeIntervalSince(seen.at) < 10 {
                recent[key]?.repeats += 1
                return nil
            }
            if recent.count >= 64 { recent = recent.filter { now.timeIntervalSince($0.value.at) < 10 } }
            defer { recent[key] = (now, 0) }
            return recent[key]?.repeats ?? 0
        }
        guard let repeated else { return }
        // A logger per line (lines are rare) so that it always has the process's current level.
        let logger = Logger(label: "gale.zookeeper.client")
        let suffix = repeated > 0 ? " (repeated \(repeated) times in the last 10 s)" : ""
        logger.log(level: level, "\(text)\(suffix)")
    }
}
