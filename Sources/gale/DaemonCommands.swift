import ArgumentParser
import Foundation
import GaleCoordination
import GaleDaemons
import Logging

/// Options every daemon takes. Each flag overrides its key of the configuration file (see
/// docs/configuration.md).
struct DaemonOptions: ParsableArguments {
    @OptionGroup var file: ConfigFileOption

    @Option(help: "ZooKeeper connect string HOST:PORT[,HOST:PORT...] (zookeeper.servers).")
    var zookeeper: String?

    @Option(parsing: .unconditional, help: "ZooKeeper session timeout in seconds (zookeeper.session.timeout.secs).")
    var sessionTimeout: Double?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (log.level).")
    var logLevel: String?

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if let sessionTimeout, !(sessionTimeout >= 1) || !sessionTimeout.isFinite {
            throw ValidationError("--session-timeout must be at least 1 second")
        }
        if let zookeeper {
            for part in zookeeper.split(separator: ",") where Endpoint(String(part)) == nil {
                throw ValidationError("invalid --zookeeper '\(zookeeper)': expected HOST:PORT[,HOST:PORT...]")
            }
        }
    }

    /// The configuration file's values, then the environment's, then these flags'. The
    /// environment variables of the keys in `flagged`, which the caller's flags set, are not read.
    func config(flagged: Set<String> = []) throws -> GaleConfig {
        var flagged = flagged
        if zookeeper != nil { flagged.insert("zookeeper.servers") }
        if logLevel != nil { flagged.insert("log.level") }
        do {
            var config = try file.load(flagged: flagged)
            if let zookeeper { try config.set("zookeeper.servers", text: zookeeper, source: .flag("--zookeeper")) }
            try config.set(
                "zookeeper.session.timeout.secs",
                sessionTimeout.map(ConfigValue.double),
                source: .flag("--session-timeout")
            )
            try config.set("log.level", logLevel.map(ConfigValue.text), source: .flag("--log-level"))
            return config
        } catch {
            throw CLIError("\(error)")
        }
    }

    /// The daemon's logger; every logger the process creates from now on (its ZooKeeper
    /// client's included) logs at `log.level` too.
    func logger(_ label: String, _ config: GaleConfig) -> Logger {
        ProcessLogging.setLevel(config.text("log.level").flatMap(Logger.Level.init(rawValue:)) ?? .info)
        return Logger(label: label)
    }

    static func session(_ config: GaleConfig) -> Duration {
        .milliseconds(Int64((config.seconds("zookeeper.session.timeout.secs") ?? 10) * 1000))
    }

    /// The one line `daemon` exits with when it cannot start: the error, and for a ZooKeeper
    /// refusal the setting to look at.
    static func startFailure(_ daemon: String, _ error: any Error, _ config: GaleConfig) -> CLIError {
        var hint = ""
        switch error as? ZooKeeperError {
        case .authFailed?:
            hint = " (zookeeper.auth.file \(config.zookeeperAuthFile() ?? "?"))"
        case .noAuth? where config.zookeeperAuthFile() == nil:
            hint = " (its nodes have ZooKeeper ACLs: set zookeeper.auth.file, docs/security.md)"
        default:
            break
        }
        return CLIError("\(daemon) cannot start: \(error)\(hint)")
    }
}

