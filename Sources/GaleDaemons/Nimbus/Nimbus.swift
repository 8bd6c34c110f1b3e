import Foundation
public import Gale
public import GaleCoordination
public import Logging
import ServiceLifecycle
import Synchronization

/// Settings of a nimbus process.
public struct NimbusOptions: Sendable {
    /// ZooKeeper connect string.
    public var zookeeper: String
    /// Host the HTTP API listens on (and advertises in the election).
    public var host: String
    /// HTTP port (0: any free port).
    public var port: Int
    /// Directory for blobs.
    public var dataDirectory: String
    /// ZooKeeper session timeout.
    public var sessionTimeout: Duration
    /// A worker whose heartbeats have been missing this long is moved to another slot.
    public var workerTimeoutSeconds: Double
    /// Largest accepted upload.
    public var maxUploadBytes: Int
    /// Who may call the API (``Authenticator/open``: anyone).
    public var authenticator: Authenticator
    /// The cluster secret nimbus sends to the other nimbus processes (replicas, fetches).
    public var clusterSecret: String?
    /// The digest credentials nimbus authenticates to ZooKeeper with (`zookeeper.auth.file`);
    /// the nodes it creates get their ACL. `nil`: no ACLs.
    public var zookeeperAuth: ZooKeeperAuth?
    /// The certificate and key the API is served with over HTTPS (`tls.cert.file`,
    /// `tls.key.file`); `nil`: plain HTTP.
    public var tls: HTTPServerTLS?
    /// The CAs the other nimbus processes' certificates are verified against when this nimbus
    /// pushes or fetches binaries (`tls.ca.file`); `nil`: plain HTTP.
    public var peerTLS: HTTPClientTLS?
    /// The webhooks the leader posts events to, and when (docs/webhooks.md).
    public var events: NimbusEventOptions

    public init(
        zookeeper: String,
        host: String = "127.0.0.1",
        port: Int,
        dataDirectory: String,
        sessionTimeout: Duration = .seconds(10),
        workerTimeoutSeconds: Double = 30,
        maxUploadBytes: Int = 1 << 30,
        authenticator: Authenticator = .open,
        clusterSecret: String? = nil,
        zookeeperAuth: ZooKeeperAuth? = nil,
        tls: HTTPServerTLS? = nil,
        peerTLS: HTTPClientTLS? = nil,
        events: NimbusEventOptions = NimbusEventOptions()
    ) {
        self.zookeeper = zookeeper
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.sessionTimeout = sessionTimeout
        self.workerTimeoutSeconds = workerTimeoutSeconds
        self.maxUploadBytes = maxUploadBytes
        self.authenticator = authenticator
        self.clusterSecret = clusterSecret
        self.zookeeperAuth = zookeeperAuth
        self.tls = tls
        self.peerTLS = peerTLS
        self.events = events
    }
}

/// The master daemon: accepts submissions, stores binaries, schedules tasks onto supervisor
/// slots, serves status. One of several nimbus processes is leader (ZooKeeper election); the
/// others refuse API calls with an error naming the leader.
///
/// Every nimbus keeps every submitted binary, so that any of them can lead: the leader pushes an
/// uploaded binary to each live follower before it acknowledges the upload, and every nimbus
/// (``BlobReplication``) fetches the binaries of the topologies in ZooKeeper that it lacks from
/// the other nimbus processes. Any nimbus serves the binaries it holds (`GET /api/v1/blobs/…`).
///
/// ZooKeeper holds topologies and assignments; nimbus writes to it only when something changes
/// (a submit, a kill, a reassignment), never in steady state. Supervisor reports (worker
/// heartbeats and statistics) arrive over HTTP and live in memory.
///
/// ``run(signals:)`` runs nimbus as one service group (``DaemonRunner``), listed in start order
/// and stopped in reverse: `zookeeper` (the session, closed last), `http-api`,
/// `leader-election`, `scheduler` (every second, or at once when a watch or an API call
/// wakes it), `blob-replication` (every 2 s) and, with webhooks, `webhooks` and `events`
/// (``eventServices(identity:)``).
public final class Nimbus: Sendable {
    let options: NimbusOptions
    let logger: Logger
    let blobs: BlobStore
    let zk: ZooKeeperClient
    private let state = Mutex(State())
    private let startedAt = Date()
    private let election: Mutex<LeaderElection?> = Mutex(nil)
    private let schedule = WakeSignal()
    private let metrics = Mutex(Metrics())
    let replication: BlobReplication
    /// Who did what from where: refusals, and every change a caller made.
    let audit: Logger
    let throttle = AuthThrottle()
    /// All-time totals, windows and rates of each topology (``StatsHistory``).
    let statistics = StatsHistory()
    /// The topology and assignment records last decoded (``DecodedRecords``).
    let topologyRecords = DecodedRecords<TopologyRecord>()
    let assignmentRecords = DecodedRecords<AssignmentRecord>()
    /// The tuples workers sampled (``Nimbus/samples(_:component:)``).
    let sampleRings = SampleRings()

