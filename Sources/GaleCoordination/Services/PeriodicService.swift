public import ServiceLifecycle

/// The one way a Gale daemon runs long work: a body run again every `interval`, or at once when
/// its ``WakeSignal`` fires, until graceful shutdown. Shutdown lets the running pass finish
/// (a download, a ZooKeeper transaction) and then runs `onShutdown`.
public struct PeriodicService: Service, CustomStringConvertible {
    public let description: String
    let interval: Duration
    let wake: WakeSignal
    let body: @Sendable () async -> Next
    let onShutdown: @Sendable () async -> Void

    /// - Parameters:
    ///   - name: the service's name in logs.
    ///   - interval: time between the end of one pass and the start of the next.
    ///   - wake: fires a pass before the interval is up.
    ///   - onShutdown: runs after the last pass.
    public init(
        _ name: String,
        every interval: Duration,
        wake: WakeSignal = WakeSignal(),
        body: @escaping @Sendable () async -> Void,
        onShutdown: @escaping @Sendable () async -> Void = {}
    ) {
        self.init(
            name,
            every: interval,
            wake: wake,
            until: {
                await body()
                return .again
            },
            onShutdown: onShutdown
        )
    }

    /// What a pass asks for.
    public enum Next: Sendable {
        /// Run again after the interval.
        case again
        /// End the service (in a ``DaemonRunner``, which shuts the whole group down).
        case finish
    }

    /// A service whose passes can end it: after a pass that returns ``Next/finish`` it runs
    /// `onShutdown` and returns.
    public init(
        _ name: String,
        every interval: Duration,
        wake: WakeSignal = WakeSignal(),
        until body: @escaping @Sendable () async -> Next,
        onShutdown: @escaping @Sendable () async -> Void = {}
    ) {
        self.description = name
        self.interval = interval
        self.wake = wake
        self.body = body
        self.onShutdown = onShutdown
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard case .again = await body(), !Task.isShuttingDownGracefully else { break }
            await withGracefulShutdownHandler {
                await wake.wait(upTo: interval)
            } onGracefulShutdown: { [wake] in
                wake.wake()
            }
        }
        await onShutdown()
    }
}

/// A service that holds a resource for the daemon's lifetime: it runs `start` at once, waits
/// for graceful shutdown and then runs `stop` (a ZooKeeper session, a leader election, a
/// listening server). In a ``DaemonRunner``'s list, services stop in reverse order, so what
/// others need comes first.
public struct ResourceService: Service, CustomStringConvertible {
    public let description: String
    let start: @Sendable () async throws -> Void
    let stop: @Sendable () async -> Void

    public init(
        _ name: String,
        start: @escaping @Sendable () async throws -> Void = {},
        stop: @escaping @Sendable () async -> Void
    ) {
        self.description = name
        self.start = start
        self.stop = stop
    }

    public func run() async throws {
        try await start()
        try? await gracefulShutdown()
        await stop()
    }
}
