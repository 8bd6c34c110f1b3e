import Foundation
import Gale
public import GaleCoordination
public import Logging
import ServiceLifecycle
import Synchronization

/// Settings of a supervisor process.
public struct SupervisorOptions: Sendable {
    /// ZooKeeper connect string.
    public var zookeeper: String
    /// Nimbus processes to try after those ZooKeeper's election names.
    public var nimbus: [Endpoint]
    /// The host this supervisor's workers listen on.
    public var host: String
    /// Worker ports offered.
    public var slots: [Int]
    /// Binaries, worker files and logs.
    public var dataDirectory: String
    /// Supervisor id; default: kept in `<data-dir>/supervisor-id`, created once.
    public var id: String?
    /// Seconds between reports to nimbus.
    public var reportIntervalSeconds: Double
    /// A running worker silent this long is killed (its manager restarts it).
    public var heartbeatTimeoutSeconds: Double
    /// Seconds a worker survives without reaching its supervisor.
    public var orphanTimeoutSeconds: Double
    /// ZooKeeper session timeout.
    public var sessionTimeout: Duration
    /// On SIGTERM: stop the workers (default) or leave them for the next supervisor to adopt.
    public var stopWorkersOnExit: Bool
    /// Set for every worker, over the supervisor's own environment.
    public var workerEnvironment: [String: String]
    /// Shown to nimbus (reports, downloads) when nimbus authenticates its callers.
    public var clusterSecret: String?
    /// The digest credentials the supervisor authenticates to ZooKeeper with; the nodes it
    /// creates get their ACL. `nil`: no ACLs.
    public var zookeeperAuth: ZooKeeperAuth?
    /// The absolute path of the file ``zookeeperAuth`` was read from: each worker's launch spec
    /// names it, so that the workers (same user) read the credentials themselves.
    public var zookeeperAuthFile: String?
    /// The CAs nimbus's certificate must verify against (`tls.ca.file`): reports and downloads
    /// go over HTTPS. `nil`: plain HTTP.
    public var tls: HTTPClientTLS?
    /// Mutual TLS between workers (`transport.tls`): written into each worker's launch spec.
    /// `nil`: plain TCP.
    public var transportTLS: WorkerTransportTLS?

    public init(
        zookeeper: String,
        nimbus: [Endpoint] = [],
        host: String = "127.0.0.1",
        slots: [Int],
        dataDirectory: String,
        id: String? = nil,
        reportIntervalSeconds: Double = 2,
        heartbeatTimeoutSeconds: Double = 10,
        orphanTimeoutSeconds: Double = 20,
        sessionTimeout: Duration = .seconds(10),
        stopWorkersOnExit: Bool = true,
        workerEnvironment: [String: String] = [:],
        clusterSecret: String? = nil,
        zookeeperAuth: ZooKeeperAuth? = nil,
        zookeeperAuthFile: String? = nil,
        tls: HTTPClientTLS? = nil,
        transportTLS: WorkerTransportTLS? = nil
    ) {
        self.zookeeper = zookeeper
        self.nimbus = nimbus
        self.host = host
        self.slots = slots
        self.dataDirectory = dataDirectory
        self.id = id
        self.reportIntervalSeconds = reportIntervalSeconds
        self.heartbeatTimeoutSeconds = heartbeatTimeoutSeconds
        self.orphanTimeoutSeconds = orphanTimeoutSeconds
        self.sessionTimeout = sessionTimeout
        self.stopWorkersOnExit = stopWorkersOnExit
        self.workerEnvironment = workerEnvironment
        self.clusterSecret = clusterSecret
        self.zookeeperAuth = zookeeperAuth
        self.zookeeperAuthFile = zookeeperAuthFile
        self.tls = tls
        self.transportTLS = transportTLS
    }
}