    struct State {
        /// Latest report per supervisor id, with its arrival time.
        var reports: [String: (report: SupervisorReport, at: Date)] = [:]
        /// When this process last became leader.
        var leaderSince: Date?
        var identity = ""
        var zookeeperConnected = true
        /// ZooKeeper paths with a watch armed.
        var armed: Set<String> = []
    }

    struct Metrics {
        var submissions = 0
        var reassignments = 0
        var reportsReceived = 0
        var apiErrors = 0
    }

    /// Connects to ZooKeeper (authenticating with ``NimbusOptions/zookeeperAuth``), creates the
    /// cluster's parent nodes and opens the blob store.
    /// - Throws: ``ZooKeeperError`` when ZooKeeper is unreachable or refuses the credentials
    ///   (``ClusterPaths/prepare(_:)``), or a file error for the data directory.
    public init(options: NimbusOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        var audit = logger
        audit[metadataKey: "audit"] = "nimbus"
        self.audit = audit
        self.blobs = try BlobStore(directory: "\(options.dataDirectory)/blobs")
        self.zk = try ClusterPaths.connect(
            options.zookeeper,
            sessionTimeout: options.sessionTimeout,
            auth: options.zookeeperAuth,
            logger: logger
        )
        self.replication = BlobReplication(
            blobs: blobs,
            logger: logger,
            credential: options.clusterSecret,
            tls: options.peerTLS
        )
    }

    /// Serves the HTTP API, enters the election and schedules until SIGTERM or SIGINT (with
    /// `signals`) or until the task is cancelled; then leaves the election, lets the API's
    /// requests finish and closes ZooKeeper.
    /// - Parameters:
    ///   - executor: where the services run (create nimbus on it too: `init` connects to
    ///     ZooKeeper, which blocks).
    ///   - onListening: called with the bound HTTP port once the API listens.
    /// - Throws: ``HTTPServerError`` when the port cannot be bound.
    public func run(
        executor: BlockingExecutor = BlockingExecutor(label: "gale.nimbus"),
        signals: Bool = true,
        onListening: @Sendable (Int) -> Void = { _ in }
    ) async throws {
        try await withTaskExecutorPreference(executor) {
            let server = HTTPServer(
                host: options.host,
                port: options.port,
                maxBodyBytes: options.maxUploadBytes,
                // Credentials are checked before a body is read: a refused upload never is.
                admit: { [self] request in
                    await withTaskExecutorPreference(executor) { await admission(request) }
                },
                logger: logger,
                spool: { [incoming = blobs.incomingDirectory] method, path in
                    // Binaries go to disk as they arrive, never into memory.
                    let parts = path.pathSegments
                    return NimbusRoute.uploadBlob.match(method: method, parts: parts) != nil
                        || NimbusRoute.replicateBlob.match(method: method, parts: parts) != nil ? incoming : nil
                },
                tls: options.tls,
                handler: { [self] request in
                    await withTaskExecutorPreference(executor) { await handle(request) }
                }
            )
            let port: Int
            do {
                port = try await server.start()
            } catch {
                zk.close()
                throw error
            }
            let identity = "\(options.host):\(port)"
            state.withLock { $0.identity = identity }
            zk.onSessionEvent { [self] event in
                state.withLock {
                    $0.zookeeperConnected = event != .disconnected && event != .expired
                    if event == .sessionReplaced { $0.armed.removeAll() }
                }
                if event == .sessionReplaced || event == .connected { wake() }
            }
            let election = LeaderElection(client: zk, path: ClusterPaths.nimbus, identity: identity, logger: logger) {
                [self] leader in
                state.withLock { $0.leaderSince = leader ? Date() : nil }
                logger.info("nimbus \(identity) is \(leader ? "now the leader" : "a follower")")
                wake()
            }
            self.election.withLock { $0 = election }
            var services: [any Service] = [
                ResourceService("zookeeper") { [zk] in zk.close() },
                ResourceService("http-api") { await server.stop() },
                ResourceService("leader-election", start: { try election.start() }, stop: { election.stop() }),
                PeriodicService("scheduler", every: .seconds(1), wake: schedule) { [self] in reconcile() },
                PeriodicService("blob-replication", every: replication.syncInterval) { [self] in
                    await replication.pass {
                        (wanted: (try? topologies()).map { Set($0.map(\.binaryDigest)) }, peers: peers())
                    }
                },
            ]
            services += eventServices(identity: identity)
            logger.info(
                "nimbus listening on \(identity) (\(options.tls == nil ? "HTTP" : "HTTPS")), data in \(options.dataDirectory)"
            )
            onListening(port)
            // Inside the unit's TimeoutStopSec (30 s).
            try await DaemonRunner(logger: logger, executor: executor, maximumShutdown: .seconds(20))
                .run(services, signals: signals)
            logger.info("nimbus stopped")
        }
    }

