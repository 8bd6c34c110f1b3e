import ArgumentParser
import Foundation
import Gale
import GaleCoordination
import GaleDaemons
import Logging

/// The `gale` command: submit and manage topologies, run the nimbus and supervisor daemons.
@main
struct GaleCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gale",
        abstract: "Gale cluster command line: topologies, nimbus and supervisors.",
        discussion: """
            Every command reads the YAML configuration file named by --config-file FILE, else \
            $GALE_CONFIG, else /etc/gale/gale.yaml, else ~/.gale/gale.yaml (docs/configuration.md); \
            flags and environment variables override its values. Commands that talk to nimbus find \
            it with --nimbus HOST:PORT, else GALE_NIMBUS, else nimbus.seeds in the file.
            """,
        subcommands: [
            Submit.self, List.self, Status.self, Logs.self, Kill.self, Activate.self, Deactivate.self, Rebalance.self,
            Supervisors.self, Monitor.self, SetLogLevel.self, Debug.self, Version.self, NimbusCommand.self,
            SupervisorCommand.self, ConfigCommand.self, TokenCommand.self, ZooKeeperCommand.self,
        ]
    )
}

/// An error printed as one line, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `--config-file`, taken by every command.
struct ConfigFileOption: ParsableArguments {
    @Option(
        name: .customLong("config-file"),
        help: ArgumentHelp(
            "The YAML configuration file (default: $GALE_CONFIG, else /etc/gale/gale.yaml, else ~/.gale/gale.yaml).",
            valueName: "file"
        )
    )
    var path: String?

    /// Defaults, then the file, then the environment variables (but for the keys in `flagged`,
    /// which flags set).
    func load(flagged: Set<String> = []) throws -> GaleConfig {
        do {
            return try GaleConfig.load(file: path, flagged: flagged)
        } catch {
            throw CLIError("\(error)")
        }
    }
}

/// `--nimbus` and `--timeout`, shared by the client commands.
struct ClientOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The nimbus HTTP addresses HOST:PORT[,HOST:PORT...] (default: $GALE_NIMBUS or nimbus.seeds).",
            discussion: "With several, each is tried in turn and the leader is followed."
        )
    )
    var nimbus: String?

    @Option(parsing: .unconditional, help: "Seconds to wait for each nimbus (client.timeout.secs, default 30).")
    var timeout: Double?

    @OptionGroup var file: ConfigFileOption

    /// The configuration with `--nimbus` and `--timeout` applied.
    func config() throws -> GaleConfig {
        var config = try file.load(flagged: nimbus == nil ? [] : ["nimbus.seeds"])
        do {
            if let nimbus { try config.set("nimbus.seeds", text: nimbus, source: .flag("--nimbus")) }
            try config.set("client.timeout.secs", timeout.map(ConfigValue.double), source: .flag("--timeout"))
        } catch {
            throw CLIError("\(error)")
        }
        return config
    }

    /// The nimbus addresses from `--nimbus`, else `GALE_NIMBUS`, else `nimbus.seeds` in the file.
    func addresses(_ config: GaleConfig) throws -> [Endpoint] {
        let endpoints: [Endpoint]
        do {
            endpoints = try config.nimbusSeeds()
        } catch {
            throw CLIError("\(error)")
        }
        guard !endpoints.isEmpty else {
            throw CLIError(
                "no nimbus address: pass --nimbus HOST:PORT[,HOST:PORT...], set GALE_NIMBUS or set nimbus.seeds in "
                    + (config.file ?? "a configuration file (--config-file FILE)")
            )
        }
        return endpoints
    }

    func validate() throws {
        if let timeout, !(timeout > 0) || !timeout.isFinite {
            throw ValidationError("--timeout must be a positive number of seconds")
        }
    }

    /// Sends a request to the nimbus leader (see ``NimbusClient``); an error answer is thrown
    /// as its message.
    func call(
        _ method: String,
        _ path: String,
        body: [UInt8] = [],
        bodyFile: String? = nil
    ) async throws -> HTTPResponse {
        let config = try config()
        let seconds = config.seconds("client.timeout.secs") ?? 30
        let token: String?
        let tls: HTTPClientTLS?
        do {
            token = try config.clientToken()
            tls = try config.clientTLS()
        } catch {
            throw CLIError("\(error)")
        }
        let client = NimbusClient(
            addresses: try addresses(config),
            timeout: .milliseconds(Int64(seconds * 1000)),
            credential: token,
            tls: tls
        )
        let response: HTTPResponse
        do {
            response = try await client.send(
                method,
                path: path,
                body: body,
                bodyFile: bodyFile,
                headers: bodyFile != nil
                    ? [(name: "content-type", value: "application/octet-stream")]
                    : body.isEmpty ? [] : [(name: "content-type", value: "application/json")]
            )
        } catch {
            throw CLIError("\(error)")
        }
        guard (200..<300).contains(response.status) else {
            throw CLIError(response.errorMessage ?? "nimbus answered \(response.status)")
        }
        return response
    }

    func get<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T {
        try decode(type, try await call("GET", path))
    }

    func post<T: Decodable>(_ type: T.Type, _ path: String, _ body: some Encodable) async throws -> T {
        try decode(type, try await call("POST", path, body: try ClusterJSON.encode(body)))
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse) throws -> T {
        do {
            return try response.decodeJSON(type)
        } catch {
            throw CLIError("unexpected answer from nimbus: \(error)")
        }
    }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Parses `key=value`.
