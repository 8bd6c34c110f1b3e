import Foundation
import Gale
public import GaleCoordination
public import Logging
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
        workerEnvironment: [String: String] = [:]
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
    }
}

/// The per-host daemon: registers its slots, runs the workers assigned to them, relays their
/// heartbeats and statistics to nimbus.
public final class SupervisorDaemon: Sendable {
    public let id: String
    let options: SupervisorOptions
    let logger: Logger
    let zk: ZooKeeperClient
    let processes: WorkerProcessManager
    let client = HTTPClient(timeout: .seconds(60))
    private let state = Mutex(State())
    private let wakeFlag = Atomic<Bool>(true)
    private let stopped = Atomic<Bool>(false)
    private let startedAt = Date()
    private let server: Mutex<HTTPServer?> = Mutex(nil)
    private let loops: Mutex<[Task<Void, Never>]> = Mutex([])

    struct Desired: Sendable {
        var spec: WorkerLaunchSpec
        var launch: WorkerLaunch
        var assignedTasks: [Int]
    }

    struct State {
        var desired: [String: Desired] = [:]
        var active: [String: Bool] = [:]
        var heartbeats: [String: (beat: WorkerHeartbeat, at: Date)] = [:]
        var launchedAt: [String: Date] = [:]
        var errors: [String] = []
        var failedDownloads: [String: Date] = [:]
        /// Workers assigned here that cannot start because no nimbus served their binary.
        var withoutBinary: [String: WorkerReport] = [:]
        var armed: Set<String> = []
        var heartbeatPort = 0
    }

    /// Connects to ZooKeeper and prepares the data directory.
    /// - Throws: ``ZooKeeperError`` when ZooKeeper is unreachable, or a file error.
    public init(options: SupervisorOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
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
        var config = ZooKeeperConfig(connectString: options.zookeeper, sessionTimeout: options.sessionTimeout)
        config.connectTimeout = .seconds(10)
        self.zk = try ZooKeeperClient(config, logger: logger)
        for path in ClusterPaths.parents { try zk.ensurePath(path) }
        self.processes = WorkerProcessManager(
            stateDirectory: options.dataDirectory + "/processes",
            logger: logger,
            terminationGrace: .seconds(5)
        )
    }

    /// Adopts workers a previous run left, starts the heartbeat listener, registers in
    /// ZooKeeper and starts the sync and report loops.
    public func start() async throws {
        let adopted = processes.adopt()
        if !adopted.isEmpty {
            logger.info("adopted \(adopted.count) running workers: \(adopted.map(\.id).joined(separator: ", "))")
        }
        processes.onExit { [logger] id, description in
            logger.warning("worker \(id) \(description)")
        }
        let port = try await startHeartbeatServer()
        state.withLock { $0.heartbeatPort = port }
        zk.onSessionEvent { [self] event in
            if case .sessionReplaced = event {
                state.withLock { $0.armed.removeAll() }
                logger.warning("ZooKeeper session replaced; registration restored, watches re-armed")
            }
            wake()
        }
        try register()
        let sync = Task { [self] in await syncLoop() }
        let report = Task { [self] in await reportLoop() }
        loops.withLock { $0 = [sync, report] }
        logger.info(
            "supervisor \(id) on \(options.host) slots \(options.slots.map(String.init).joined(separator: ",")), heartbeats on 127.0.0.1:\(port)"
        )
    }

    /// Stops the loops, then the workers (or leaves them for adoption), the listener and ZooKeeper.
    public func stop() async {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for task in loops.withLock({ $0 }) {
            task.cancel()
            await task.value
        }
        if options.stopWorkersOnExit {
            await processes.stopAll()
        } else {
            processes.detach()
        }
        let server = self.server.withLock { s in
            defer { s = nil }
            return s
        }
        await server?.stop()
        zk.close()
        logger.info("supervisor \(id) stopped")
    }