    var isLeader: Bool { election.withLock { $0?.isLeader ?? false } }
    /// When this process last became leader; `nil` while it is not.
    var leaderSince: Date? { state.withLock { $0.leaderSince } }

    /// The API addresses of the other nimbus processes in the election, the leader first.
    func peers() -> [Endpoint] {
        let me = identity
        let all = (try? LeaderElection.identities(client: zk, path: ClusterPaths.nimbus)) ?? []
        return all.filter { $0 != me }.compactMap(Endpoint.init)
    }

    /// Runs the scheduler's next pass now.
    func wake() { schedule.wake() }

    // MARK: - ZooKeeper reads

    /// Reads `path` and re-arms its watch when none is armed.
    func read(_ path: String) throws(ZooKeeperError) -> [UInt8]? {
        let arm = state.withLock { $0.armed.insert(path).inserted }
        do {
            return try zk.get(path, watch: arm ? watchHandler(path) : nil).data
        } catch .noNode {
            if arm { state.withLock { _ = $0.armed.remove(path) } }
            return nil
        } catch {
            if arm { state.withLock { _ = $0.armed.remove(path) } }
            throw error
        }
    }

    /// Lists `path`'s children, re-arming its watch when none is armed.
    func list(_ path: String) throws(ZooKeeperError) -> [String] {
        let key = "children:" + path
        let arm = state.withLock { $0.armed.insert(key).inserted }
        do {
            return try zk.children(path, watch: arm ? watchHandler(key) : nil)
        } catch {
            if arm { state.withLock { _ = $0.armed.remove(key) } }
            throw error
        }
    }

    private func watchHandler(_ key: String) -> ZooKeeperWatch {
        { [self] _ in
            state.withLock { _ = $0.armed.remove(key) }
            wake()
        }
    }

    func supervisors() throws(ZooKeeperError) -> [SupervisorRecord] {
        var result: [SupervisorRecord] = []
        for id in try list(ClusterPaths.supervisors) {
            guard let bytes = try read(ClusterPaths.supervisor(id)),
                let record = try? ClusterJSON.decode(SupervisorRecord.self, from: bytes)
            else { continue }
            result.append(record)
        }
        return result
    }

    func topologies() throws(ZooKeeperError) -> [TopologyRecord] {
        var result: [TopologyRecord] = []
        let ids = try list(ClusterPaths.topologies)
        for id in ids {
            let path = ClusterPaths.topology(id)
            guard let bytes = try read(path) else { continue }
            do {
                result.append(try topologyRecords.record(at: path, from: bytes))
            } catch {
                logger.error("unreadable topology record \(id): \(error)")
            }
        }
        topologyRecords.keep(only: Set(ids.map(ClusterPaths.topology)))
        assignmentRecords.keep(only: Set(ids.map(ClusterPaths.assignment)))
        return result
    }

    func assignment(_ id: String) throws(ZooKeeperError) -> AssignmentRecord? {
        let path = ClusterPaths.assignment(id)
        guard let bytes = try read(path) else { return nil }
        return try? assignmentRecords.record(at: path, from: bytes)
    }

    // MARK: - Scheduling