func keyValue(_ text: String, flag: String) throws -> (String, String) {
    guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
        throw ValidationError("\(flag) expects key=value, got '\(text)'")
    }
    return (String(text[..<eq]), String(text[text.index(after: eq)...]))
}

// MARK: - submit

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Upload a topology binary to nimbus and start it.")

    @Argument(help: "The topology binary (built against Gale).")
    var binary: String

    @Option(help: "Topology name (default: the name the binary declares).")
    var name: String?

    @Option(help: "Which topology of the binary, when it holds several.")
    var topology: String?

    @Option(parsing: .unconditional, help: "Number of worker processes (default: topology.workers of the topology).")
    var workers: Int?

    @Option(name: .customLong("config"), help: "A setting as key=value (repeatable).")
    var settings: [String] = []

    @OptionGroup var client: ClientOptions

    func validate() throws {
        if let workers, workers <= 0 { throw ValidationError("--workers must be positive, got \(workers)") }
        for setting in settings { _ = try keyValue(setting, flag: "--config") }
    }

    func run() async throws {
        try Self.checkTopologyBinary(binary)
        let description = try Self.describe(binary, topology: topology)
        var config: [String: String] = [:]
        for setting in settings {
            let (key, value) = try keyValue(setting, flag: "--config")
            var probe = description.config
            do {
                try probe.set(key, value)
            } catch {
                throw CLIError("\(error)")
            }
            config[key] = value
        }
        let blob = try client.decode(
            NimbusAPI.BlobResponse.self,
            try await client.call("POST", NimbusRoute.uploadBlob.path(), bodyFile: binary)
        )
        let request = NimbusAPI.SubmitRequest(
            name: name ?? description.name,
            digest: blob.digest,
            description: description,
            workers: workers,
            config: config
        )
        let submitted = try await client.post(NimbusAPI.SubmitResponse.self, NimbusRoute.submit.path(), request)
        print("submitted \(submitted.name) as \(submitted.id) (binary sha256 \(blob.digest), \(blob.size) bytes)")
        if let replicas = blob.replicas {
            print("binary stored on \(replicas.count) nimbus: \(replicas.joined(separator: ", "))")
        }
        for (peer, reason) in (blob.notReplicated ?? [:]).sorted(by: { $0.key < $1.key }) {
            print("warning: nimbus \(peer) did not take the binary (\(reason)); it fetches it from the others later")
        }
    }

    /// Text every topology binary holds (the abstract of its command line, in GaleMain's
    /// `TopologyCommand`): a file without it is not run.
    static let topologyBinaryMarker = Array("A Gale topology binary.".utf8)

    /// Checks that `path` is an executable ELF file built with Gale (it holds the marker), read
    /// in chunks: submit runs `FILE describe`, so it runs nothing else.
    static func checkTopologyBinary(_ path: String) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("\(path): no such file")
        }
        guard !isDirectory.boolValue else {
            throw CLIError(
                "\(path) is a directory, not a topology binary (give the executable, e.g. .build/release/NAME)"
            )
        }
        guard fm.isExecutableFile(atPath: path) else {
            throw CLIError("\(path) is not executable, so it is not a Gale topology binary")
        }
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw CLIError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { try? file.close() }
        let marker = Data(topologyBinaryMarker)
        var carry = Data()
        var first = true
        while true {
            let chunk: Data
            do {
                chunk = try file.read(upToCount: 4 << 20) ?? Data()
            } catch {
                throw CLIError("cannot read \(path): \(error.localizedDescription)")
            }
            if first {
                guard chunk.starts(with: [0x7f, 0x45, 0x4c, 0x46]) else {
                    throw CLIError("\(path) is not an ELF executable, so it is not a Gale topology binary")
                }
                first = false
            }
            guard !chunk.isEmpty else { break }
            // The marker may straddle two chunks: search the end of the last one too.
            let window = carry + chunk
            if window.range(of: marker) != nil { return }
            carry = window.suffix(marker.count - 1)
        }
        throw CLIError(
            "\(path) is not a Gale topology binary (it does not link GaleMain's TopologyCommand); it was not run"
        )
    }

    /// Runs `binary describe` in an empty temporary directory and parses its JSON.
    static func describe(_ binary: String, topology: String?) throws -> TopologyDescription {
        let scratch = NSTemporaryDirectory() + "gale-describe-\(UUID().uuidString)"
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        } catch {
            throw CLIError("cannot create a directory to run `\(binary) describe` in: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["describe"] + (topology.map { ["--topology", $0] } ?? [])
        process.currentDirectoryURL = URL(fileURLWithPath: scratch)
        let output = Pipe()
        // A file, not a pipe: the child never blocks on a full stderr while stdout is read.
        let errorsPath = scratch + "/stderr"
        _ = FileManager.default.createFile(atPath: errorsPath, contents: nil)
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: errorsPath) ?? FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw CLIError(
                "\(binary) cannot be run, so it is not a Gale topology binary: \(error.localizedDescription)"
            )
        }
        let deadline = Date().addingTimeInterval(30)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        while process.isRunning, Date() < deadline { usleep(10_000) }
        let errorText = (try? String(contentsOfFile: errorsPath, encoding: .utf8)) ?? ""
        if process.isRunning {
            process.terminate()
            throw CLIError("\(binary) did not answer `describe` within 30 s, so it is not a Gale topology binary")
        }
        // The binary's own answer to a wrong or missing --topology names its topologies.
        if process.terminationStatus != 0,
            let line = errorText.split(separator: "\n").first(where: { $0.hasPrefix("Error: ") }),
            line.contains("--topology") || line.contains("unknown topology")
        {
            throw CLIError("\(binary): \(line.dropFirst("Error: ".count))")
        }
        guard process.terminationStatus == 0,
            let description = try? JSONDecoder().decode(TopologyDescription.self, from: data),
            description.v == 1, !description.components.isEmpty
        else {
            throw CLIError(
                "\(binary) is not a Gale topology binary (`\(binary) describe` printed no topology description)"
            )
        }
        return description
    }
}

