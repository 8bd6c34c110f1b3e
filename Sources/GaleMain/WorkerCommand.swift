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
        // Every logger of the worker (its tasks' and clients' included) logs at --log-level, or
        // at the level `gale set-log-level` sets (a component's reaches the code of its tasks).
        ProcessLogging.setLevel(Logger.Level(rawValue: logLevel) ?? .info)
        ProcessLogging.setComponentLookup { TopologyRuntime.currentComponent }
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

/// The worker's `heartbeats` service: every second it sends the worker's statistics and sampled
/// tuples to its supervisor and learns whether the spouts should run and the topology's
/// controls (log levels, event sampling), which it applies, and reverts when their time is up;
/// it switches the spouts once every peer is connected (or after ``Worker/connectWait``). It
/// ends the worker when the supervisor says the worker is no longer assigned, or when no
/// heartbeat has been answered for the spec's orphan timeout (the supervisor is gone).
final class WorkerHeartbeats: Sendable {
    private struct State {
        var wantActive: Bool
        var isActive = false
        var lastAnswer = ContinuousClock.now
        var nextBeat = ContinuousClock.now
        var supervisor: String
        var stopReason: String?
        /// The controls of the last heartbeat reply.
        var controls = TopologyControls()
        /// What of them is applied.
        var applied = AppliedControls()
        /// Seconds since 1970 when an applied control expires next (`nil`: none does).
        var nextExpiry: Double?
        var controlsChanged = false
    }

    /// The log levels and sampling percents a worker applied.
    struct AppliedControls: Equatable {
        var logLevels = LogLevelOverrides()
        var sampling: [String: Double] = [:]
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

    /// Applies the controls of the last reply when they changed or one of them expired: the log
    /// levels to every logger of the process, the sampling to the runtime.
    private func applyControls() {
        let now = Date().timeIntervalSince1970
        let change = state.withLock { s -> (from: AppliedControls, to: AppliedControls)? in
            guard s.controlsChanged || (s.nextExpiry.map { now >= $0 } ?? false) else { return nil }
            s.controlsChanged = false
            s.nextExpiry = s.controls.nextExpiry(after: now)
            let next = AppliedControls(
                logLevels: s.controls.logLevelOverrides(at: now),
                sampling: s.controls.samplingPercents(at: now)
            )
            guard next != s.applied else { return nil }
            defer { s.applied = next }
            return (s.applied, next)
        }
        guard let change else { return }
        if change.to.logLevels != change.from.logLevels {
            ProcessLogging.setOverrides(change.to.logLevels)
            logger.notice("log levels now \(Self.describe(change.to.logLevels))")
        }
        if change.to.sampling != change.from.sampling {
            worker.setSampling(change.to.sampling)
            logger.notice(
                "event sampling now \(change.to.sampling.isEmpty ? "off" : change.to.sampling.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) %" }.joined(separator: ", "))"
            )
        }
    }

    static func describe(_ overrides: LogLevelOverrides) -> String {
        guard !overrides.isEmpty else { return "the loggers' own (--log-level)" }
        var parts: [String] = []
        if let all = overrides.all { parts.append("every logger \(all)") }
        for (component, level) in overrides.components.sorted(by: { $0.key < $1.key }) {
            parts.append("component \(component) \(level)")
        }
        return parts.joined(separator: ", ")
    }

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
        applyControls()
        guard beatDue else { return .again }
        var beat = WorkerHeartbeat(
            workerId: spec.workerId,
            topologyId: spec.topologyId,
            epoch: spec.epoch,
            port: worker.port,
            pid: getpid(),
            uptimeSeconds: (now - startedAt).inSeconds,
            stats: worker.stats(),
            metrics: worker.metrics()
        )
        let samples = worker.takeSamples()
        if !samples.isEmpty { beat.samples = samples }
        do {
            let response = try await client.postJSON(
                address: supervisor,
                path: "/heartbeat",
                beat,
                headers: spec.heartbeatToken.map { [(name: "authorization", value: "Bearer \($0)")] } ?? []
            )
            let reply = try response.decodeJSON(WorkerHeartbeatReply.self)
            logger.debug("heartbeat answered: active \(reply.active), \(samples.count) samples sent")
            return state.withLock { s in
                s.lastAnswer = ContinuousClock.now
                if reply.stop {
                    s.stopReason = "no longer assigned"
                    return .finish
                }
                s.wantActive = reply.active
                let controls = reply.controls ?? TopologyControls()
                if controls != s.controls {
                    s.controls = controls
                    s.controlsChanged = true
                }
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
