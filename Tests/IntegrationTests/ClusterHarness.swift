import CPosixSpawn
import Foundation
import GaleCoordination
import GaleDaemons
import GaleTestSupport

#if canImport(Glibc)
import Glibc
import Synchronization
#endif

/// A real cluster on loopback for one test: a ZooKeeper server of its own (so that the zxid it
/// reports moves only with this cluster's writes, whatever other tests run in parallel), and
/// nimbus and supervisors as `gale` processes, each with its own data directory and log under a
/// temporary directory.
final class ClusterHarness: @unchecked Sendable {
    let zooKeeper: String
    let root: String
    let binDirectory: String
    var nimbusPort = 0
    var nimbusPid: pid_t = 0
    var supervisors: [(id: String, pid: pid_t, slots: [Int], dir: String)] = []
    var extraPids: [pid_t] = []
    /// The port of each supervisor's HTTP endpoint (`/metrics`, worker logs), by id.
    var httpPorts: [String: Int] = [:]
    let output: String
    /// A topology name no other test uses (they share one ZooKeeper).
    let name = "wc" + UUID().uuidString.prefix(6).lowercased()

    /// The nimbus address list the CLI is given; `nil`: this harness's one nimbus on loopback.
    var nimbusAddresses: String?
    /// With ``secure()``: the `gale.yaml` every daemon and CLI call of this harness reads
    /// (tokens, cluster secret, the CLI's admin token).
    var securityConfig: String?
    /// With ``secure()``: each test token's secret by name (`admin`, `alice` and `bob`
    /// submitters, `viewer`), and the cluster secret as `cluster`.
    var secrets: [String: String] = [:]
    /// With ``secure(zookeeperAuth:tls:)`` given credentials: the file (mode 0600) `gale.yaml`
    /// names as `zookeeper.auth.file`.
    var zookeeperAuthFile: String?
    /// With ``secure(zookeeperAuth:tls:)`` and `tls`: the directory of the test CA (`ca.pem`,
    /// `ca.key`) and nimbus's certificate for 127.0.0.1 (`server.pem`, `server.key`), which
    /// `gale.yaml` names as `tls.ca.file`, `tls.cert.file` and `tls.key.file`.
    var tlsDirectory: String?