// MARK: - list, status

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the topologies.")

    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let topologies = try await client.get([NimbusAPI.TopologySummary].self, NimbusRoute.topologies.path())
        if json { return try printJSON(topologies) }
        if topologies.isEmpty { return print("no topologies") }
        let rows = topologies.map { t in
            [
                t.name, t.id, t.status.rawValue + (t.problems.isEmpty ? "" : " (see problems)"),
                "\(t.runningWorkers)/\(t.assignedWorkers)/\(t.requestedWorkers)",
                "\(t.tasks)", Table.duration(t.uptimeSeconds),
            ]
        }
        print(
            Table.render(
                header: ["NAME", "ID", "STATUS", "WORKERS run/assigned/requested", "TASKS", "UPTIME"],
                rows: rows
            )
        )
        for t in topologies {
            for problem in t.problems { print("problem: \(t.name): \(problem)") }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a topology's components and workers.")

    @Argument(help: "Topology name or id.") var name: String
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let status = try await client.get(
            NimbusAPI.TopologyStatusResponse.self,
            NimbusRoute.topology.path(name)
        )
        if json { return try printJSON(status) }
        print(
            "\(status.name) (\(status.id)) \(status.status.rawValue), epoch \(status.epoch), up \(Table.duration(status.uptimeSeconds))"
        )
        let rows = status.components.map { c in
            [
                c.id, "\(c.tasks)", "\(c.emitted)", "\(c.transferred)", "\(c.acked)", "\(c.failed)",
                String(format: "%.2f", c.completeLatencyMs), String(format: "%.3f", c.executeLatencyMs),
                String(format: "%.2f", c.capacity), c.recentErrors.last.map { Table.clip($0.message, 40) } ?? "",
            ]
        }
        print(
            Table.render(
                header: [
                    "COMPONENT", "TASKS", "EMITTED", "TRANSFERRED", "ACKED", "FAILED", "COMPLETE ms", "EXECUTE ms",
                    "CAPACITY", "LAST ERROR",
                ],
                rows: rows
            )
        )
        for c in status.components {
            for line in c.details ?? [] { print("\(c.id) \(line)") }
        }
        print("")
        let workers = status.workers.map { w in
            [
                w.host, "\(w.port)", w.supervisorId, w.state, w.pid.map(String.init) ?? "-",
                Table.duration(w.uptimeSeconds), "\(w.restarts)", "\(w.tasks.count)",
            ]
        }
        print(
            Table.render(
                header: ["HOST", "PORT", "SUPERVISOR", "STATE", "PID", "UPTIME", "RESTARTS", "TASKS"],
                rows: workers
            )
        )
        for problem in status.problems { print("problem: \(problem)") }
        for error in status.errors { print("error: \(error)") }
    }
}