/// The per-host daemon: registers its slots, runs the workers assigned to them, relays their
/// heartbeats and statistics to nimbus.
///
/// ``run(executor:signals:)`` runs it as one service group (``DaemonRunner``), listed in start
/// order and stopped in reverse: `zookeeper` (the session and this supervisor's registration,
/// closed last), `heartbeats` (the loopback HTTP listener workers report to),
/// `worker-processes` (spawns, reaps and restarts workers every 50 ms; on shutdown stops them,
/// or with `--keep-workers` leaves them for the next supervisor to adopt), `sync` (reads the
/// assignments every second, or at once on a ZooKeeper watch, and downloads binaries) and
/// `reports` (to nimbus every 2 s).
public final class SupervisorDaemon: Sendable {
    public let id: String
    let options: SupervisorOptions
    let logger: Logger
    let zk: ZooKeeperClient
    let processes: WorkerProcessManager
    /// Downloads binaries from nimbus (over HTTPS with ``SupervisorOptions/tls``).
    let client: HTTPClient
    private let state = Mutex(State())
    private let syncSignal = WakeSignal()
    private let startedAt = Date()

    /// A worker assigned here, as last read from ZooKeeper.
    struct Desired: Sendable {
        var spec: WorkerLaunchSpec
        var launch: WorkerLaunch
        var topology: TopologyRecord
    }

    struct State {
        /// By slot (port). What each slot's worker is doing is in ``WorkerProcessManager``.
        var desired: [Int: Desired] = [:]
        var active: [String: Bool] = [:]
        /// The last heartbeat of each assigned worker, for its statistics in the report.
        var beats: [String: WorkerHeartbeat] = [:]
        var errors: [String] = []
        var armed: Set<String> = []
        var heartbeatPort = 0
        /// Reports that failed in a row.
        var reportFailures = 0
    }

    /// Connects to ZooKeeper (authenticating with ``SupervisorOptions/zookeeperAuth``), creates
    /// the cluster's parent nodes and prepares the data directory.
    /// - Throws: ``ZooKeeperError`` when ZooKeeper is unreachable or refuses the credentials
    ///   (``ClusterPaths/prepare(_:)``), or a file error.
    public init(options: SupervisorOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        self.client = HTTPClient(timeout: .seconds(60), tls: options.tls)
        for dir in ["", "/topologies", "/workers", "/logs", "/processes"] {
            try DataDirectory.create(options.dataDirectory + dir)
        }
        if let id = options.id {
            self.id = id
        } else {
            let file = options.dataDirectory + "/supervisor-id"
            if let saved = try? String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(
                in: .whitespacesAndNewlines
            ),
                !saved.isEmpty
            {
                self.id = saved
            } else {
                let fresh = "supervisor-" + UUID().uuidString.prefix(8).lowercased()
                try fresh.write(toFile: file, atomically: true, encoding: .utf8)
                self.id = fresh
            }
        }
        self.zk = try ClusterPaths.connect(
            options.zookeeper,
            sessionTimeout: options.sessionTimeout,
            auth: options.zookeeperAuth,
            logger: logger
        )
        self.processes = WorkerProcessManager(
            stateDirectory: options.dataDirectory + "/processes",
            logger: logger,
            terminationGrace: .seconds(5),
            heartbeatTimeout: options.heartbeatTimeoutSeconds
        )
    }

    /// Adopts the workers a previous run left, listens for heartbeats, registers in ZooKeeper
    /// and runs the workers assigned here until SIGTERM or SIGINT (with `signals`) or until
    /// the task is cancelled.
    /// - Parameter executor: where the services run (create the supervisor on it too: `init`
    ///   connects to ZooKeeper, which blocks).
    /// - Throws: when no heartbeat port can be bound or the registration fails.
    public func run(
        executor: BlockingExecutor = BlockingExecutor(label: "gale.supervisor"),
        signals: Bool = true
    ) async throws {
        try await withTaskExecutorPreference(executor) {
            let adopted = processes.adopt()
            if !adopted.isEmpty {
                logger.info("adopted \(adopted.count) running workers: \(adopted.joined(separator: ", "))")
            }
            let server: HTTPServer
            do {
                server = try await startHeartbeatServer()
                zk.onSessionEvent { [self] event in
                    if case .sessionReplaced = event {
                        state.withLock { $0.armed.removeAll() }
                        logger.warning("ZooKeeper session replaced; registration restored, watches re-armed")
                    }
                    wake()
                }
                try register()
            } catch {
                zk.close()
                throw error
            }
            let port = state.withLock { $0.heartbeatPort }
            let services: [any Service] = [
                ResourceService("zookeeper") { [zk] in zk.close() },
                ResourceService("heartbeats") { await server.stop() },
                PeriodicService("worker-processes", every: .milliseconds(50)) { [processes] in
                    processes.tick()
                } onShutdown: { [self] in
                    if options.stopWorkersOnExit {
                        await processes.stopAll()
                    } else {
                        logger.info("leaving the workers running for the next supervisor to adopt")
                    }
                },
                PeriodicService("sync", every: .seconds(1), wake: syncSignal) { [self] in await syncOnce() },
                PeriodicService("reports", every: .seconds(options.reportIntervalSeconds)) { [self] in
                    await report()
                },
            ]
            logger.info(
                "supervisor \(id) on \(options.host) slots \(options.slots.map(String.init).joined(separator: ",")), heartbeats on 127.0.0.1:\(port), worker transport \(options.transportTLS == nil ? "plain TCP" : "mutual TLS")"
            )
            // Workers get 5 s before SIGKILL; inside the unit's TimeoutStopSec (60 s).
            try await DaemonRunner(logger: logger, executor: executor, maximumShutdown: .seconds(50))
                .run(services, signals: signals)
            logger.info("supervisor \(id) stopped")
        }
    }

