import ArgumentParser
import Dispatch
public import Gale
import GaleCoordination
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
        await main(arguments: nil, localReport: localReport) { _ in try topologies() }
    }

    /// Parses `arguments` (default: the process's) and runs the subcommand; exits the process
    /// with its status.
    ///
    /// `topologies` gets the settings the run was given, so that a topology can be built from
    /// them (topic names, broker addresses): every `--config key=value` of the command line, or,
    /// for a cluster worker, the `--config` values given to `gale submit` plus
    /// `gale.zookeeper.servers` (the cluster's ZooKeeper) and `gale.topology.id`.
    /// - Parameters:
    ///   - arguments: the command line after the executable's name.
    ///   - settingsHelp: the settings `topologies` reads, shown by `BINARY --help` and
    ///     `BINARY local --help` (for example "--brokers HOST:PORT (kafka.brokers) ...").
    ///   - localReport: prints extra results of a local run (for example the top words).
    ///   - topologies: builds the binary's topologies; a build error is printed and exits 1.
    public static func main(
        arguments: [String]?,
        settingsHelp: String? = nil,
        localReport: LocalReport? = nil,
        topologies: ([String: String]) throws -> [Topology]
    ) async -> Never {
        Registry.settingsHelp.withLock { $0 = settingsHelp }
        let arguments = arguments ?? Array(CommandLine.arguments.dropFirst())
        let built: [Topology]
        do {
            built = try topologies(settings(in: arguments))
        } catch {
            printError("invalid topology: \(error)")
            exit(1)
        }
        Registry.shared.set(built, report: localReport)
        do {
            var command = try Root.parseAsRoot(arguments)
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

    /// The `--config key=value` settings of `arguments`, or a worker's submitted settings with
    /// the cluster's (``WorkerLaunchSpec/topologySettings``).
    static func settings(in arguments: [String]) -> [String: String] {
        if arguments.first == "worker", let index = arguments.firstIndex(of: "--assignment"),
            index + 1 < arguments.count, let spec = try? Worker.readSpec(arguments[index + 1])
        {
            return spec.topologySettings
        }
        var result: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            var setting: String?
            if arguments[index] == "--config", index + 1 < arguments.count {
                setting = arguments[index + 1]
                index += 1
            } else if arguments[index].hasPrefix("--config=") {
                setting = String(arguments[index].dropFirst("--config=".count))
            }
            if let setting, let eq = setting.firstIndex(of: "=") {
                result[String(setting[..<eq])] = String(setting[setting.index(after: eq)...])
            }
            index += 1
        }
        return result
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
    /// What `TopologyCommand.main` was told about the binary's settings, for `--help`.
    static let settingsHelp = Mutex<String?>(nil)
    private let state = Mutex<(topologies: [Topology], report: TopologyCommand.LocalReport?)>(([], nil))

    func set(_ topologies: [Topology], report: TopologyCommand.LocalReport?) {
        state.withLock { $0 = (topologies, report) }
    }

    var report: TopologyCommand.LocalReport? { state.withLock { $0.report } }

    var all: [Topology] { state.withLock { $0.topologies } }

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
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "topology") },
            // `gale submit` runs only files holding this text.
            abstract: "A Gale topology binary.",
            discussion: Registry.settingsHelp.withLock { $0 } ?? "",
            subcommands: [Describe.self, Local.self, Worker.self]
        )
    }
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
    /// Seconds between two progress lines on a terminal.
    static let progressInterval: Duration = .seconds(5)

    /// Prints `acked=… failed=… tuples_per_sec=…` (over the last interval) for each running
    /// topology to standard error every ``progressInterval`` until cancelled.
    static func progress(_ running: [RunningTopology]) async {
        let clock = ContinuousClock()
        var last = (time: clock.now, transferred: running.map { _ in UInt64(0) })
        while !Task.isCancelled {
            try? await Task.sleep(for: progressInterval)
            guard !Task.isCancelled else { return }
            let now = clock.now
            let seconds = (now - last.time).inSeconds
            var lines = ""
            var transferred: [UInt64] = []
            for (i, run) in running.enumerated() {
                let stats = run.stats()
                let total = stats.components.filter { $0.kind != "acker" }.reduce(UInt64(0)) { $0 + $1.transferred }
                transferred.append(total)
                let rate = seconds > 0 ? Double(total &- last.transferred[i]) / seconds : 0
                lines +=
                    (running.count > 1 ? "\(run.name): " : "")
                    + "acked=\(stats.spoutAcked) failed=\(stats.spoutFailed) tuples_per_sec=\(Int(rate))\n"
            }
            last = (now, transferred)
            var stderr = StandardError()
            print(lines, terminator: "", to: &stderr)
        }
    }

    static var configuration: CommandConfiguration {
        CommandConfiguration(
            abstract: "Run the topology in this process (no servers).",
            discussion: Registry.settingsHelp.withLock { $0 } ?? ""
        )
    }

    @Option(help: "The topology to run, when the binary holds several.")
    var topology: String?

    @Option(
        parsing: .unconditional,
        help: "Run for this many seconds, then drain and stop (default: until SIGINT or SIGTERM)."
    )
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
        // Without --topology a binary of several topologies runs them all (a chain of stages).
        let chosen =
            topology == nil && Registry.shared.all.count > 1
            ? Registry.shared.all : [try Registry.shared.topology(named: topology)]
        var topologies: [Topology] = []
        for var topology in chosen {
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
            topologies.append(topology)
        }
        // Every logger of the run (the components' and their clients' included) logs at --log-level.
        ProcessLogging.setLevel(Logger.Level(rawValue: logLevel) ?? .warning)
        let logger = Logger(label: "gale.local")
        // The components' metrics work as in a worker (a local run exports them nowhere).
        GaleMetrics.bootstrap()

        let cluster = LocalCluster(logger: logger)
        let clock = ContinuousClock()
        let start = clock.now
        var running: [RunningTopology] = []
        for topology in topologies { running.append(try cluster.submit(topology)) }
        // On a terminal, a progress line every few seconds; nothing extra in a pipe or a file.
        let progress = isatty(STDERR_FILENO) == 1 ? Task { await Self.progress(running) } : nil
        defer { progress?.cancel() }
        if let seconds {
            try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
        } else {
            // Until SIGINT or SIGTERM: the one service holds the topologies.
            try await DaemonRunner(logger: logger, executor: BlockingExecutor(label: "gale.local", lanes: 1))
                .run([ResourceService("topologies") {}])
        }
        let elapsed = clock.now - start
        progress?.cancel()
        for topology in topologies { try await cluster.kill(topology.name) }
        let secondsElapsed = elapsed.inSeconds
        for (topology, run) in zip(topologies, running) {
            let stats = run.stats()
            Registry.shared.report?(stats)
            let transferred = stats.components.filter { $0.kind != "acker" }.reduce(UInt64(0)) { $0 + $1.transferred }
            let rate = secondsElapsed > 0 ? Double(transferred) / secondsElapsed : 0
            print(
                (topologies.count > 1 ? "\(topology.name): " : "")
                    + "acked=\(stats.spoutAcked) failed=\(stats.spoutFailed) emitted=\(stats.emitted) tuples_per_sec=\(Int(rate))"
            )
        }
    }
}