    /// Turns authentication on for what this harness starts from now on: writes a cluster secret
    /// (mode 0600), four tokens and a `gale.yaml` naming them, which the daemons and the CLI
    /// (as `admin`) read; with `zookeeperAuth`, also the ZooKeeper credentials file (mode 0600)
    /// and `zookeeper.auth.file`, so that the daemons and their workers use ZooKeeper ACLs; with
    /// `tls`, also a CA and nimbus's certificate (Tests/Fixtures/tls/make-certs) and the TLS keys,
    /// so that nimbus serves HTTPS and the CLI and the supervisors verify it against the CA; with
    /// `transportTLS` as well, the certificate serves clients too and `transport.tls` is on, so
    /// that the supervisors' workers talk mutual TLS with that certificate (all share one host).
    func secure(
        zookeeperAuth: ZooKeeperAuth? = nil,
        tls: Bool = false,
        tlsNames: [String] = ["IP:127.0.0.1"],
        transportTLS: Bool = false
    ) throws {
        var tokens: [String] = []
        for (name, role) in [("admin", "admin"), ("alice", "submitter"), ("bob", "submitter"), ("viewer", "viewer")] {
            let secret = UUID().uuidString + UUID().uuidString
            secrets[name] = secret
            tokens.append("  \(name): \(role) sha256:\(SHA256Digest.hex(of: Array(secret.utf8)))")
        }
        secrets["cluster"] = UUID().uuidString
        func privateFile(_ name: String, _ text: String) throws -> String {
            let path = "\(root)/\(name)"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o600)
            return path
        }
        let clusterFile = try privateFile("cluster-secret", secrets["cluster"] ?? "")
        let tokenFile = try privateFile("admin-token", secrets["admin"] ?? "")
        var zookeeperLine = ""
        if let zookeeperAuth {
            let file = try privateFile("zookeeper-auth", "\(zookeeperAuth.user):\(zookeeperAuth.password)\n")
            zookeeperAuthFile = file
            zookeeperLine = "zookeeper.auth.file: \(file)\n"
        }
        var tlsLines = ""
        if tls || transportTLS {
            let directory = try Self.makeCertificates(in: root + "/tls", sans: tlsNames, clientAuth: transportTLS)
            tlsDirectory = directory
            tlsLines =
                "tls.cert.file: \(directory)/server.pem\ntls.key.file: \(directory)/server.key\n"
                + "tls.ca.file: \(directory)/ca.pem\n" + (transportTLS ? "transport.tls: true\n" : "")
        }
        securityConfig = try privateFile(
            "gale.yaml",
            "auth.tokens:\n" + tokens.joined(separator: "\n") + "\ncluster.secret.file: \(clusterFile)\n"
                + "client.token.file: \(tokenFile)\n" + zookeeperLine + tlsLines
        )
    }

    /// Writes a new CA and a server certificate for `sans` it signed into `directory`
    /// (Tests/Fixtures/tls/make-certs, the `openssl` CLI), one that serves TLS clients too with
    /// `clientAuth`; returns `directory`.
    static func makeCertificates(
        in directory: String,
        sans: [String] = ["IP:127.0.0.1"],
        clientAuth: Bool = false
    ) throws -> String {
        let script = TestServices.repositoryRoot.appendingPathComponent("Tests/Fixtures/tls/make-certs").path
        let made = try run(script, (clientAuth ? ["--client-auth"] : []) + [directory] + sans)
        guard made.status == 0 else { throw SmokeTestFailure("make-certs failed: \(made.output)") }
        return directory
    }

    /// The URL of this harness's nimbus: `https://` with ``secure(zookeeperAuth:tls:)``'s TLS.
    var nimbusURL: String { "\(tlsDirectory == nil ? "http" : "https")://\(nimbus)" }

    /// `--config-file` of ``securityConfig``, when set.
    var configArguments: [String] { securityConfig.map { ["--config-file", $0] } ?? [] }

    /// The user a supervisor's workers run as when the tests run as root (a supervisor running
    /// as root needs one: `supervisor.worker.user`); `nil`: the tests' own user.
    static let workerUser: String? = geteuid() == 0 ? "nobody" : nil

    /// `--worker-user` of ``workerUser``, for every `gale supervisor` the tests start.
    static var workerArguments: [String] { workerUser.map { ["--worker-user", $0] } ?? [] }

    /// Makes `directory` writable by the workers, whoever they run as (``workerUser``): the test
    /// topology writes its ledger there.
    static func shareWithWorkers(_ directory: String) {
        chmod(directory, 0o777)
    }

    /// Starts the cluster's ZooKeeper with `startZooKeeper` (given its state directory; it returns
    /// the server's `host:port`), by default on loopback.
    init(
        _ name: String,
        startZooKeeper: (String) throws -> String = { try ClusterHarness.startZooKeeper(stateDirectory: $0) }
    ) throws {
        root = NSTemporaryDirectory() + "gale-\(name)-\(UUID().uuidString.prefix(8))"
        output = root + "/output"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        Self.shareWithWorkers(output)
        binDirectory = try Self.locateBinaries()
        zooKeeper = try startZooKeeper(root + "/zookeeper")
    }

    /// Runs `scripts/services start zookeeper` with its state under `stateDirectory`; returns
    /// the server's `host:port`.
    /// `launcher` runs the command (for example `ip netns exec NS`), `host` is the address
    /// ZooKeeper listens on (`GALE_SERVICES_HOST`).
    static func startZooKeeper(
        stateDirectory: String,
        launcher: [String] = [],
        host: String = "127.0.0.1"
    ) throws -> String {
        let script = TestServices.repositoryRoot.appendingPathComponent("scripts/services").path
        let command =
            launcher + [
                "/usr/bin/env", "GALE_SERVICES_DIR=\(stateDirectory)", "GALE_SERVICES_HOST=\(host)", script, "start",
                "zookeeper",
            ]
        let started = try run(command[0], Array(command.dropFirst()))
        guard started.status == 0,
            let env = try? String(contentsOfFile: stateDirectory + "/env", encoding: .utf8),
            let line = env.split(separator: "\n").first(where: { $0.hasPrefix("GALE_ZOOKEEPER=") })
        else {
            throw SmokeTestFailure("cannot start a ZooKeeper for the cluster test: \(started.output)")
        }
        return String(line.dropFirst("GALE_ZOOKEEPER=".count))
    }

    func stopZooKeeper() {
        let script = TestServices.repositoryRoot.appendingPathComponent("scripts/services").path
        _ = try? Self.run("/usr/bin/env", ["GALE_SERVICES_DIR=\(root)/zookeeper", script, "stop", "zookeeper"])
    }

    /// `<repo>/.build/debug` (or `$GALE_BIN_DIR`), which must hold `gale` and `gale-test-topology`.
    static func locateBinaries() throws -> String {
        let dir =
            ProcessInfo.processInfo.environment["GALE_BIN_DIR"]
            ?? TestServices.repositoryRoot.appendingPathComponent(".build/debug").path
        for binary in ["gale", "gale-test-topology", "kafka-stages"]
        where !FileManager.default.isExecutableFile(atPath: "\(dir)/\(binary)") {
            throw SmokeTestFailure("\(dir)/\(binary) is missing: run `swift build` first")
        }
        return dir
    }

    var gale: String { "\(binDirectory)/gale" }
    var topologyBinary: String { "\(binDirectory)/gale-test-topology" }
    var nimbus: String { nimbusAddresses ?? "127.0.0.1:\(nimbusPort)" }

    // MARK: - Processes

    /// Starts `executable` with `arguments`, output appended to `log`, signals reset.
    static func spawn(_ executable: String, _ arguments: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The test process's sockets stay out of the daemons (the fd test compares theirs).
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw SmokeTestFailure("cannot spawn \(executable): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Runs a command to completion; returns its exit status and output.
    static func run(
        _ executable: String,
        _ arguments: [String],
        timeout: Double = 120
    ) throws -> (status: Int32, output: String) {
        let log = NSTemporaryDirectory() + "gale-cmd-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let pid = try spawn(executable, arguments, log: log)
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw SmokeTestFailure(
                    "\(executable) \(arguments.joined(separator: " ")) did not finish in \(timeout) s"
                )
            }
            usleep(20_000)
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, text)
    }

    /// `gale ARGS --nimbus <this nimbus>` (for client commands).
    func cli(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Self.run(gale, arguments + ["--nimbus", nimbus] + configArguments)
    }

    /// A loopback port nothing listens on, from below the kernel's ephemeral range and never the
    /// same one twice in this process (``TestPorts``).
    static func freePort() -> Int { TestPorts.next() }

    // MARK: - Daemons

    func startNimbus(port: Int? = nil, workerTimeout: Double = 30, sessionTimeout: Double = 4) async throws {
        if nimbusPort == 0 { nimbusPort = port ?? Self.freePort() }
        nimbusPid = try spawnNimbus(
            port: nimbusPort,
            name: "nimbus",
            workerTimeout: workerTimeout,
            sessionTimeout: sessionTimeout
        )
        try await waitUntil("nimbus answers /api/v1/health as leader", timeout: 30) {
            let result = try? self.cli(["list"])
            return result?.status == 0
        }
    }

    /// Starts a nimbus process on `port` with data directory and log named `name`.
    func spawnNimbus(port: Int, name: String, workerTimeout: Double = 30, sessionTimeout: Double = 4) throws -> pid_t {
        try Self.spawn(
            gale,
            [
                "nimbus", "--zookeeper", zooKeeper, "--port", String(port), "--data-dir", root + "/" + name,
                "--session-timeout", String(sessionTimeout), "--worker-timeout", String(workerTimeout),
            ] + configArguments,
            log: root + "/\(name).log"
        )
    }

    func startSupervisor(_ id: String, slots: Int = 2, sessionTimeout: Double = 4, orphanTimeout: Double = 10) throws {
        let ports = supervisors.first(where: { $0.id == id })?.slots ?? (0..<slots).map { _ in Self.freePort() }
        let dir = root + "/\(id)"
        let http = httpPorts[id] ?? Self.freePort()
        httpPorts[id] = http
        let pid = try Self.spawn(
            gale,
            [
                "supervisor", "--zookeeper", zooKeeper, "--nimbus", nimbus, "--slots",
                ports.map(String.init).joined(separator: ","), "--http-port", String(http),
                "--data-dir", dir, "--id", id, "--session-timeout", String(sessionTimeout), "--orphan-timeout",
                String(orphanTimeout),
            ] + configArguments + Self.workerArguments,
            log: root + "/\(id).log"
        )
        supervisors.removeAll { $0.id == id }
        supervisors.append((id, pid, ports, dir))
    }

    /// Stops everything this harness started, and every worker process under its root; deletes
    /// the large files under its root (binaries, blobs), keeping the logs.
    func tearDown() {
        for s in supervisors where s.pid > 0 { kill(s.pid, SIGTERM) }
        for s in supervisors where s.pid > 0 { reap(s.pid, grace: 10) }
        if nimbusPid > 0 {
            kill(nimbusPid, SIGTERM)
            reap(nimbusPid, grace: 10)
        }
        for pid in workerPids() { kill(pid, SIGKILL) }
        for pid in extraPids { kill(pid, SIGKILL) }
        stopZooKeeper()
        TestDirectories.pruneLargeFiles(under: root)
    }

    @discardableResult
    func reap(_ pid: pid_t, grace: Double) -> Int32? {
        Self.reap(pid, grace: grace)
    }

    /// Waits up to `grace` seconds for `pid` to exit, then kills it (SIGKILL); reaps it either way.
    /// - Returns: the wait status when it exited by itself, `nil` when it had to be killed.
    @discardableResult
    static func reap(_ pid: pid_t, grace: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(grace)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return nil
            }
            usleep(20_000)
        }
        return status
    }

    /// Worker processes whose command line points into this harness's directory.
    func workerPids() -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return nil }
            let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard args.count >= 3, args[1] == "worker",
                args[3...].first?.hasPrefix(root) == true
                    || args.contains(where: { $0.hasPrefix(root) && $0.hasSuffix(".json") })
            else {
                return nil
            }
            // Skip zombies.
            if let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8), stat.contains(") Z ") {
                return nil
            }
            return pid
        }
    }

    /// Worker process count per worker id (the `<topology>-<port>` directory of its launch spec).
    func workersById() -> [String: Int] {
        var result: [String: Int] = [:]
        for pid in workerPids() {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if let file = args.last {
                let id = URL(fileURLWithPath: file).deletingLastPathComponent().lastPathComponent
                result[id, default: 0] += 1
            }
        }
        return result
    }

    /// Waits until `count` worker processes run and each assigned worker id has exactly one.
    func waitForWorkers(_ count: Int, timeout: Double = 60) async throws {
        try await waitUntil("\(count) worker processes run, one per assigned worker", timeout: timeout) {
            let byId = workersById()
            let assigned = try status().workers
            return assigned.count == count && workerPids().count == count && byId.values.allSatisfy { $0 == 1 }
                && assigned.allSatisfy { $0.state == "running" }
        }
    }

    /// The pids of the supervisor named `id`'s worker processes.
    func workerPids(of supervisor: String) -> [pid_t] {
        guard let dir = supervisors.first(where: { $0.id == supervisor })?.dir else { return [] }
        return workerPids().filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).contains(dir + "/")
        }
    }

    // MARK: - Topology

    func submit(workers: Int, messages: Int, rate: Int, extra: [String] = []) throws {
        let result = try cli(
            [
                "submit", topologyBinary, "--name", name, "--workers", String(workers),
                "--config", "test.messages=\(messages)", "--config", "test.rate=\(rate)", "--config",
                "test.output=\(output)",
            ] + extra
        )
        guard result.status == 0 else { throw SmokeTestFailure("submit failed: \(result.output)") }
    }

    /// `GET path` of nimbus's API (plain HTTP, no token), decoded as `type`.
    func api<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T {
        let response = try await HTTPClient(timeout: .seconds(30)).get(address: nimbus, path: path)
        guard response.status == 200 else {
            throw SmokeTestFailure("GET \(path): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        }
        return try JSONDecoder().decode(type, from: Data(response.body))
    }

    func status() throws -> NimbusAPI.TopologyStatusResponse {
        let result = try cli(["status", name, "--json"])
        guard result.status == 0 else { throw SmokeTestFailure("status failed: \(result.output)") }
        return try JSONDecoder().decode(NimbusAPI.TopologyStatusResponse.self, from: Data(result.output.utf8))
    }

    /// Every acked message id recorded by the spouts (all runs, restarts included).
    func ackedIds() -> [Int: Int] {
        var result: [Int: Int] = [:]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
        for file in files where file.hasPrefix("acked-") {
            let text = (try? String(contentsOfFile: "\(output)/\(file)", encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") { if let id = Int(line) { result[id, default: 0] += 1 } }
        }
        return result
    }

    /// The cluster settings each spout task saw (`settings-<task>.json`), by file name.
    func clusterSettings() -> [String: [String: String]] {
        var result: [String: [String: String]] = [:]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
        for file in files where file.hasPrefix("settings-") {
            guard let data = FileManager.default.contents(atPath: "\(output)/\(file)"),
                let settings = try? JSONDecoder().decode([String: String].self, from: data)
            else { continue }
            result[file] = settings
        }
        return result
    }

    /// The counts the count tasks last wrote, merged.
    func counts() -> [String: Int] {
        var result: [String: Int] = [:]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
        for file in files where file.hasPrefix("counts-") {
            guard let data = FileManager.default.contents(atPath: "\(output)/\(file)"),
                let counts = try? JSONDecoder().decode([String: Int].self, from: data)
            else { continue }
            result.merge(counts) { $0 + $1 }
        }
        return result
    }

    static func groundTruth(messages: Int) -> [String: Int] {
        let words = [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
        ]
        var result: [String: Int] = [:]
        for i in 0..<messages {
            for j in 0..<5 { result[words[(i * 7 + j * 3 + i / 11) % words.count], default: 0] += 1 }
        }
        return result
    }

    /// Polls `condition` every 200 ms until it holds, or fails naming `what` after `timeout`.
    /// Waits with `Task.sleep`, so a long wait holds no thread of the cooperative pool (other
    /// suites' tasks run meanwhile).
    func waitUntil(_ what: String, timeout: Double, _ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if (try? condition()) == true { return }
            if Date() > deadline {
                throw SmokeTestFailure("timed out after \(timeout) s waiting until \(what); logs in \(root)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// ZooKeeper's last zxid, from the `srvr` four-letter command.
    func zxid() throws -> String {
        let parts = zooKeeper.split(separator: ":")
        let result = try Self.run(
            "/bin/bash",
            ["-c", "exec 3<>/dev/tcp/\(parts[0])/\(parts[1]); printf srvr >&3; cat <&3"]
        )
        guard let line = result.output.split(separator: "\n").first(where: { $0.hasPrefix("Zxid:") }) else {
            throw SmokeTestFailure("srvr gave no Zxid: \(result.output)")
        }
        return String(line)
    }
}