struct NimbusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nimbus",
        abstract: "Run a nimbus daemon (HTTP API, scheduler; one of several is leader)."
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(parsing: .unconditional, help: "HTTP port of the API (nimbus.port, default 8080).")
    var port: Int?

    @Option(help: "Host to listen on and advertise (nimbus.host, default 127.0.0.1).")
    var host: String?

    @Option(help: "Directory for topology binaries (nimbus.data.dir, default LOCAL_DIR/nimbus).")
    var dataDir: String?

    @Option(
        parsing: .unconditional,
        help: "Seconds of missing worker heartbeats before nimbus moves a worker (nimbus.worker.timeout.secs)."
    )
    var workerTimeout: Double?

    func validate() throws {
        if let port, !(0...65_535).contains(port) { throw ValidationError("--port must be 0...65535, got \(port)") }
        if let workerTimeout, !(workerTimeout > 0) || !workerTimeout.isFinite {
            throw ValidationError("--worker-timeout must be positive")
        }
    }

    /// The daemon's options: flags over environment over file over defaults.
    func options() throws -> (NimbusOptions, GaleConfig, warning: String?) {
        var config = try daemon.config()
        do {
            try config.set("nimbus.port", port.map(ConfigValue.int), source: .flag("--port"))
            try config.set("nimbus.host", host.map(ConfigValue.text), source: .flag("--host"))
            try config.set("nimbus.data.dir", dataDir.map(ConfigValue.text), source: .flag("--data-dir"))
            try config.set(
                "nimbus.worker.timeout.secs",
                workerTimeout.map(ConfigValue.double),
                source: .flag("--worker-timeout")
            )
            guard let directory = config.dataDirectory("nimbus") else { throw config.missing("nimbus.data.dir") }
            let host = config.text("nimbus.host") ?? "127.0.0.1"
            let port = config.int("nimbus.port") ?? 8080
            let (authenticator, warning) = try config.nimbusAuthenticator(host: host, port: port)
            let tls = try config.nimbusTLS()
            let options = NimbusOptions(
                zookeeper: try config.zookeeperConnectString(),
                host: host,
                port: port,
                dataDirectory: directory.path,
                sessionTimeout: DaemonOptions.session(config),
                workerTimeoutSeconds: config.seconds("nimbus.worker.timeout.secs") ?? 30,
                authenticator: authenticator,
                clusterSecret: try config.clusterSecret(),
                zookeeperAuth: try config.zookeeperAuth(),
                tls: tls?.server,
                peerTLS: tls?.peers,
                events: try config.nimbusEvents()
            )
            return (options, config, warning)
        } catch {
            throw CLIError("\(error)")
        }
    }

    func run() async throws {
        let (options, config, warning) = try options()
        let logger = daemon.logger("gale.nimbus", config)
        if let warning { logger.warning("\(warning)") }
        let executor = BlockingExecutor(label: "gale.nimbus")
        // Connecting to ZooKeeper blocks: off the cooperative pool, like everything nimbus runs.
        try await withTaskExecutorPreference(executor) {
            let nimbus: Nimbus
            do {
                nimbus = try Nimbus(options: options, logger: logger)
            } catch {
                throw DaemonOptions.startFailure("nimbus", error, config)
            }
            do {
                try await nimbus.run(executor: executor)
            } catch let error as HTTPServerError {
                throw CLIError("nimbus cannot start: \(error)")
            }
        }
    }
}

