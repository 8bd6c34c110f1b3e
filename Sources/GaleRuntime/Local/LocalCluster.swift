public import Gale
public import Logging
import Synchronization

/// Runs topologies in this process, with no servers: for development, tests and local mode.
///
/// ```swift
/// let cluster = LocalCluster()
/// let running = try cluster.submit(topology)
/// await running.run(for: .seconds(10))
/// await cluster.kill(topology.name)
/// ```
public final class LocalCluster: Sendable {
    private let running = Mutex<[String: RunningTopology]>([:])
    private let logger: Logger

    /// A cluster that logs with `logger`.
    public init(logger: Logger = Logger(label: "gale.local")) {
        self.logger = logger
    }

    /// Starts `topology`: creates one executor per task, prepares bolts, opens and activates spouts.
    /// - Throws: ``GaleRuntimeError`` when the name is taken or a component fails to start.
    @discardableResult
    public func submit(_ topology: Topology) throws -> RunningTopology {
        try running.withLock { running in
            guard running[topology.name] == nil else { throw GaleRuntimeError.alreadyRunning(topology.name) }
            let runtime = try TopologyRuntime(topology: topology, logger: logger)
            let handle = RunningTopology(runtime: runtime)
            running[topology.name] = handle
            return handle
        }
    }

    /// The running topology `name`, if any.
    public func topology(_ name: String) -> RunningTopology? {
        running.withLock { $0[name] }
    }

    /// Names of the running topologies.
    public var names: [String] { running.withLock { $0.keys.sorted() } }

    /// Deactivates, drains and stops the topology `name`.
    /// - Throws: ``GaleRuntimeError/notRunning(_:)``.
    public func kill(_ name: String, drainTimeout: Duration = .seconds(5)) async throws {
        guard let handle = running.withLock({ $0.removeValue(forKey: name) }) else {
            throw GaleRuntimeError.notRunning(name)
        }
        await handle.kill(drainTimeout: drainTimeout)
    }

    /// Stops every topology.
    public func shutdown(drainTimeout: Duration = .seconds(5)) async {
        let all = running.withLock { running in
            defer { running.removeAll() }
            return Array(running.values)
        }
        for handle in all { await handle.kill(drainTimeout: drainTimeout) }
    }
}

/// A topology running in a ``LocalCluster``.
public final class RunningTopology: Sendable {
    /// The runtime behind it.
    public let runtime: TopologyRuntime

    init(runtime: TopologyRuntime) {
        self.runtime = runtime
    }

    /// The topology's name.
    public var name: String { runtime.plan.topology.name }

    /// Current statistics.
    public func stats() -> TopologyStats { runtime.stats() }

    /// Lets the topology run for `duration`.
    public func run(for duration: Duration) async {
        try? await Task.sleep(for: duration)
    }

    /// Waits until `condition` holds, checking every `interval`, for at most `timeout`.
    /// - Returns: `true` when the condition held before the timeout.
    public func waitUntil(
        timeout: Duration,
        interval: Duration = .milliseconds(10),
        _ condition: () -> Bool
    ) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            if condition() { return true }
            if clock.now >= deadline { return false }
            try? await Task.sleep(for: interval)
        }
    }

    /// Activates the spouts.
    public func activate() { runtime.setActive(true) }
    /// Deactivates the spouts: `nextTuple` is no longer called; pending trees still complete.
    public func deactivate() { runtime.setActive(false) }

    /// Deactivates, drains for at most `drainTimeout`, and stops every task.
    public func kill(drainTimeout: Duration = .seconds(5)) async {
        await runtime.shutdown(drainTimeout: drainTimeout)
    }
}
