import ArgumentParser
import Dispatch
import Foundation
import GaleCoordination
import GaleDaemons
import Logging

/// Options every daemon takes.
struct DaemonOptions: ParsableArguments {
    @Option(help: "ZooKeeper connect string HOST:PORT[,HOST:PORT...].")
    var zookeeper: String

    @Option(parsing: .unconditional, help: "ZooKeeper session timeout in seconds.")
    var sessionTimeout: Double = 10

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard sessionTimeout >= 1, sessionTimeout.isFinite else {
            throw ValidationError("--session-timeout must be at least 1 second")
        }
        for part in zookeeper.split(separator: ",") where Endpoint(String(part)) == nil {
            throw ValidationError("invalid --zookeeper '\(zookeeper)': expected HOST:PORT[,HOST:PORT...]")
        }
    }

    /// The daemon's logger; every logger the process creates from now on (its ZooKeeper
    /// client's included) logs at `--log-level` too.
    func logger(_ label: String) -> Logger {
        ProcessLogging.setLevel(Logger.Level(rawValue: logLevel) ?? .info)
        return Logger(label: label)
    }

    var session: Duration { .milliseconds(Int64(sessionTimeout * 1000)) }
}

/// Waits for SIGTERM or SIGINT.
func waitForTermination() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let queue = DispatchQueue(label: "gale.signals")
        let once = OnceBox(continuation)
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { once.fire() }
            source.resume()
            once.keep(source)
        }
    }
}

private final class OnceBox: @unchecked Sendable {
    private var continuation: CheckedContinuation<Void, Never>?
    private var sources: [any DispatchSourceSignal] = []
    private let lock = NSLock()

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }

    func keep(_ source: any DispatchSourceSignal) { lock.withLock { sources.append(source) } }

    func fire() {
        let c = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            defer { continuation = nil }
            return continuation
        }
        c?.resume()
    }
}

struct NimbusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nimbus",
        abstract: "Run a nimbus daemon (HTTP API, scheduler; one of several is leader)."
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(parsing: .unconditional, help: "HTTP port of the API.")
    var port: Int

    @Option(help: "Host to listen on and advertise.")
    var host: String = "127.0.0.1"

    @Option(help: "Directory for topology binaries.")
    var dataDir: String

    @Option(parsing: .unconditional, help: "Seconds of missing worker heartbeats before nimbus moves a worker.")
    var workerTimeout: Double = 30

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0...65535, got \(port)") }
        guard workerTimeout > 0, workerTimeout.isFinite else {
            throw ValidationError("--worker-timeout must be positive")
        }
    }

    func run() async throws {
        let logger = daemon.logger("gale.nimbus")
        let nimbus: Nimbus
        do {
            nimbus = try Nimbus(
                options: NimbusOptions(
                    zookeeper: daemon.zookeeper,
                    host: host,
                    port: port,
                    dataDirectory: dataDir,
                    sessionTimeout: daemon.session,
                    workerTimeoutSeconds: workerTimeout
                ),
                logger: logger
            )
        } catch {
            throw CLIError("nimbus cannot start: \(error)")
        }
        do {
            _ = try await nimbus.start()
        } catch {
            await nimbus.stop()
            throw CLIError("nimbus cannot start: \(error)")
        }
        await waitForTermination()
        logger.info("SIGTERM: stopping")
        await nimbus.stop()
    }
}

struct SupervisorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervisor",
        abstract: "Run a supervisor daemon (starts and restarts this host's workers)."
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(help: "Nimbus HOST:PORT[,HOST:PORT...] to try after the nimbus processes ZooKeeper's election names.")
    var nimbus: String?

    @Option(help: "Worker ports this supervisor offers, comma separated.")
    var slots: String

    @Option(help: "Host the workers listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Directory for binaries, worker files and logs.")
    var dataDir: String

    @Option(help: "Supervisor id (default: kept in the data directory).")
    var id: String?

    @Option(parsing: .unconditional, help: "Seconds a worker survives without reaching its supervisor.")
    var orphanTimeout: Double = 20

    @Flag(help: "On SIGTERM leave the workers running for the next supervisor to adopt.")
    var keepWorkers = false

    func parsedSlots() throws -> [Int] {
        let ports = slots.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ports.isEmpty, ports.allSatisfy({ $0.map { (1...65_535).contains($0) } ?? false }) else {
            throw ValidationError("invalid --slots '\(slots)': expected ports like 6700,6701")
        }
        let values = ports.compactMap { $0 }
        guard Set(values).count == values.count else { throw ValidationError("--slots lists a port twice: '\(slots)'") }
        return values
    }

    func validate() throws {
        _ = try parsedSlots()
        if let nimbus, case .failure(let error) = NimbusClient.parseAddresses(nimbus) {
            throw ValidationError("\(error)")
        }
        guard orphanTimeout > 0, orphanTimeout.isFinite else {
            throw ValidationError("--orphan-timeout must be positive")
        }
    }

    func run() async throws {
        let logger = daemon.logger("gale.supervisor")
        let supervisor: SupervisorDaemon
        do {
            supervisor = try SupervisorDaemon(
                options: SupervisorOptions(
                    zookeeper: daemon.zookeeper,
                    nimbus: nimbus.flatMap { try? NimbusClient.parseAddresses($0).get() } ?? [],
                    host: host,
                    slots: try parsedSlots(),
                    dataDirectory: dataDir,
                    id: id,
                    orphanTimeoutSeconds: orphanTimeout,
                    sessionTimeout: daemon.session,
                    stopWorkersOnExit: !keepWorkers
                ),
                logger: logger
            )
            try await supervisor.start()
        } catch {
            throw CLIError("supervisor cannot start: \(error)")
        }
        await waitForTermination()
        logger.info("SIGTERM: stopping")
        await supervisor.stop()
    }
}