struct Supervisors: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the live supervisors and their slots.")

    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let rows = try await client.get([NimbusAPI.SupervisorRow].self, NimbusRoute.supervisors.path())
        if json { return try printJSON(rows) }
        print(
            Table.render(
                header: ["ID", "HOST", "SLOTS", "USED", "LAST REPORT"],
                rows: rows.map { s in
                    [
                        s.id, s.host, s.slots.map(String.init).joined(separator: ","),
                        s.usedSlots.map(String.init).joined(separator: ","),
                        s.lastReportAgeSeconds.map { String(format: "%.1fs ago", $0) } ?? "never",
                    ]
                }
            )
        )
    }
}

// MARK: - kill, activate, deactivate, rebalance

struct Kill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Kill a topology: deactivate its spouts, wait, then remove its workers."
    )

    @Argument(help: "Topology name or id.") var name: String
    @Option(
        parsing: .unconditional,
        help: "Seconds between deactivation and removal (default: the topology's message timeout)."
    )
    var wait: Double?
    @OptionGroup var client: ClientOptions

    func validate() throws {
        if let wait, !(wait >= 0) || !wait.isFinite {
            throw ValidationError("--wait must be a non-negative number of seconds, got \(wait)")
        }
    }

    func run() async throws {
        let summary = try await client.post(
            NimbusAPI.TopologySummary.self,
            NimbusRoute.kill.path(name),
            NimbusAPI.KillRequest(waitSeconds: wait)
        )
        print("killing \(summary.name) (\(summary.id))")
    }
}

struct Activate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Activate a topology's spouts.")
    @Argument(help: "Topology name or id.") var name: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let s = try await client.decode(
            NimbusAPI.TopologySummary.self,
            try await client.call("POST", NimbusRoute.activate.path(name))
        )
        print("\(s.name) is \(s.status.rawValue)")
    }
}

struct Deactivate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Deactivate a topology's spouts.")
    @Argument(help: "Topology name or id.") var name: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let s = try await client.decode(
            NimbusAPI.TopologySummary.self,
            try await client.call("POST", NimbusRoute.deactivate.path(name))
        )
        print("\(s.name) is \(s.status.rawValue)")
    }
}

