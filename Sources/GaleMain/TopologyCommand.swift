import ArgumentParser
import Dispatch
public import Gale
import GaleRuntime
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The entry point of every topology binary: gives it the `describe` and `local` subcommands.
///
/// ```swift
/// @main struct WordCountMain {
///     static func main() async {
///         await TopologyCommand.main(topologies: { [try makeWordCount()] })
///     }
/// }
/// ```
public enum TopologyCommand {
    /// Called after a local run, before the summary line, with the final statistics.
    public typealias LocalReport = @Sendable (TopologyStats) -> Void

    /// Parses the command line and runs the subcommand; exits the process with its status.
    /// - Parameters:
    ///   - localReport: prints extra results of a local run (for example the top words).
    ///   - topologies: builds the binary's topologies; a build error is printed and exits 1.
    public static func main(
        topologies: () throws -> [Topology],
        localReport: LocalReport? = nil
    ) async -> Never {
        let built: [Topology]
        do {
            built = try topologies()
        } catch {
            printError("invalid topology: \(error)")
            exit(1)
        }
        Registry.shared.set(built, report: localReport)
        do {
            var command = try Root.parseAsRoot()
            if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
            exit(0)
        } catch {
            Root.exit(withError: error)
        }
    }

    static func printError(_ message: String) {
        var stderr = StandardError()
        print("error: \(message)", to: &stderr)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        writeToStandardError(string)
    }
}

private func writeToStandardError(_ string: String) {
    do {
        let bytes = Array(string.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

/// The topologies of this binary, for the subcommands.
final class Registry: Sendable {
    static let shared = Registry()
    private let state = Mutex<(topologies: [Topology], report: TopologyCommand.LocalReport?)>(([], nil))

    func set(_ topologies: [Topology], report: TopologyCommand.LocalReport?) {
        state.withLock { $0 = (topologies, report) }
    }

    var report: TopologyCommand.LocalReport? { state.withLock { $0.report } }

    /// The topology named `name`, or the only one.
    func topology(named name: String?) throws -> Topology {
        let all = state.withLock { $0.topologies }
        if let name {
            guard let match = all.first(where: { $0.name == name }) else {
                throw ValidationError(
                    "unknown topology [\(name)]; this binary has: \(all.map(\.name).joined(separator: ", "))"
                )
            }
            return match
        }
        guard all.count == 1, let only = all.first else {
            throw ValidationError(
                "this binary has \(all.count) topologies (\(all.map(\.name).joined(separator: ", "))); choose one with --topology"
            )
        }
        return only
    }
}

struct Root: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "topology") },
        abstract: "A Gale topology binary.",
        subcommands: [Describe.self, Local.self, Worker.self]
    )
}

struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the topology as JSON (components, streams, groupings, parallelism, config)."
    )

    @Option(help: "The topology to describe, when the binary holds several.")
    var topology: String?

    func run() throws {
        print(try Registry.shared.topology(named: topology).describeJSON())
    }
}

struct Local: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the topology in this process (no servers).")

    @Option(help: "The topology to run, when the binary holds several.")
    var topology: String?

    @Option(help: "Run for this many seconds, then drain and stop (default: until SIGINT or SIGTERM).")
    var seconds: Double?

    @Option(
        name: .customLong("config"),
        help: "A setting as key=value (Storm names, e.g. topology.max.spout.pending=1000)."
    )
    var settings: [String] = []

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    func validate() throws {
        if let seconds, !(seconds > 0) || !seconds.isFinite {
            throw ValidationError("--seconds must be a positive number, got \(seconds)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        var topology = try Registry.shared.topology(named: self.topology)
        var config = topology.config
        for setting in settings {
            guard let eq = setting.firstIndex(of: "=") else {
                throw ValidationError("--config expects key=value, got [\(setting)]")
            }
            do {
                try config.set(String(setting[..<eq]), String(setting[setting.index(after: eq)...]))
            } catch {
                throw ValidationError(String(describing: error))
            }
        }
        topology = try topology.with(config: config)
        var logger = Logger(label: "gale.local")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning

        let cluster = LocalCluster(logger: logger)
        let clock = ContinuousClock()
        let start = clock.now
        let running = try cluster.submit(topology)
        if let seconds {
            await running.run(for: .milliseconds(Int64(seconds * 1000)))
        } else {
            await SignalWaiter.wait(for: [SIGINT, SIGTERM])
        }
        let elapsed = clock.now - start
        try await cluster.kill(topology.name)
        let stats = running.stats()
        Registry.shared.report?(stats)
        let secondsElapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let transferred = stats.components.filter { $0.kind != "acker" }.reduce(UInt64(0)) { $0 + $1.transferred }
        let rate = secondsElapsed > 0 ? Double(transferred) / secondsElapsed : 0
        print(
            "acked=\(stats.spoutAcked) failed=\(stats.spoutFailed) emitted=\(stats.emitted) tuples_per_sec=\(Int(rate))"
        )
    }
}

/// Waits for the first of some signals.
enum SignalWaiter {
    static func wait(for signals: [Int32]) async {
        let holder = Holder()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            holder.flag = SignalFlag(signals: signals) { continuation.resume() }
        }
        withExtendedLifetime(holder) {}
    }

    /// Keeps the signal sources alive until the signal arrives; set once, before any signal.
    private final class Holder: @unchecked Sendable {
        var flag: SignalFlag?
    }
}
