import ArgumentParser
import Foundation
import Gale
import GaleCoordination
import GaleRuntime
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `BINARY worker --assignment FILE`: one worker process of a cluster topology, started by a
/// supervisor.
///
/// It reads its launch spec (written by the supervisor), runs its tasks with the in-process
/// runtime and exchanges tuples with the other workers over TCP (``ClusterWorker``). It runs as
/// a service group (``DaemonRunner``) of two services: `topology` (the running tasks, drained
/// on shutdown) and `heartbeats` (``WorkerHeartbeats``). It stops on SIGTERM or SIGINT, when
/// the supervisor says it is no longer assigned, or when its supervisor is gone.
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one worker of a cluster topology (started by `gale supervisor`)."
    )

    @Option(help: "The launch spec the supervisor wrote (JSON).")
    var assignment: String

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    /// Longest the spouts wait for every peer connection before they start anyway (tuples for a
    /// peer that is not connected yet are buffered, up to a bound).
    static let connectWait: Duration = .seconds(5)

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        let spec = try Self.readSpec(assignment)
        // The components' metrics (and any swift-metrics series) go to the registry whose text
        // each heartbeat carries to the supervisor's /metrics.
        GaleMetrics.bootstrap()
        // Every logger of the worker (its tasks' and clients' included) logs at --log-level.
        ProcessLogging.setLevel(Logger.Level(rawValue: logLevel) ?? .info)
        var logger = Logger(label: "gale.worker")
        logger[metadataKey: "worker"] = "\(spec.workerId)"
        let topology = try Self.topology(for: spec)
        let layout = WorkerLayout(
            topologyId: spec.topologyId,
            epoch: spec.epoch,
            me: WorkerAddress(host: spec.endpoint.host, port: spec.endpoint.port),
            taskAddresses: spec.taskEndpoints.mapValues { WorkerAddress(host: $0.host, port: $0.port) },
            secret: spec.assignmentSecret.map { Array($0.utf8) }
        )
        var options = TransportOptions()
        if let tls = spec.transportTLS {
            do {
                options.tls = try TransportTLS(
                    caCertificatesPEM: tls.ca,
                    certificateChainPEM: tls.cert,
                    privateKeyPEM: tls.key
                )
            } catch {
                throw ValidationError("worker \(spec.workerId) cannot start: transport TLS: \(error)")
            }
        }
        let worker: ClusterWorker
        do {
            worker = try await ClusterWorker(
                topology: topology,
                layout: layout,
                logger: logger,
                activate: false,
                options: options
            )
        } catch {
            throw ValidationError("worker \(spec.workerId) cannot start: \(error)")
        }
        logger.info(
            "worker started",
            metadata: [
                "topology": "\(spec.topologyId)", "epoch": "\(spec.epoch)", "port": "\(worker.port)",
                "tasks": "\(worker.localTasks.sorted())", "transport": "\(options.tls == nil ? "tcp" : "mutual TLS")",
            ]
        )
        let heartbeats = WorkerHeartbeats(spec: spec, worker: worker, logger: logger)
        let services: [any Service] = [
            ResourceService("topology") { [logger] in
                logger.info("worker stopping: \(heartbeats.stopReason ?? "signal")")
                await worker.shutdown(drainTimeout: .seconds(3))
                logger.info("worker stopped")
            },
            PeriodicService("heartbeats", every: .milliseconds(50), until: { await heartbeats.pass() }),
        ]
        // The supervisor sends SIGKILL 5 s after SIGTERM; the drain takes at most 3 s.
        try await DaemonRunner(
            logger: logger,
            executor: BlockingExecutor(label: "gale.worker", lanes: 2),
            maximumShutdown: .seconds(10)
        ).run(services)
    }

    static func readSpec(_ path: String) throws -> WorkerLaunchSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the assignment file \(path)")
        }
        do {
            return try ClusterJSON.decode(WorkerLaunchSpec.self, from: Array(data))
        } catch {
            throw ValidationError("the assignment file \(path) is not a worker launch spec: \(error)")
        }
    }

    /// The binary's topology with the submitted config overrides, the cluster's settings
    /// (``WorkerLaunchSpec/topologySettings``: ZooKeeper servers, topology id) and the
    /// parallelism applied.
    static func topology(for spec: WorkerLaunchSpec) throws -> Topology {
        let registry = Registry.shared
        var topology: Topology
        if let named = try? registry.topology(named: spec.topologyName) {
            topology = named
        } else {
            topology = try registry.topology(named: nil)
        }
        var config = topology.config
        for (key, value) in spec.topologySettings.sorted(by: { $0.key < $1.key }) {
            do {
                try config.set(key, value)
            } catch {
                throw ValidationError("bad config override \(key)=\(value): \(error)")
            }
        }
        do {
            topology = try topology.with(config: config)
            if !spec.parallelism.isEmpty { topology = try topology.rescaled(spec.parallelism) }
        } catch {
            throw ValidationError("cannot apply the submitted settings: \(error)")
        }
        return topology
    }
}