struct Rebalance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Change a topology's worker count or component parallelism (its workers restart)."
    )

    @Argument(help: "Topology name or id.") var name: String
    @Option(parsing: .unconditional, help: "New number of workers.") var workers: Int?
    @Option(help: "component=tasks (repeatable).") var parallelism: [String] = []
    @OptionGroup var client: ClientOptions

    func validate() throws {
        if let workers, workers <= 0 { throw ValidationError("--workers must be positive, got \(workers)") }
        for p in parallelism {
            let (_, value) = try keyValue(p, flag: "--parallelism")
            guard let n = Int(value), n > 0 else {
                throw ValidationError("--parallelism \(p): tasks must be a positive integer")
            }
        }
        if workers == nil && parallelism.isEmpty { throw ValidationError("give --workers and/or --parallelism") }
    }

    func run() async throws {
        var map: [String: Int] = [:]
        for p in parallelism {
            let (key, value) = try keyValue(p, flag: "--parallelism")
            map[key] = Int(value)
        }
        let s = try await client.post(
            NimbusAPI.TopologySummary.self,
            NimbusRoute.rebalance.path(name),
            NimbusAPI.RebalanceRequest(workers: workers, parallelism: map.isEmpty ? nil : map)
        )
        print("rebalancing \(s.name): \(s.requestedWorkers) workers, \(s.tasks) tasks")
    }
}

// MARK: - Tables

enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(max(0, seconds))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(s % 60)s" }
        return "\(s / 3600)h\(s % 3600 / 60)m"
    }

    static func clip(_ text: String, _ n: Int) -> String { text.count <= n ? text : String(text.prefix(n - 1)) + "…" }
}

// MARK: - config

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Inspect the configuration file.",
        subcommands: [Show.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every key's effective value and where it came from (default, file:line, env, flag)."
        )

        @OptionGroup var file: ConfigFileOption
        @Flag(help: "Print JSON.") var json = false

        struct Output: Encodable {
            var file: String?
            var keys: [GaleConfig.Shown]
        }

        func run() async throws {
            let config = try file.load()
            let rows = config.shown()
            if json { return try printJSON(Output(file: config.file, keys: rows)) }
            print("# configuration file: \(config.file ?? "none")")
            print(
                Table.render(
                    header: ["KEY", "VALUE", "SOURCE"],
                    rows: rows.map { [$0.key, $0.value?.description ?? "-", $0.source] }
                )
            )
        }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create API tokens and cluster secrets.",
        subcommands: [Create.self, Secret.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token: print its secret (for the caller) and its auth.tokens entry (for gale.yaml).",
            discussion: """
                The secret is printed once and stored nowhere: nimbus keeps only its SHA-256. Give the secret to \
                its user (GALE_TOKEN or client.token.file), add the entry under auth.tokens in every nimbus's \
                gale.yaml and restart them. Revoke a token by deleting its entry.
                """
        )

        @Argument(help: "The token's name (who or what uses it): it appears in the audit log and as topology owner.")
        var name: String

        @Option(help: "admin, submitter or viewer.")
        var role: String

        func validate() throws {
            guard Role(rawValue: role) != nil else {
                throw ValidationError("--role must be admin, submitter or viewer")
            }
            guard !name.isEmpty, name.utf8.count <= 64,
                name.unicodeScalars.allSatisfy({
                    CharacterSet.alphanumerics.contains($0) || "-_.@".unicodeScalars.contains($0)
                })
            else {
                throw ValidationError(
                    "invalid token name '\(name)': use letters, digits, '-', '_', '.' or '@' (at most 64)"
                )
            }
        }

        func run() async throws {
            let secret = GaleDaemons.Secret.generate()
            print("secret: \(secret)")
            print("# gale.yaml of every nimbus:")
            print("auth.tokens:")
            print("  \(name): \(role) sha256:\(SHA256Digest.hex(of: Array(secret.utf8)))")
        }
    }

    struct Secret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cluster-secret",
            abstract: "Write a new cluster secret to a file (mode 0600) for cluster.secret.file.",
            discussion: "Copy the file to every nimbus and supervisor host; all must hold the same secret."
        )

        @Argument(help: "The file to create (it must not exist).")
        var file: String

        func run() async throws {
            let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw CLIError("cannot create \(file): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            let text = Array((GaleDaemons.Secret.generate() + "\n").utf8)
            guard text.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == text.count else {
                throw CLIError("cannot write \(file): \(String(cString: strerror(errno)))")
            }
            print("wrote a cluster secret to \(file); set cluster.secret.file: \(file) on every nimbus and supervisor")
        }
    }
}