    /// Applies kills that are due and schedules every topology (leader only).
    func reconcile() {
        guard isLeader else { return }
        do {
            let supervisors = try self.supervisors()
            let topologies = try self.topologies()
            var assignments: [String: AssignmentRecord] = [:]
            for topology in topologies {
                assignments[topology.id] = try assignment(topology.id)
            }
            let now = Date().timeIntervalSince1970
            var live = Set(topologies.map(\.id))
            for topology in topologies where topology.status == .killed {
                guard now >= topology.killAt ?? 0 else { continue }
                try remove(topology, hasAssignment: assignments[topology.id] != nil)
                assignments[topology.id] = nil
                live.remove(topology.id)
            }
            try removeControls(keeping: live)
            let dead = deadWorkers()
            for topology in topologies where topology.status != .killed || now < topology.killAt ?? 0 {
                guard topology.status != .killed else { continue }
                let others = assignments.filter { $0.key != topology.id }.values.flatMap(\.workers).map(\.endpoint)
                let input = Scheduler.Input(
                    tasks: topology.description.taskIds.values.flatMap { $0 },
                    requestedWorkers: topology.workers,
                    supervisors: supervisors,
                    slotsInUse: Set(others),
                    current: assignments[topology.id],
                    deadWorkers: dead
                )
                guard var next = Scheduler.schedule(topologyId: topology.id, input) else { continue }
                next.secret = Secret.generate()
                try write(next)
                assignments[topology.id] = next
                metrics.withLock { $0.reassignments += 1 }
                logger.info(
                    "assigned \(topology.id) epoch \(next.epoch): \(next.workers.map { "\($0.endpoint)[\($0.tasks.count)]" }.joined(separator: " "))"
                )
            }
        } catch {
            logger.warning("scheduling skipped: \(error)")
        }
    }

    /// Workers whose supervisor reports their heartbeats stale for longer than the worker timeout.
    private func deadWorkers() -> Set<Endpoint> {
        state.withLock { s in
            var dead = Set<Endpoint>()
            for (report, at) in s.reports.values where Date().timeIntervalSince(at) < 30 {
                for worker in report.workers
                where worker.state == "stale" && (worker.heartbeatAgeSeconds ?? 0) > options.workerTimeoutSeconds {
                    dead.insert(worker.endpoint)
                }
            }
            return dead
        }
    }

    private func write(_ assignment: AssignmentRecord) throws(ZooKeeperError) {
        let path = ClusterPaths.assignment(assignment.topologyId)
        let bytes = (try? ClusterJSON.encode(assignment)) ?? []
        do {
            try zk.set(path, data: bytes)
        } catch .noNode {
            try zk.create(path, data: bytes)
        }
    }

    /// Deletes a killed topology's assignment and record (one ZooKeeper transaction) and its
    /// binary when no other topology uses it.
    private func remove(_ topology: TopologyRecord, hasAssignment: Bool) throws(ZooKeeperError) {
        var ops: [ZooKeeperOp] = []
        if hasAssignment { ops.append(.delete(path: ClusterPaths.assignment(topology.id), version: -1)) }
        ops.append(.delete(path: ClusterPaths.topology(topology.id), version: -1))
        try zk.multi(ops)
        logger.info("removed killed topology \(topology.id)")
        statistics.forget(topology.id)
        let others = (try? topologies()) ?? []
        if !others.contains(where: { $0.binaryDigest == topology.binaryDigest }) {
            blobs.remove(topology.binaryDigest)
        }
    }

    // MARK: - Reports

    func record(_ report: SupervisorReport) {
        sampleRings.add(report)
        var report = report
        // Kept in their rings, not with the report.
        for i in report.workers.indices { report.workers[i].samples = nil }
        let now = Date()
        state.withLock { $0.reports[report.supervisorId] = (report, now) }
        statistics.record(report, now: now.timeIntervalSince1970)
        metrics.withLock { $0.reportsReceived += 1 }
    }

    func reports() -> [String: (report: SupervisorReport, at: Date)] { state.withLock { $0.reports } }

    var identity: String { state.withLock { $0.identity } }
    var uptime: Double { Date().timeIntervalSince(startedAt) }
    var zookeeperConnected: Bool { state.withLock { $0.zookeeperConnected } }
    func leaderIdentity() -> String? { election.withLock { try? $0?.leaderIdentity() } ?? nil }

    func count(_ body: (inout Metrics) -> Void) { metrics.withLock { body(&$0) } }
    var metricsSnapshot: Metrics { metrics.withLock { $0 } }
}