    /// Runs the sync service's next pass now.
    func wake() { syncSignal.wake() }

    // MARK: - Registration

    private func register() throws {
        let record = SupervisorRecord(
            id: id,
            host: options.host,
            slots: options.slots,
            startedAt: startedAt.timeIntervalSince1970
        )
        let path = ClusterPaths.supervisor(id)
        let bytes = try ClusterJSON.encode(record)
        do {
            try zk.create(path, data: bytes, mode: .ephemeral)
        } catch .nodeExists {
            // Left by this supervisor's previous session (not yet expired): take it over in one
            // transaction, so that nimbus never sees this supervisor gone and moves its workers.
            try zk.multi([.delete(path: path, version: -1), .create(path: path, data: bytes, mode: .ephemeral)])
        }
    }

    // MARK: - Heartbeats from workers

    /// Listens on the previous run's heartbeat port when it is free (its adopted workers know
    /// it), else on any free port, which it writes to `heartbeat-port` for them.
    private func startHeartbeatServer() async throws -> HTTPServer {
        let portFile = options.dataDirectory + "/heartbeat-port"
        let previous = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        for candidate in [previous, 0].compactMap({ $0 }) {
            let server = HTTPServer(host: "127.0.0.1", port: candidate, maxBodyBytes: 16 << 20, logger: logger) {
                [self] request in
                await handleHeartbeat(request)
            }
            do {
                let port = try await server.start()
                state.withLock { $0.heartbeatPort = port }
                try? String(port).write(toFile: portFile, atomically: true, encoding: .utf8)
                return server
            } catch {
                // The previous port is taken: any free port (adopted workers then re-launch).
                if candidate == 0 { throw error }
                logger.warning(
                    "cannot listen for heartbeats on the previous port \(candidate): \(error); adopted workers find the new one in heartbeat-port"
                )
            }
        }
        throw SupervisorError.noHeartbeatPort
    }

    private func handleHeartbeat(_ request: HTTPRequest) async -> HTTPResponse {
        guard request.method == "POST", request.path == "/heartbeat" else {
            return .error(404, "no such endpoint: \(request.method) \(request.path)")
        }
        let beat: WorkerHeartbeat
        do {
            beat = try request.decodeJSON(WorkerHeartbeat.self)
        } catch {
            return .error(400, "\(error)")
        }
        // A worker proves who it is with the token its launch spec gave it.
        let token = state.withLock { s in
            s.desired.values.first { $0.spec.workerId == beat.workerId }?.spec.heartbeatToken
        }
        if let token {
            let presented = request.header("authorization").map { String($0.dropFirst("Bearer ".count)) } ?? ""
            guard Secret.equal(Array(presented.utf8), Array(token.utf8)) else {
                logger.warning("refused a heartbeat for worker \(beat.workerId): wrong or missing token")
                return .error(401, "heartbeat for worker \(beat.workerId) without its token")
            }
        }
        guard processes.heartbeat(workerId: beat.workerId, epoch: beat.epoch, at: Date()) else {
            return .json(WorkerHeartbeatReply(active: false, stop: true))
        }
        let active = state.withLock { s in
            s.beats[beat.workerId] = beat
            return s.active[beat.topologyId] ?? false
        }
        return .json(WorkerHeartbeatReply(active: active, stop: false))
    }