struct SupervisorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervisor",
        abstract: "Run a supervisor daemon (starts and restarts this host's workers)."
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(
        help:
            "Nimbus HOST:PORT[,HOST:PORT...] to try after the nimbus processes ZooKeeper's election names (nimbus.seeds)."
    )
    var nimbus: String?

    @Option(help: "Worker ports this supervisor offers, comma separated (supervisor.slots.ports).")
    var slots: String?

    @Option(help: "Host the workers listen on (supervisor.host, default 127.0.0.1).")
    var host: String?

    @Option(help: "Directory for binaries, worker files and logs (supervisor.data.dir, default LOCAL_DIR/supervisor).")
    var dataDir: String?

    @Option(help: "Supervisor id (supervisor.id; default: kept in the data directory).")
    var id: String?

    @Option(
        parsing: .unconditional,
        help: "Seconds a worker survives without reaching its supervisor (supervisor.worker.orphan.timeout.secs)."
    )
    var orphanTimeout: Double?

    @Flag(
        inversion: .prefixedNo,
        help: "On SIGTERM leave the workers running for the next supervisor to adopt (supervisor.keep.workers)."
    )
    var keepWorkers: Bool?

    @Option(
        help:
            "The user (name or uid) the workers run as (supervisor.worker.user; required when the supervisor runs as root)."
    )
    var workerUser: String?

    @Option(help: "Address of the HTTP endpoint: /metrics and worker logs (supervisor.http.host, default: --host).")
    var httpHost: String?

    @Option(parsing: .unconditional, help: "Port of the HTTP endpoint (supervisor.http.port, default 8000; 0: any).")
    var httpPort: Int?

    func parsedSlots() throws -> [Int]? {
        guard let slots else { return nil }
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
        if let orphanTimeout, !(orphanTimeout > 0) || !orphanTimeout.isFinite {
            throw ValidationError("--orphan-timeout must be positive")
        }
        if let httpPort, !(0...65_535).contains(httpPort) {
            throw ValidationError("--http-port must be 0...65535, got \(httpPort)")
        }
    }

    /// The daemon's options: flags over environment over file over defaults.
    func options() throws -> (SupervisorOptions, GaleConfig) {
        var config = try daemon.config(flagged: nimbus == nil ? [] : ["nimbus.seeds"])
        do {
            if let nimbus { try config.set("nimbus.seeds", text: nimbus, source: .flag("--nimbus")) }
            try config.set("supervisor.slots.ports", try parsedSlots().map(ConfigValue.ints), source: .flag("--slots"))
            try config.set("supervisor.host", host.map(ConfigValue.text), source: .flag("--host"))
            try config.set("supervisor.data.dir", dataDir.map(ConfigValue.text), source: .flag("--data-dir"))
            try config.set("supervisor.id", id.map(ConfigValue.text), source: .flag("--id"))
            try config.set(
                "supervisor.worker.orphan.timeout.secs",
                orphanTimeout.map(ConfigValue.double),
                source: .flag("--orphan-timeout")
            )
            try config.set(
                "supervisor.keep.workers",
                keepWorkers.map(ConfigValue.bool),
                source: .flag("--keep-workers")
            )
            try config.set("supervisor.worker.user", workerUser.map(ConfigValue.text), source: .flag("--worker-user"))
            try config.set("supervisor.http.host", httpHost.map(ConfigValue.text), source: .flag("--http-host"))
            try config.set("supervisor.http.port", httpPort.map(ConfigValue.int), source: .flag("--http-port"))
            guard let directory = config.dataDirectory("supervisor") else {
                throw config.missing("supervisor.data.dir")
            }
            guard let slots = config.ports("supervisor.slots.ports") else {
                throw config.missing("supervisor.slots.ports")
            }
            let options = SupervisorOptions(
                zookeeper: try config.zookeeperConnectString(),
                nimbus: try config.nimbusSeeds(),
                host: config.text("supervisor.host") ?? "127.0.0.1",
                slots: slots,
                dataDirectory: directory.path,
                id: config.text("supervisor.id"),
                orphanTimeoutSeconds: config.seconds("supervisor.worker.orphan.timeout.secs") ?? 20,
                sessionTimeout: DaemonOptions.session(config),
                stopWorkersOnExit: !(config.bool("supervisor.keep.workers") ?? false),
                workerEnvironment: config.map("supervisor.worker.env") ?? [:],
                clusterSecret: try config.clusterSecret(),
                zookeeperAuth: try config.zookeeperAuth(),
                zookeeperAuthFile: config.zookeeperAuthFile(),
                tls: try config.clientTLS(),
                workerIsolation: try config.workerIsolation(),
                transportTLS: try config.transportTLS(),
                httpHost: config.text("supervisor.http.host"),
                httpPort: config.int("supervisor.http.port") ?? 8000,
                httpTLS: try config.supervisorHTTPTLS()
            )
            return (options, config)
        } catch {
            throw CLIError("\(error)")
        }
    }

    func run() async throws {
        let (options, config) = try options()
        let logger = daemon.logger("gale.supervisor", config)
        let executor = BlockingExecutor(label: "gale.supervisor")
        // Connecting to ZooKeeper blocks: off the cooperative pool, like everything the supervisor runs.
        try await withTaskExecutorPreference(executor) {
            let supervisor: SupervisorDaemon
            do {
                supervisor = try SupervisorDaemon(options: options, logger: logger)
            } catch {
                throw DaemonOptions.startFailure("supervisor", error, config)
            }
            do {
                try await supervisor.run(executor: executor)
            } catch let error as HTTPServerError {
                throw CLIError("supervisor cannot start: \(error)")
            } catch let error as ZooKeeperError {
                throw CLIError("supervisor cannot start: \(error)")
            }
        }
    }
}
