import Foundation
import Gale
public import GaleCoordination
public import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
    /// The absolute path of the file ``zookeeperAuth`` was read from (the supervisor's logs name
    /// it; each worker reads a copy in its topology's directory).
    public var zookeeperAuthFile: String?
    /// The CAs nimbus's certificate must verify against (`tls.ca.file`): reports and downloads
    /// go over HTTPS. `nil`: plain HTTP.
    public var tls: HTTPClientTLS?
    /// The user and groups the workers run as (a supervisor running as root); `nil`: the
    /// supervisor's own user.
    public var workerIsolation: WorkerIsolation?
    /// Mutual TLS between workers (`transport.tls`): written into each worker's launch spec.
    /// `nil`: plain TCP.
    public var transportTLS: WorkerTransportTLS?
    /// The address of the HTTP endpoint (`/metrics`, worker logs); `nil`: ``host``.
    public var httpHost: String?
    /// The port of the HTTP endpoint (0: any free port).
    public var httpPort: Int
    /// The certificate and key the HTTP endpoint serves HTTPS with (`tls.cert.file`,
    /// `tls.key.file`); `nil`: plain HTTP.
    public var httpTLS: HTTPServerTLS?

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
        workerIsolation: WorkerIsolation? = nil,
        transportTLS: WorkerTransportTLS? = nil,
        httpHost: String? = nil,
        httpPort: Int = 8000,
        httpTLS: HTTPServerTLS? = nil
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
        self.workerIsolation = workerIsolation
        self.transportTLS = transportTLS
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.httpTLS = httpTLS
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
    /// The workers' directories (`DATA/workers`).
    let files: WorkerFiles
    /// Downloads binaries from nimbus (over HTTPS with ``SupervisorOptions/tls``).
    let client: HTTPClient
    let state = Mutex(State())
    private let syncSignal = WakeSignal()
    let startedAt = Date()

    /// A worker assigned here, as last read from ZooKeeper.
    struct Desired: Sendable {
        var spec: WorkerLaunchSpec
        var launch: WorkerLaunch
        var topology: TopologyRecord
        /// Whether its binary is in its topology's directory.
        var binaryReady: Bool
    }

    /// What the workers of one topology share: their directory's group, who they run as, their
    /// binary and the ZooKeeper credentials.
    struct PreparedTopology {
        var group: gid_t?
        var identity: WorkerIdentity?
        var environment: [String: String]
        /// Empty when the topology names no valid binary.
        var binary: String
        var binaryReady: Bool
        var credentialsFile: String?
    }

    struct State {
        /// By slot (port). What each slot's worker is doing is in ``WorkerProcessManager``.
        var desired: [Int: Desired] = [:]
        var active: [String: Bool] = [:]
        /// The last heartbeat of each assigned worker, for its statistics in the report.
        var beats: [String: WorkerHeartbeat] = [:]
        var errors: [String] = []
        var armed: Set<String> = []
        /// The heartbeat tokens of the workers adopted at start, from their launch specs, by
        /// worker id: what their heartbeats are checked against until the first sync fills
        /// ``desired``.
        var adoptedTokens: [String: String] = [:]
        var heartbeatPort = 0
        /// Where the HTTP endpoint listens (``startHTTPServer()``).
        var http: Endpoint?
        /// Reports that failed in a row.
        var reportFailures = 0
        /// Worker directories that could not be removed (logged once).
        var unremovable: Set<String> = []
        /// The controls of each topology with workers here, as last read from ZooKeeper: what
        /// heartbeat replies hand the workers.
        var controls: [String: TopologyControls] = [:]
        /// The tuples each worker sampled since the last report (``SupervisorDaemon/sampleCapacity``
        /// newest kept), by worker id.
        var samples: [String: SampleBuffer] = [:]
    }

    /// Sampled tuples kept per worker between two reports.
    static let sampleCapacity = 500

    /// Connects to ZooKeeper (authenticating with ``SupervisorOptions/zookeeperAuth``), creates
    /// the cluster's parent nodes and prepares the data directory.
    /// - Throws: ``ZooKeeperError`` when ZooKeeper is unreachable or refuses the credentials
    ///   (``ClusterPaths/prepare(_:)``), or a file error.
    public init(options: SupervisorOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        self.client = HTTPClient(timeout: .seconds(60), tls: options.tls)
        // Binaries, state files and logs are the supervisor's alone; the workers reach their
        // own directories below `workers` (WorkerFiles).
        for (dir, mode) in [
            ("", nil), ("/topologies", 0o700), ("/workers", 0o755), ("/logs", 0o750), ("/processes", 0o700),
        ]
            as [(String, mode_t?)]
        {
            let path = options.dataDirectory + dir
            try DataDirectory.create(path)
            if let mode, chmod(path, mode) != 0 {
                throw DataDirectoryError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
            }
        }
        if let isolation = options.workerIsolation {
            try WorkerFiles.checkReachable(options.dataDirectory + "/workers", by: isolation.user)
        }
        self.files = WorkerFiles(root: options.dataDirectory + "/workers", isolated: options.workerIsolation != nil)
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
            let tokens = Self.heartbeatTokens(of: processes.runningLaunches())
            state.withLock { $0.adoptedTokens = tokens }
            let server: HTTPServer
            let http: HTTPServer
            do {
                server = try await startHeartbeatServer()
                zk.onSessionEvent { [self] event in
                    if case .sessionReplaced = event {
                        state.withLock { $0.armed.removeAll() }
                        logger.warning("ZooKeeper session replaced; registration restored, watches re-armed")
                    }
                    wake()
                }
                // Metrics and worker logs; registered with this supervisor for nimbus to find.
                http = try await startHTTPServer(executor: executor)
                try register()
            } catch {
                zk.close()
                throw error
            }
            let port = state.withLock { $0.heartbeatPort }
            let services: [any Service] = [
                ResourceService("zookeeper") { [zk] in zk.close() },
                ResourceService("heartbeats") { await server.stop() },
                ResourceService("http") { await http.stop() },
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
            let workers =
                options.workerIsolation.map {
                    "workers run as \($0.user.name) (uid \($0.user.uid)) with a group per topology from "
                        + "\($0.groups.lowerBound)-\($0.groups.upperBound)"
                } ?? "workers run as the supervisor's user"
            logger.info(
                "supervisor \(id) on \(options.host) slots \(options.slots.map(String.init).joined(separator: ",")), heartbeats on 127.0.0.1:\(port), metrics and logs on \(options.httpTLS == nil ? "http" : "https")://\(state.withLock { $0.http?.description ?? "?" }), \(workers), worker transport \(options.transportTLS == nil ? "plain TCP" : "mutual TLS")"
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
        let http = state.withLock { $0.http }
        let record = SupervisorRecord(
            id: id,
            host: options.host,
            slots: options.slots,
            startedAt: startedAt.timeIntervalSince1970,
            http: http,
            httpTLS: options.httpTLS != nil
        )
        let path = ClusterPaths.supervisor(id)
        let bytes = try ClusterJSON.encode(record)
        do {
            try zk.create(path, data: bytes, mode: .ephemeral)
        } catch {
            guard case .nodeExists = error else { throw error }
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

    /// The heartbeat token each of `launches` was given, by worker id, read from the launch spec
    /// its `--assignment` argument names (workers without a token or a readable spec are left
    /// out).
    package static func heartbeatTokens(of launches: [WorkerLaunch]) -> [String: String] {
        var tokens: [String: String] = [:]
        for launch in launches {
            guard let flag = launch.arguments.firstIndex(of: "--assignment"), flag + 1 < launch.arguments.count,
                let data = FileManager.default.contents(atPath: launch.arguments[flag + 1]),
                let spec = try? ClusterJSON.decode(WorkerLaunchSpec.self, from: Array(data)),
                let token = spec.heartbeatToken
            else { continue }
            tokens[spec.workerId] = token
        }
        return tokens
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
        // A worker proves who it is with the token its launch spec gave it (an adopted one's,
        // before the first sync, read from its spec at start).
        let token = state.withLock { s in
            s.desired.values.first { $0.spec.workerId == beat.workerId }?.spec.heartbeatToken
                ?? s.adoptedTokens[beat.workerId]
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
        var reply = state.withLock { s in
            var kept = beat
            if let samples = kept.samples {
                kept.samples = nil
                s.samples[beat.workerId, default: SampleBuffer(capacity: Self.sampleCapacity)]
                    .append(contentsOf: samples)
            }
            s.beats[beat.workerId] = kept
            return WorkerHeartbeatReply(active: s.active[beat.topologyId] ?? false, stop: false)
        }
        reply.controls = state.withLock { $0.controls[beat.topologyId] }
        return .json(reply)
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

    /// The controls of `topologyId` (``ControlsRecord``), with a watch on the node, or on its
    /// creation while it is absent; `nil` when there are none.
    private func readControls(_ topologyId: String) throws(ZooKeeperError) -> TopologyControls? {
        let path = ClusterPaths.controls(topologyId)
        if let record = try readJSON(ControlsRecord.self, path) { return record.controls }
        let key = "exists:" + path
        guard let watch = watched(key) else { return nil }
        do {
            // Created since the read: read it in the next pass.
            if try zk.exists(path, watch: watch) != nil { wake() }
        } catch {
            disarm(key)
            throw error
        }
        return nil
    }

    /// Reads the assignments, writes worker files, hands the slots their assignments, downloads
    /// the binaries they ask for, and removes what is no longer used.
    func syncOnce() async {
        var desired: [Int: Desired] = [:]
        var active: [String: Bool] = [:]
        var controls: [String: TopologyControls] = [:]
        let previousControls = state.withLock { $0.controls }
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
            // The groups given out in this pass, each to its topology.
            var claimed: [UInt32: String] = [:]
            for topologyId in ids.sorted() {
                guard let assignment = try readJSON(AssignmentRecord.self, ClusterPaths.assignment(topologyId)),
                    let topology = try readJSON(TopologyRecord.self, ClusterPaths.topology(topologyId))
                else { continue }
                active[topologyId] = topology.status == .active
                let mine = assignment.workers.filter { $0.supervisorId == id }
                guard !mine.isEmpty else { continue }
                do {
                    controls[topologyId] = try readControls(topologyId)
                } catch {
                    // The workers keep the controls they have; the next pass reads them again.
                    controls[topologyId] = previousControls[topologyId]
                    logger.warning("cannot read the controls of \(topologyId): \(error)")
                }
                let prepared: PreparedTopology
                do {
                    prepared = try prepareTopology(topologyId, topology, claimed: &claimed)
                } catch {
                    note("cannot prepare the directory of \(topologyId): \(error)")
                    continue
                }
                for worker in mine {
                    let workerId = WorkerLaunchSpec.workerId(topologyId: topologyId, port: worker.endpoint.port)
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
                    spec.zookeeperAuthFile = prepared.credentialsFile
                    // The PEM text, not the paths: the key file may be readable by the
                    // supervisor's user only; the spec is private like the key.
                    spec.transportTLS = options.transportTLS
                    if let secret = assignment.secret {
                        spec.assignmentSecret = secret
                        spec.heartbeatToken = WorkerLaunchSpec.heartbeatToken(secret: secret, workerId: workerId)
                    }
                    let directory = files.workerDirectory(topologyId, workerId)
                    let specPath = "\(directory)/epoch-\(assignment.epoch).json"
                    do {
                        try WorkerFiles.ensureDirectory(directory, group: prepared.group, mode: files.directoryMode)
                        try WorkerFiles.ensureDirectory(
                            directory + "/work",
                            group: prepared.group,
                            mode: files.workMode
                        )
                        // It holds the assignment's secret: the supervisor and the topology's workers only.
                        try WorkerFiles.write(
                            try ClusterJSON.encode(spec),
                            to: specPath,
                            group: prepared.group,
                            mode: files.fileMode
                        )
                    } catch {
                        note("cannot write \(specPath) for \(topologyId): \(error)")
                        continue
                    }
                    let launch = WorkerLaunch(
                        id: workerId,
                        executable: prepared.binary,
                        // Workers log at the supervisor's level (the spec path stays last).
                        arguments: ["worker", "--log-level", logger.logLevel.rawValue, "--assignment", specPath],
                        environment: prepared.environment.merging(options.workerEnvironment) { $1 },
                        workingDirectory: directory + "/work",
                        logFile: "\(options.dataDirectory)/logs/\(workerId).log",
                        identity: prepared.identity,
                        directory: directory
                    )
                    desired[worker.endpoint.port] = Desired(
                        spec: spec,
                        launch: launch,
                        topology: topology,
                        binaryReady: prepared.binaryReady
                    )
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
                s.controls = controls
                let ids = Set(desired.values.map(\.spec.workerId))
                for id in s.beats.keys where !ids.contains(id) { s.beats[id] = nil }
                for id in s.samples.keys where !ids.contains(id) { s.samples[id] = nil }
            }
            return s.desired
        }
        let downloads = processes.assign(
            desired.mapValues { d in
                (assignment: SlotState.Assignment(launch: d.launch, epoch: d.spec.epoch), binaryReady: d.binaryReady)
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
                continue
            }
            // Each topology's directory gets its link to the binary.
            let byTopology = Dictionary(grouping: ports) { desired[$0]?.topology.id ?? "" }
            for (topologyId, ports) in byTopology.sorted(by: { $0.key < $1.key }) {
                guard let d = ports.first.flatMap({ desired[$0] }) else { continue }
                do {
                    guard !d.launch.executable.isEmpty,
                        try WorkerFiles.link(cachedBinary(d.topology), at: d.launch.executable)
                    else {
                        throw WorkerFilesError("the binary of \(topologyId) is not in \(cachedBinary(d.topology))")
                    }
                    processes.binaryDownloaded(ports)
                } catch {
                    note("cannot install the binary of \(topologyId): \(error)")
                    processes.binaryFailed(ports, reason: "\(error)")
                }
            }
        }
        cleanUp(keeping: desired, previous: previous)
    }

    /// Prepares the directory of `topologyId`'s workers (``WorkerFiles``): its group (with
    /// ``SupervisorOptions/workerIsolation``; recorded in `claimed`), the ZooKeeper credentials,
    /// and the link to its binary when that is downloaded.
    private func prepareTopology(
        _ topologyId: String,
        _ topology: TopologyRecord,
        claimed: inout [UInt32: String]
    ) throws -> PreparedTopology {
        let directory = files.topologyDirectory(topologyId)
        var prepared = PreparedTopology(environment: [:], binary: "", binaryReady: false)
        if let isolation = options.workerIsolation {
            let gid = try topologyGroup(topologyId, isolation.groups, claimed: claimed)
            claimed[gid] = topologyId
            prepared.group = gid
            prepared.identity = WorkerIdentity(user: isolation.user.name, uid: isolation.user.uid, gid: gid)
            prepared.environment = [
                "HOME": isolation.user.home, "USER": isolation.user.name, "LOGNAME": isolation.user.name,
            ]
        }
        try WorkerFiles.ensureDirectory(directory, group: prepared.group, mode: files.directoryMode)
        if let auth = options.zookeeperAuth {
            // A copy the topology's workers may read: the supervisor's own file is its user's only.
            let file = files.credentialsFile(topologyId)
            try WorkerFiles.write(
                Array("\(auth.user):\(auth.password)\n".utf8),
                to: file,
                group: prepared.group,
                mode: files.fileMode
            )
            prepared.credentialsFile = file
        }
        let name = topology.description.name
        // Empty for an invalid digest or name: never a path outside the data directory.
        if BlobStore.isDigest(topology.binaryDigest), WorkerFiles.isFileName(name) {
            prepared.binary = "\(directory)/\(name)"
            prepared.binaryReady = try WorkerFiles.link(cachedBinary(topology), at: prepared.binary)
        }
        return prepared
    }

    /// The group of `topologyId`'s workers: its directory's, when that is in `range` and no
    /// other topology of this pass has it; else a free one (``TopologyGroups``), every other
    /// topology directory's group being taken.
    private func topologyGroup(
        _ topologyId: String,
        _ range: ClosedRange<UInt32>,
        claimed: [UInt32: String]
    ) throws(WorkerFilesError) -> UInt32 {
        if let existing = WorkerFiles.group(of: files.topologyDirectory(topologyId)), range.contains(existing),
            claimed[existing] == nil
        {
            return existing
        }
        var taken = Set(claimed.keys)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: files.root)) ?? [] where name != topologyId {
            if let gid = WorkerFiles.group(of: "\(files.root)/\(name)") { taken.insert(gid) }
        }
        guard let gid = TopologyGroups.choose(for: topologyId, in: range, taken: taken) else {
            throw WorkerFilesError(
                "no free group id in supervisor.worker.gid.range \(range.lowerBound)-\(range.upperBound) "
                    + "(\(taken.count) taken by other topologies)"
            )
        }
        return gid
    }

    /// Where the downloaded binary of `topology` is kept (`DATA/topologies/<digest>/<name>`).
    private func cachedBinary(_ topology: TopologyRecord) -> String {
        "\(options.dataDirectory)/topologies/\(topology.binaryDigest)/\(topology.description.name)"
    }

    /// Removes the directories of topologies and workers neither assigned nor running, earlier
    /// epochs' launch specs, and binaries no longer used.
    private func cleanUp(keeping desired: [Int: Desired], previous: [Int: Desired]) {
        let fm = FileManager.default
        // The worker directories to keep, by topology directory: the assigned workers' and the
        // running ones' (stopping, or adopted and no longer assigned).
        var keep: [String: Set<String>] = [:]
        let running = processes.snapshot().values.compactMap { $0.process?.launch }
        for launch in desired.values.map(\.launch) + running {
            let path = launch.directory ?? launch.workingDirectory
            guard path.hasPrefix(files.root + "/") else { continue }
            let parts = String(path.dropFirst(files.root.count + 1)).pathSegments
            guard let topology = parts.first else { continue }
            keep[topology, default: []].formUnion(parts.dropFirst().prefix(1))
        }
        for name in (try? fm.contentsOfDirectory(atPath: files.root)) ?? [] {
            let path = "\(files.root)/\(name)"
            guard let workers = keep[name] else {
                remove(path)
                continue
            }
            // Only the workers' directories: the binary and the credentials stay with the topology.
            for entry in (try? fm.contentsOfDirectory(atPath: path)) ?? []
            where !workers.contains(entry) && WorkerFiles.isDirectory("\(path)/\(entry)") {
                remove("\(path)/\(entry)")
            }
        }
        for d in desired.values {
            let dir = d.launch.directory ?? d.launch.workingDirectory
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

    /// Removes a directory below `DATA/workers` (``WorkerFiles/removeTree(_:)``), logging a
    /// failure once per path.
    private func remove(_ path: String) {
        guard let failure = WorkerFiles.removeTree(path) else {
            state.withLock { _ = $0.unremovable.remove(path) }
            return
        }
        if state.withLock({ $0.unremovable.insert(path).inserted }) { logger.warning("\(failure)") }
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
            var workers = assigned.map { (port, d) -> WorkerReport in
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
                    stats: beat?.stats,
                    statsPid: beat?.pid
                )
            }
            // The samples go with this report only (a report that fails loses them).
            for i in workers.indices {
                let samples = s.samples.removeValue(forKey: workers[i].workerId)?.samples ?? []
                if !samples.isEmpty { workers[i].samples = samples }
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