    // MARK: - Sync with ZooKeeper

    private func watched(_ key: String) -> ZooKeeperWatch? {
        guard state.withLock({ $0.armed.insert(key).inserted }) else { return nil }
        return { [self] _ in
            state.withLock { _ = $0.armed.remove(key) }
            wake()
        }
    }

    private func disarm(_ key: String) { state.withLock { _ = $0.armed.remove(key) } }

    private func readJSON<T: Decodable>(_ type: T.Type, _ path: String) throws(ZooKeeperError) -> T? {
        do {
            let bytes = try zk.get(path, watch: watched(path)).data
            return try? ClusterJSON.decode(type, from: bytes)
        } catch {
            disarm(path)
            if case .noNode = error { return nil }
            throw error
        }
    }

    /// Reads the assignments, writes worker files, hands the slots their assignments, downloads
    /// the binaries they ask for, and removes what is no longer used.
    func syncOnce() async {
        var desired: [Int: Desired] = [:]
        var active: [String: Bool] = [:]
        do {
            let key = "children:" + ClusterPaths.assignments
            let ids: [String]
            do {
                ids = try zk.children(ClusterPaths.assignments, watch: watched(key))
            } catch {
                disarm(key)
                throw error
            }
            let heartbeatPort = state.withLock { $0.heartbeatPort }
            for topologyId in ids {
                guard let assignment = try readJSON(AssignmentRecord.self, ClusterPaths.assignment(topologyId)),
                    let topology = try readJSON(TopologyRecord.self, ClusterPaths.topology(topologyId))
                else { continue }
                active[topologyId] = topology.status == .active
                let mine = assignment.workers.filter { $0.supervisorId == id }
                guard !mine.isEmpty else { continue }
                // Empty for an invalid digest: never a path outside the data directory.
                let binary =
                    BlobStore.isDigest(topology.binaryDigest)
                    ? "\(options.dataDirectory)/topologies/\(topology.binaryDigest)/\(topology.description.name)" : ""
                for worker in mine {
                    let workerId = "\(topologyId)-\(worker.endpoint.port)"
                    var spec = WorkerLaunchSpec(
                        workerId: workerId,
                        topologyId: topologyId,
                        topologyName: topology.description.name,
                        epoch: assignment.epoch,
                        endpoint: worker.endpoint,
                        taskEndpoints: assignment.taskEndpoints,
                        configOverrides: topology.configOverrides,
                        parallelism: topology.parallelism,
                        active: topology.status == .active,
                        supervisor: Endpoint(host: "127.0.0.1", port: heartbeatPort),
                        orphanTimeoutSeconds: options.orphanTimeoutSeconds
                    )
                    spec.supervisorPortFile = options.dataDirectory + "/heartbeat-port"
                    spec.zookeeper = options.zookeeper
                    spec.zookeeperAuthFile = options.zookeeperAuthFile
                    // The PEM text, not the paths: the key file may be readable by the
                    // supervisor's user only; the spec is private like the key.
                    spec.transportTLS = options.transportTLS
                    if let secret = assignment.secret {
                        spec.assignmentSecret = secret
                        spec.heartbeatToken = WorkerLaunchSpec.heartbeatToken(secret: secret, workerId: workerId)
                    }
                    let directory = "\(options.dataDirectory)/workers/\(workerId)"
                    let specPath = "\(directory)/epoch-\(assignment.epoch).json"
                    do {
                        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                        let bytes = try ClusterJSON.encode(spec)
                        if FileManager.default.contents(atPath: specPath).map(Array.init) != bytes {
                            // It holds the assignment's secret: the supervisor's user only.
                            try PrivateFile.write(bytes, to: specPath)
                        }
                    } catch {
                        note("cannot write \(specPath) for \(topologyId): \(error)")
                        continue
                    }
                    let launch = WorkerLaunch(
                        id: workerId,
                        executable: binary,
                        // Workers log at the supervisor's level (the spec path stays last).
                        arguments: ["worker", "--log-level", logger.logLevel.rawValue, "--assignment", specPath],
                        environment: options.workerEnvironment,
                        workingDirectory: directory,
                        logFile: "\(options.dataDirectory)/logs/\(workerId).log"
                    )
                    desired[worker.endpoint.port] = Desired(spec: spec, launch: launch, topology: topology)
                }
            }
        } catch {
            logger.warning("cannot read assignments from ZooKeeper: \(error)")
            return
        }
        let previous = state.withLock { s in
            defer {
                s.desired = desired
                s.active = active
                let ids = Set(desired.values.map(\.spec.workerId))
                for id in s.beats.keys where !ids.contains(id) { s.beats[id] = nil }
            }
            return s.desired
        }
        let downloads = processes.assign(
            desired.mapValues { d in
                (
                    assignment: SlotState.Assignment(launch: d.launch, epoch: d.spec.epoch),
                    binaryReady: FileManager.default.isExecutableFile(atPath: d.launch.executable)
                )
            }
        )
        // One download per binary, for every slot waiting for it.
        var waiting: [String: [Int]] = [:]
        for port in downloads {
            if let d = desired[port] { waiting[d.topology.binaryDigest, default: []].append(port) }
        }
        for ports in waiting.values {
            guard let topology = ports.first.flatMap({ desired[$0]?.topology }) else { continue }
            if let failure = await download(topology) {
                processes.binaryFailed(ports, reason: failure)
            } else {
                processes.binaryDownloaded(ports)
            }
        }
        cleanUp(keeping: desired, previous: previous)
    }