/// The worker's `heartbeats` service: every second it sends the worker's statistics to its
/// supervisor and learns whether the spouts should run; it switches the spouts once every peer
/// is connected (or after ``Worker/connectWait``). It ends the worker when the supervisor says
/// the worker is no longer assigned, or when no heartbeat has been answered for the spec's
/// orphan timeout (the supervisor is gone).
final class WorkerHeartbeats: Sendable {
    private struct State {
        var wantActive: Bool
        var isActive = false
        var lastAnswer = ContinuousClock.now
        var nextBeat = ContinuousClock.now
        var supervisor: String
        var stopReason: String?
    }

    let spec: WorkerLaunchSpec
    let worker: ClusterWorker
    let logger: Logger
    let startedAt = ContinuousClock.now
    let client = HTTPClient(timeout: .seconds(2))
    private let state: Mutex<State>

    init(spec: WorkerLaunchSpec, worker: ClusterWorker, logger: Logger) {
        self.spec = spec
        self.worker = worker
        self.logger = logger
        self.state = Mutex(State(wantActive: spec.active, supervisor: spec.supervisor.description))
    }

    /// Why the worker ends, once a pass has decided it.
    var stopReason: String? { state.withLock { $0.stopReason } }

    /// One 50 ms pass: the spouts' switch, and a heartbeat when one is due.
    func pass() async -> PeriodicService.Next {
        let now = ContinuousClock.now
        // Spouts start once every peer is connected (or after a bounded wait).
        let peersReady = worker.allPeersConnected || now - startedAt >= Worker.connectWait
        let (switchTo, beatDue, supervisor) = state.withLock { s -> (Bool?, Bool, String) in
            var switchTo: Bool?
            if peersReady && s.wantActive != s.isActive {
                s.isActive = s.wantActive
                switchTo = s.wantActive
            }
            let due = now >= s.nextBeat
            if due { s.nextBeat = now + .seconds(1) }
            return (switchTo, due, s.supervisor)
        }
        if let switchTo {
            worker.setActive(switchTo)
            logger.info("spouts \(switchTo ? "activated" : "deactivated")")
        }
        guard beatDue else { return .again }
        let beat = WorkerHeartbeat(
            workerId: spec.workerId,
            topologyId: spec.topologyId,
            epoch: spec.epoch,
            port: worker.port,
            pid: getpid(),
            uptimeSeconds: (now - startedAt).inSeconds,
            stats: worker.stats(),
            metrics: worker.metrics()
        )
        do {
            let response = try await client.postJSON(
                address: supervisor,
                path: "/heartbeat",
                beat,
                headers: spec.heartbeatToken.map { [(name: "authorization", value: "Bearer \($0)")] } ?? []
            )
            let reply = try response.decodeJSON(WorkerHeartbeatReply.self)
            return state.withLock { s in
                s.lastAnswer = ContinuousClock.now
                if reply.stop {
                    s.stopReason = "no longer assigned"
                    return .finish
                }
                s.wantActive = reply.active
                return .again
            }
        } catch {
            logger.debug("heartbeat to supervisor \(supervisor) failed: \(error)")
            // A restarted supervisor may listen on another port: it writes it here.
            if let file = spec.supervisorPortFile,
                let text = try? String(contentsOfFile: file, encoding: .utf8),
                let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                "\(spec.supervisor.host):\(port)" != supervisor
            {
                let moved = "\(spec.supervisor.host):\(port)"
                state.withLock { $0.supervisor = moved }
                logger.info("supervisor now listens for heartbeats on \(moved)")
            }
            let orphanTimeout = Duration.milliseconds(Int64(spec.orphanTimeoutSeconds * 1000))
            return state.withLock { s in
                guard ContinuousClock.now - s.lastAnswer > orphanTimeout else { return .again }
                s.stopReason = "supervisor \(s.supervisor) unreachable for \(spec.orphanTimeoutSeconds) s"
                return .finish
            }
        }
    }
}
