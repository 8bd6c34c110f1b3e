import Dispatch
public import Gale
public import Logging
import Synchronization

/// One worker process's share of a topology in cluster mode: it runs the tasks the layout assigns
/// to it with the in-process runtime and exchanges tuples with the other workers over TCP.
///
/// Envelopes for tasks of other workers are encoded into per-peer buffers and written in batches;
/// envelopes from peers are decoded into the local tasks' inboxes. Acking works across workers
/// (ack messages travel like tuples), and so does backpressure: when a local queue is overloaded,
/// the workers running the tasks that feed it are told to pause them.
///
/// Starting a cluster: create every worker with `activate: false`, wait until
/// ``allPeersConnected`` (or a few seconds: tuples for a peer that is not connected yet wait in a
/// bounded buffer), then call ``setActive(_:)`` with `true`.
///
/// ```swift
/// let worker = try await ClusterWorker(topology: topology, layout: layout, logger: logger, activate: false)
/// while !worker.allPeersConnected { try await Task.sleep(for: .milliseconds(50)) }
/// worker.setActive(true)
/// ...
/// await worker.shutdown(drainTimeout: .seconds(3))
/// ```
///
/// Failures: a lost connection is re-established with exponential backoff; what was in flight on
/// it is lost and replayed by its spout after the message timeout (at-least-once). A worker that
/// stops while it has paused a peer's tasks lifts the pause by closing its connections.
public final class ClusterWorker: Sendable {
    /// The layout this worker was started with.
    public let layout: WorkerLayout
    /// The port the listener is bound to.
    public let port: Int
    /// The tasks this worker runs.
    public let localTasks: Set<Int>
    let runtime: TopologyRuntime
    let transport: Transport
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)

    /// Starts the worker: binds ``WorkerLayout/me``, starts the local tasks (prepares bolts, opens
    /// spouts) and connects to every peer.
    /// - Parameters:
    ///   - topology: the topology (every worker must run the same build of it).
    ///   - layout: the task placement and this worker's address.
    ///   - logger: where the worker and its transport log.
    ///   - activate: `true` activates the local spouts at once; see the type's discussion.
    ///   - options: transport tuning.
    /// - Throws: ``ClusterWorkerError`` for a layout that does not cover the topology,
    ///   ``GaleRuntimeError/componentFailedToStart(component:task:error:)``, or the bind error.
    public init(
        topology: Topology,
        layout: WorkerLayout,
        logger: Logger,
        activate: Bool = true,
        options: TransportOptions = .init()
    ) async throws {
        var logger = logger
        logger[metadataKey: "worker"] = "\(layout.me)"
        let plan = TopologyPlan(topology: topology)
        let missing = (1...max(1, plan.maxTaskId)).filter { $0 <= plan.maxTaskId && layout.taskAddresses[$0] == nil }
        guard missing.isEmpty else {
            throw ClusterWorkerError.taskWithoutWorker(topologyId: layout.topologyId, tasks: missing)
        }
        let localTasks = layout.localTasks
        let transport = Transport(
            layout: layout,
            sources: WireSources(plan: plan),
            options: options,
            logger: logger
        )
        let remote = Self.remoteTasks(plan: plan, layout: layout, links: transport.links)
        // Bolts' `prepare` and spouts' `open` run on their executors' queues and are waited for:
        // wait on a Dispatch thread, not on one of the cooperative pool.
        let runtimeLogger = logger
        let runtime = try await withCheckedThrowingContinuation {
            (made: CheckedContinuation<TopologyRuntime, any Error>) in
            DispatchQueue.global().async {
                made.resume(
                    with: Result {
                        try TopologyRuntime(
                            topology: topology,
                            tasks: localTasks,
                            logger: runtimeLogger,
                            activate: false,
                            remote: remote
                        )
                    }
                )
            }
        }
        var localSinks = [(any EnvelopeSink)?](repeating: nil, count: plan.maxTaskId + 1)
        for task in localTasks where task < localSinks.count {
            localSinks[task] = runtime.environment.sinks.sinks[task]
        }
        transport.attach(localSinks: localSinks, backpressure: runtime.environment.backpressure)
        let port: Int
        do {
            port = try await transport.start()
        } catch {
            logger.error("cannot listen for peers", metadata: ["address": "\(layout.me)", "error": "\(error)"])
            await transport.close(timeout: .zero)
            await runtime.shutdown(drainTimeout: .zero)
            throw error
        }
        self.layout = layout
        self.port = port
        self.localTasks = localTasks
        self.runtime = runtime
        self.transport = transport
        self.logger = logger
        if activate { runtime.setActive(true) }
    }

    /// The sinks and backpressure peers of the tasks that run elsewhere.
    private static func remoteTasks(
        plan: TopologyPlan,
        layout: WorkerLayout,
        links: [WorkerAddress: PeerLink]
    ) -> RemoteTasks {
        var sinks: [Int: any EnvelopeSink] = [:]
        for (task, address) in layout.taskAddresses where address != layout.me {
            if let link = links[address] { sinks[task] = link }
        }
        var peers: [Int: [any BackpressurePeer]] = [:]
        for task in layout.localTasks where task <= plan.maxTaskId {
            var addresses = Set<WorkerAddress>()
            for component in plan.componentsToPause(whenOverloaded: plan.componentByTask[task]) {
                for upstream in plan.tasks(of: component) {
                    if let address = layout.taskAddresses[upstream], address != layout.me {
                        addresses.insert(address)
                    }
                }
            }
            let taskPeers: [any BackpressurePeer] = addresses.sorted { $0.description < $1.description }.compactMap {
                links[$0]
            }
            if !taskPeers.isEmpty { peers[task] = taskPeers }
        }
        return RemoteTasks(sinks: sinks, backpressurePeers: peers)
    }

    /// `true` when every peer has an established (handshaken) outbound connection.
    public var allPeersConnected: Bool { transport.allPeersConnected }

    /// Activates (`true`) or deactivates the local spouts.
    public func setActive(_ active: Bool) {
        guard !stopped.load(ordering: .acquiring) else { return }
        runtime.setActive(active)
    }

    /// Statistics of the local tasks.
    public func stats() -> TopologyStats { runtime.stats() }

    /// Samples a share of each component's tuples (``TopologyRuntime/setSampling(_:)``).
    public func setSampling(_ percents: [String: Double]) { runtime.setSampling(percents) }

    /// The tuples sampled since the last call, oldest first.
    public func takeSamples() -> [TupleSample] { runtime.takeSamples() }

    /// Counters of the transport.
    public func transportStats() -> TransportStats { transport.stats() }

    /// Deactivates the local spouts, waits up to `drainTimeout` for queued tuples, pending trees
    /// and send buffers to empty, closes every component, then closes the connections. Safe to
    /// call twice; it never blocks a thread of the cooperative pool for long.
    public func shutdown(drainTimeout: Duration) async {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        runtime.setActive(false)
        let clock = ContinuousClock()
        let deadline = clock.now + drainTimeout
        while clock.now < deadline && !(runtime.isDrained && transport.pendingBytes == 0) {
            try? await Task.sleep(for: .milliseconds(5))
        }
        let rest = max(.zero, deadline - clock.now)
        await runtime.shutdown(drainTimeout: rest)
        await transport.close(timeout: max(rest, .milliseconds(100)))
        logger.info("worker stopped", metadata: ["transport": "\(transport.stats())"])
    }

    /// Test hook: closes every outbound connection; each reconnects with backoff.
    package func dropOutboundConnections() {
        transport.dropOutboundConnections()
    }

    /// Test hook: the runtime of the local tasks.
    package var localRuntime: TopologyRuntime { runtime }
}

/// A ``ClusterWorker`` that cannot start.
public enum ClusterWorkerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The layout gives no worker to these tasks.
    case taskWithoutWorker(topologyId: String, tasks: [Int])

    public var description: String {
        switch self {
        case .taskWithoutWorker(let topologyId, let tasks):
            "the layout of topology [\(topologyId)] assigns no worker to tasks \(tasks)"
        }
    }
}