    /// Removes the files of workers no longer assigned and not running, earlier epochs' launch
    /// specs, and binaries no longer used.
    private func cleanUp(keeping desired: [Int: Desired], previous: [Int: Desired]) {
        let fm = FileManager.default
        let workersDir = options.dataDirectory + "/workers"
        let running = Set(processes.snapshot().values.compactMap { $0.process?.launch.id })
        let assigned = Set(desired.values.map(\.spec.workerId))
        for name in (try? fm.contentsOfDirectory(atPath: workersDir)) ?? []
        where !assigned.contains(name) && !running.contains(name) {
            try? fm.removeItem(atPath: "\(workersDir)/\(name)")
        }
        for d in desired.values {
            let dir = "\(workersDir)/\(d.spec.workerId)"
            let current = "epoch-\(d.spec.epoch).json"
            for file in (try? fm.contentsOfDirectory(atPath: dir)) ?? []
            where file.hasPrefix("epoch-") && file != current {
                try? fm.removeItem(atPath: "\(dir)/\(file)")
            }
        }
        let used = Set(desired.values.map(\.topology.binaryDigest))
        let topologiesDir = options.dataDirectory + "/topologies"
        for digest in (try? fm.contentsOfDirectory(atPath: topologiesDir)) ?? [] where !used.contains(digest) {
            try? fm.removeItem(atPath: "\(topologiesDir)/\(digest)")
        }
        let ids = Set(desired.values.map(\.spec.workerId))
        for d in previous.values where !ids.contains(d.spec.workerId) {
            logger.info("worker \(d.spec.workerId) is no longer assigned here")
        }
    }

    // MARK: - Binaries

