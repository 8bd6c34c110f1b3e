import ArgumentParser
import Dispatch
import Foundation
import Gale
import GaleCoordination
import GaleRuntime
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `BINARY worker --assignment FILE`: one worker process of a cluster topology, started by a
/// supervisor.
///
/// It reads its launch spec (written by the supervisor), runs its tasks with the in-process
/// runtime and exchanges tuples with the other workers over TCP (``ClusterWorker``). Every
/// second it heartbeats its statistics to the supervisor on loopback; the answer says whether
/// its spouts should run and whether it is still assigned. It stops on SIGTERM or SIGINT, when
/// the supervisor says it is no longer assigned, or when no heartbeat has been answered for the
/// spec's orphan timeout (its supervisor is gone).
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
        // Every logger of the worker (its tasks' and clients' included) logs at --log-level.
        ProcessLogging.setLevel(Logger.Level(rawValue: logLevel) ?? .info)
        var logger = Logger(label: "gale.worker")
        logger[metadataKey: "worker"] = "\(spec.workerId)"
        let topology = try Self.topology(for: spec)
        let layout = WorkerLayout(
            topologyId: spec.topologyId,
            epoch: spec.epoch,
            me: WorkerAddress(host: spec.endpoint.host, port: spec.endpoint.port),
            taskAddresses: spec.taskEndpoints.mapValues { WorkerAddress(host: $0.host, port: $0.port) }
        )
        let signals = SignalFlag(signals: [SIGTERM, SIGINT])
        let worker: ClusterWorker
        do {
            worker = try await ClusterWorker(topology: topology, layout: layout, logger: logger, activate: false)
        } catch {
            throw ValidationError("worker \(spec.workerId) cannot start: \(error)")
        }
        let startedAt = ContinuousClock.now
        logger.info(
            "worker started",
            metadata: [
                "topology": "\(spec.topologyId)", "epoch": "\(spec.epoch)", "port": "\(worker.port)",
                "tasks": "\(worker.localTasks.sorted())",
            ]
        )

        var wantActive = spec.active
        var isActive = false
        var lastAnswer = ContinuousClock.now
        var nextBeat = ContinuousClock.now
        let client = HTTPClient(timeout: .seconds(2))
        var supervisor = spec.supervisor.description
        let orphanTimeout = Duration.milliseconds(Int64(spec.orphanTimeoutSeconds * 1000))
        var reason = "signal"
        while !signals.isSet {
            let now = ContinuousClock.now
            // Spouts start once every peer is connected (or after a bounded wait).
            let peersReady = worker.allPeersConnected || now - startedAt >= Self.connectWait
            if peersReady && wantActive != isActive {
                worker.setActive(wantActive)
                isActive = wantActive
                logger.info("spouts \(wantActive ? "activated" : "deactivated")")
            }
            if now >= nextBeat {
                nextBeat = now + .seconds(1)
                let beat = WorkerHeartbeat(
                    workerId: spec.workerId,
                    topologyId: spec.topologyId,
                    epoch: spec.epoch,
                    port: worker.port,
                    pid: getpid(),
                    uptimeSeconds: (now - startedAt).inSeconds,
                    stats: worker.stats()
                )
                do {
                    let response = try await client.postJSON(address: supervisor, path: "/heartbeat", beat)
                    let reply = try response.decodeJSON(WorkerHeartbeatReply.self)
                    lastAnswer = ContinuousClock.now
                    if reply.stop {
                        reason = "no longer assigned"
                        break
                    }
                    wantActive = reply.active
                } catch {
                    logger.debug("heartbeat to supervisor \(supervisor) failed: \(error)")
                    // A restarted supervisor may listen on another port: it writes it here.
                    if let file = spec.supervisorPortFile,
                        let text = try? String(contentsOfFile: file, encoding: .utf8),
                        let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                        "\(spec.supervisor.host):\(port)" != supervisor
                    {
                        supervisor = "\(spec.supervisor.host):\(port)"
                        logger.info("supervisor now listens for heartbeats on \(supervisor)")
                    }
                }
                if ContinuousClock.now - lastAnswer > orphanTimeout {
                    reason = "supervisor \(supervisor) unreachable for \(spec.orphanTimeoutSeconds) s"
                    break
                }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        logger.info("worker stopping: \(reason)")
        await worker.shutdown(drainTimeout: .seconds(3))
        logger.info("worker stopped")
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

/// Set once one of some signals arrives (the signals are ignored otherwise from then on).
///
/// Threading: the sources are set in `init` and never changed; the flag is atomic.
final class SignalFlag: @unchecked Sendable {
    private let flag = Atomic<Bool>(false)
    private var sources: [any DispatchSourceSignal] = []

    /// - Parameter onFirst: called once, on a private queue, when the first signal arrives.
    init(signals: [Int32], onFirst: (@Sendable () -> Void)? = nil) {
        let queue = DispatchQueue(label: "gale.signals")
        for sig in signals {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [self] in
                if !flag.exchange(true, ordering: .acquiringAndReleasing) { onFirst?() }
            }
            source.resume()
            sources.append(source)
        }
    }

    var isSet: Bool { flag.load(ordering: .acquiring) }
}