    func wake() { wakeFlag.store(true, ordering: .releasing) }

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
            // Left by this supervisor's previous session (not yet expired): take it over.
            try zk.delete(path)
            try zk.create(path, data: bytes, mode: .ephemeral)
        }
    }

    // MARK: - Heartbeats from workers

    private func startHeartbeatServer() async throws -> Int {
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
                self.server.withLock { $0 = server }
                try? String(port).write(toFile: portFile, atomically: true, encoding: .utf8)
                return port
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
        let reply = state.withLock { s -> WorkerHeartbeatReply in
            guard let desired = s.desired[beat.workerId], desired.spec.epoch == beat.epoch else {
                return WorkerHeartbeatReply(active: false, stop: true)
            }
            s.heartbeats[beat.workerId] = (beat, Date())
            return WorkerHeartbeatReply(active: s.active[beat.topologyId] ?? false, stop: false)
        }
        return .json(reply)
    }

    // MARK: - Sync with ZooKeeper

    private func syncLoop() async {
        var last = Date.distantPast
        while !Task.isCancelled {
            if wakeFlag.exchange(false, ordering: .acquiringAndReleasing) || Date().timeIntervalSince(last) >= 1 {
                last = Date()
                await syncOnce()
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

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

    /// Reads the assignments, fetches binaries, writes worker files and makes the running
    /// workers match.
    func syncOnce() async {
        var desired: [String: Desired] = [:]
        var active: [String: Bool] = [:]
        var withoutBinary: [String: WorkerReport] = [:]
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
                guard let binary = await binary(for: topology) else {
                    for worker in mine {
                        let workerId = "\(topologyId)-\(worker.endpoint.port)"
                        withoutBinary[workerId] = WorkerReport(
                            workerId: workerId,
                            topologyId: topologyId,
                            epoch: assignment.epoch,
                            endpoint: worker.endpoint,
                            pid: nil,
                            state: "no-binary",
                            restarts: 0,
                            lastExit: nil,
                            uptimeSeconds: 0,
                            heartbeatAgeSeconds: nil,
                            stats: nil
                        )
                    }
                    continue
                }
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
                    let directory = "\(options.dataDirectory)/workers/\(workerId)"
                    let specPath = "\(directory)/epoch-\(assignment.epoch).json"
                    do {
                        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                        let bytes = try ClusterJSON.encode(spec)
                        if FileManager.default.contents(atPath: specPath).map(Array.init) != bytes {
                            try Data(bytes).write(to: URL(fileURLWithPath: specPath), options: .atomic)
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
                    desired[workerId] = Desired(spec: spec, launch: launch, assignedTasks: worker.tasks)
                }
            }
        } catch {
            logger.warning("cannot read assignments from ZooKeeper: \(error)")
            return
        }
        let previous = state.withLock { s in
            let previous = s.desired
            s.desired = desired
            s.active = active
            s.withoutBinary = withoutBinary
            for id in s.heartbeats.keys where desired[id] == nil { s.heartbeats[id] = nil }
            for (id, d) in desired where previous[id]?.launch != d.launch { s.launchedAt[id] = Date() }
            return previous
        }
        processes.ensure(desired.values.map(\.launch).sorted { $0.id < $1.id })
        killSilentWorkers()
        cleanUp(keeping: desired, previous: previous)
    }

    /// Kills workers that run but stopped heartbeating; the process manager restarts them.
    private func killSilentWorkers() {
        let now = Date()
        let statuses = processes.statuses()
        let silent = state.withLock { s -> [String] in
            s.desired.keys.filter { id in
                let started = statuses.first { $0.id == id }.map { Date(timeIntervalSince1970: $0.startedAt) }
                let since = [s.heartbeats[id]?.at, s.launchedAt[id], started].compactMap { $0 }.max() ?? now
                return now.timeIntervalSince(since) > options.heartbeatTimeoutSeconds
            }
        }
        for status in statuses where status.running && silent.contains(status.id) {
            logger.warning(
                "worker \(status.id) (pid \(status.pid)) sent no heartbeat for \(options.heartbeatTimeoutSeconds) s: killing it"
            )
            kill(status.pid, SIGKILL)
            state.withLock { $0.launchedAt[status.id] = now }
        }
    }

    /// Removes worker files of workers no longer assigned and binaries no longer used.
    private func cleanUp(keeping desired: [String: Desired], previous: [String: Desired]) {
        let fm = FileManager.default
        let workersDir = options.dataDirectory + "/workers"
        for name in (try? fm.contentsOfDirectory(atPath: workersDir)) ?? [] where desired[name] == nil {
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
        let used = Set(
            desired.values.map {
                URL(fileURLWithPath: $0.launch.executable).deletingLastPathComponent().lastPathComponent
            }
        )
        let topologiesDir = options.dataDirectory + "/topologies"
        for digest in (try? fm.contentsOfDirectory(atPath: topologiesDir)) ?? [] where !used.contains(digest) {
            try? fm.removeItem(atPath: "\(topologiesDir)/\(digest)")
        }
        for id in previous.keys where desired[id] == nil {
            logger.info("worker \(id) is no longer assigned here")
        }
    }

    // MARK: - Binaries

    /// The local path of the topology's binary, downloading and verifying it first when needed.
    private func binary(for topology: TopologyRecord) async -> String? {
        let digest = topology.binaryDigest
        guard BlobStore.isDigest(digest) else {
            note("topology \(topology.id) names an invalid binary digest '\(digest)'")
            return nil
        }
        let dir = "\(options.dataDirectory)/topologies/\(digest)"
        let path = "\(dir)/\(topology.description.name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
        if let failed = state.withLock({ $0.failedDownloads[digest] }), Date().timeIntervalSince(failed) < 5 {
            return nil
        }
        let candidates = nimbusCandidates()
        guard !candidates.isEmpty else {
            note(
                "cannot download the binary of \(topology.id): no nimbus is known (none in ZooKeeper's election, no --nimbus)"
            )
            return nil
        }
        var failures: [String] = []
        for nimbus in candidates {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let temporary = "\(path).download"
                _ = try await client.download(
                    address: nimbus.description,
                    path: "/api/v1/blobs/\(digest)",
                    to: temporary
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
                    note("cannot install the binary of \(topology.id) at \(path): \(String(cString: strerror(errno)))")
                    return nil
                }
                logger.info("downloaded the binary of \(topology.id) from \(nimbus) (sha256 verified)")
                state.withLock { _ = $0.failedDownloads.removeValue(forKey: digest) }
                return path
            } catch {
                failures.append("\(nimbus): \(error)")
            }
        }
        state.withLock { $0.failedDownloads[digest] = Date() }
        if !failures.contains(where: { $0.contains("digest mismatch") }) {
            note("cannot download the binary of \(topology.id) from any nimbus: \(failures.joined(separator: "; "))")
        }
        return nil
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

    private func reportLoop() async {
        var failures = 0
        while !Task.isCancelled {
            let report = makeReport()
            let candidates = nimbusCandidates()
            if !candidates.isEmpty {
                let nimbus = NimbusClient(addresses: candidates, timeout: .seconds(30))
                do {
                    let body = try ClusterJSON.encode(report)
                    let response = try await nimbus.send(
                        "POST",
                        path: "/api/v1/supervisors/report",
                        body: body,
                        headers: [(name: "content-type", value: "application/json")]
                    )
                    if response.status >= 300 {
                        logger.warning(
                            "nimbus refused the report: \(response.errorMessage ?? "status \(response.status)")"
                        )
                    }
                    failures = 0
                } catch {
                    failures += 1
                    if failures == 1 || failures % 30 == 0 {
                        logger.warning("cannot report to nimbus: \(error)")
                    }
                }
            }
            try? await Task.sleep(for: .seconds(options.reportIntervalSeconds))
        }
    }

    func makeReport() -> SupervisorReport {
        let statuses = Dictionary(processes.statuses().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let now = Date()
        return state.withLock { s in
            let workers = s.desired.values.sorted { $0.spec.workerId < $1.spec.workerId }.map { d -> WorkerReport in
                let id = d.spec.workerId
                let beat = s.heartbeats[id]
                let process = statuses[id]
                let age = beat.map { now.timeIntervalSince($0.at) }
                let state: String
                if let age, age <= 3 * 1.0 + 1 {
                    state = "running"
                } else if beat != nil {
                    state = "stale"
                } else {
                    state = process?.running == true ? "starting" : "failed"
                }
                return WorkerReport(
                    workerId: id,
                    topologyId: d.spec.topologyId,
                    epoch: d.spec.epoch,
                    endpoint: d.spec.endpoint,
                    pid: process?.pid,
                    state: state,
                    restarts: process?.restarts ?? 0,
                    lastExit: process?.lastExit,
                    uptimeSeconds: beat?.beat.uptimeSeconds ?? 0,
                    heartbeatAgeSeconds: age,
                    stats: beat?.beat.stats
                )
            }
            return SupervisorReport(
                supervisorId: id,
                host: options.host,
                slots: options.slots,
                uptimeSeconds: now.timeIntervalSince(startedAt),
                workers: workers + s.withoutBinary.values.sorted { $0.workerId < $1.workerId },
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
