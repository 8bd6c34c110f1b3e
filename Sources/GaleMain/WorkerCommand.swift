import ArgumentParser
import Dispatch
import Foundation
import Gale
import GaleCoordination
import GaleRuntime
import Logging
import Synchronization

/// `binary worker --assignment FILE`: runs this process's share of a topology in a cluster.
///
/// The supervisor writes the file (a ``WorkerLaunchSpec``: epoch, every task's worker, config
/// overrides, its own heartbeat address) and starts the binary. The worker runs its tasks,
/// exchanges tuples with the other workers over TCP, and heartbeats to its supervisor every
/// second with its statistics; the answer says whether the spouts run and whether to stop. It
/// stops cleanly on SIGTERM, when the supervisor says it is no longer assigned, or when its
/// supervisor has been unreachable for the orphan timeout.
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run as a cluster worker (started by a supervisor)."
    )

    @Option(help: "The worker file written by the supervisor.")
    var assignment: String

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: assignment) else {
            throw ValidationError("cannot read the worker file \(assignment)")
        }
        let spec: WorkerLaunchSpec
        do {
            spec = try ClusterJSON.decode(WorkerLaunchSpec.self, from: Array(data))
        } catch {
            throw ValidationError("\(assignment) is not a worker file: \(error)")
        }
        var logger = Logger(label: "gale.worker")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        logger[metadataKey: "worker"] = "\(spec.workerId)"

        var topology = try Registry.shared.topology(named: spec.topologyName)
        var config = topology.config
        for (key, value) in spec.configOverrides.sorted(by: { $0.key < $1.key }) {
            do {
                try config.set(key, value)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        topology = try topology.with(config: config).rescaled(spec.parallelism)

        let layout = WorkerLayout(
            topologyId: spec.topologyId,
            epoch: spec.epoch,
            me: WorkerAddress(host: spec.endpoint.host, port: spec.endpoint.port),
            taskAddresses: spec.taskEndpoints.mapValues { WorkerAddress(host: $0.host, port: $0.port) }
        )
        let stopSignal = SignalFlag(signals: [SIGTERM, SIGINT])
        let worker = try await ClusterWorker(topology: topology, layout: layout, logger: logger, activate: spec.active)
        logger.info(
            "worker \(spec.workerId) epoch \(spec.epoch) on \(spec.endpoint): tasks \(worker.localTasks.sorted().map(String.init).joined(separator: ","))"
        )

        let client = HTTPClient(timeout: .seconds(2))
        let started = Date()
        var lastContact = Date()
        var active = spec.active
        var reason = "SIGTERM"
        loop: while true {
            let beat = WorkerHeartbeat(
                workerId: spec.workerId,
                topologyId: spec.topologyId,
                epoch: spec.epoch,
                port: spec.endpoint.port,
                pid: getpid(),
                uptimeSeconds: Date().timeIntervalSince(started),
                stats: worker.stats()
            )
            do {
                let response = try await client.postJSON(address: spec.supervisor.description, path: "/heartbeat", beat)
                let reply = try response.decodeJSON(WorkerHeartbeatReply.self)
                lastContact = Date()
                if reply.stop {
                    reason = "no longer assigned"
                    break loop
                }
                if reply.active != active {
                    active = reply.active
                    worker.setActive(active)
                    logger.info("spouts \(active ? "activated" : "deactivated")")
                }
            } catch {
                if Date().timeIntervalSince(lastContact) > spec.orphanTimeoutSeconds {
                    reason = "supervisor unreachable for \(Int(spec.orphanTimeoutSeconds)) s (\(error))"
                    break loop
                }
            }
            for _ in 0..<10 {
                if stopSignal.isSet { break loop }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        logger.info("worker \(spec.workerId) stopping: \(reason)")
        await worker.shutdown(drainTimeout: .seconds(2))
    }
}

/// Set once one of `signals` arrives (they are ignored otherwise).
final class SignalFlag: @unchecked Sendable {
    private let flag = Atomic<Bool>(false)
    private let queue = DispatchQueue(label: "gale.worker.signals")
    private var sources: [any DispatchSourceSignal] = []

    init(signals: [Int32]) {
        queue.sync {
            for sig in signals {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                source.setEventHandler { [flag] in flag.store(true, ordering: .releasing) }
                source.resume()
                sources.append(source)
            }
        }
    }

    var isSet: Bool { flag.load(ordering: .acquiring) }
}