    /// Downloads the topology's binary and verifies its digest; `nil` once it is installed,
    /// else why not.
    private func download(_ topology: TopologyRecord) async -> String? {
        let digest = topology.binaryDigest
        guard BlobStore.isDigest(digest) else {
            let message = "topology \(topology.id) names an invalid binary digest '\(digest)'"
            note(message)
            return message
        }
        let dir = "\(options.dataDirectory)/topologies/\(digest)"
        let path = "\(dir)/\(topology.description.name)"
        if FileManager.default.isExecutableFile(atPath: path) { return nil }
        let candidates = nimbusCandidates()
        guard !candidates.isEmpty else {
            let message =
                "cannot download the binary of \(topology.id): no nimbus is known (none in ZooKeeper's election, no --nimbus)"
            note(message)
            return message
        }
        var failures: [String] = []
        for nimbus in candidates {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let temporary = "\(path).download"
                _ = try await client.download(
                    address: nimbus.description,
                    path: NimbusRoute.blob.path(digest),
                    to: temporary,
                    headers: options.clusterSecret.map { [(name: "authorization", value: "Bearer \($0)")] } ?? []
                )
                let actual = try SHA256Digest.hex(ofFile: temporary)
                guard actual == digest else {
                    try? FileManager.default.removeItem(atPath: temporary)
                    failures.append("\(nimbus): digest mismatch (downloaded \(actual))")
                    note(
                        "digest mismatch for the binary of \(topology.id) from \(nimbus): expected \(digest), downloaded \(actual); not launching it"
                    )
                    continue
                }
                chmod(temporary, 0o755)
                guard rename(temporary, path) == 0 else {
                    let message =
                        "cannot install the binary of \(topology.id) at \(path): \(String(cString: strerror(errno)))"
                    note(message)
                    return message
                }
                logger.info("downloaded the binary of \(topology.id) from \(nimbus) (sha256 verified)")
                return nil
            } catch {
                failures.append("\(nimbus): \(error)")
            }
        }
        let message =
            "cannot download the binary of \(topology.id) from any nimbus: \(failures.joined(separator: "; "))"
        if !failures.contains(where: { $0.contains("digest mismatch") }) { note(message) }
        return message
    }

    /// The nimbus processes in ZooKeeper's election (the leader first), then the configured ones.
    func nimbusCandidates() -> [Endpoint] {
        let elected = ((try? LeaderElection.identities(client: zk, path: ClusterPaths.nimbus)) ?? [])
            .compactMap(Endpoint.init)
        return elected + options.nimbus.filter { !elected.contains($0) }
    }

    private func note(_ message: String) {
        logger.error("\(message)")
        state.withLock { s in
            s.errors.append(message)
            if s.errors.count > 20 { s.errors.removeFirst(s.errors.count - 20) }
        }
    }

    // MARK: - Reports to nimbus

    /// Sends one report to the first nimbus that takes it; logs the first failure of a run of
    /// failures and every 30th.
    private func report() async {
        let report = makeReport()
        let candidates = nimbusCandidates()
        guard !candidates.isEmpty else { return }
        let nimbus = NimbusClient(
            addresses: candidates,
            timeout: .seconds(30),
            credential: options.clusterSecret,
            tls: options.tls
        )
        do {
            let body = try ClusterJSON.encode(report)
            let response = try await nimbus.send(
                "POST",
                path: NimbusRoute.report.path(),
                body: body,
                headers: [(name: "content-type", value: "application/json")]
            )
            if response.status >= 300 {
                logger.warning("nimbus refused the report: \(response.errorMessage ?? "status \(response.status)")")
            }
            state.withLock { $0.reportFailures = 0 }
        } catch {
            let failures = state.withLock { s in
                s.reportFailures += 1
                return s.reportFailures
            }
            if failures == 1 || failures % 30 == 0 {
                logger.warning("cannot report to nimbus: \(error)")
            }
        }
    }

    func makeReport() -> SupervisorReport {
        let slots = processes.snapshot()
        let now = Date()
        return state.withLock { s in
            let assigned = s.desired.sorted { $0.value.spec.workerId < $1.value.spec.workerId }
            let workers = assigned.map { (port, d) -> WorkerReport in
                let id = d.spec.workerId
                // Not handed to its slot yet (the assignment was just read): nothing runs.
                let slot = slots[port].flatMap { $0.assignment?.launch == d.launch ? $0 : nil }
                let state = slot?.workerState(now: now) ?? "failed"
                let beat = state == "no-binary" ? nil : s.beats[id]
                let process = slot?.assignedProcess
                return WorkerReport(
                    workerId: id,
                    topologyId: d.spec.topologyId,
                    epoch: d.spec.epoch,
                    endpoint: d.spec.endpoint,
                    pid: process?.pid,
                    state: state,
                    restarts: slot?.restarts ?? 0,
                    lastExit: slot?.lastExit,
                    uptimeSeconds: beat?.uptimeSeconds ?? 0,
                    heartbeatAgeSeconds: slot?.lastHeartbeat.map { now.timeIntervalSince($0) },
                    stats: beat?.stats
                )
            }
            return SupervisorReport(
                supervisorId: id,
                host: options.host,
                slots: options.slots,
                uptimeSeconds: now.timeIntervalSince(startedAt),
                workers: workers,
                errors: s.errors
            )
        }
    }
}

/// A supervisor that cannot start.
public enum SupervisorError: Error, CustomStringConvertible {
    case noHeartbeatPort

    public var description: String {
        switch self {
        case .noHeartbeatPort: "no loopback port for worker heartbeats"
        }
    }
}
