public import Logging
public import ServiceLifecycle
import UnixSignals

/// Runs a process's services as one `ServiceGroup`: SIGTERM and SIGINT shut them down
/// gracefully in reverse order (the last listed stops first, and each is waited for before the
/// next one is told), a service that ends or fails shuts the others down the same way, and every
/// service runs on a ``BlockingExecutor`` so that their blocking calls stay off Swift's
/// cooperative thread pool. A shutdown slower than `maximumShutdown` cancels what is left.
public struct DaemonRunner: Sendable {
    public let logger: Logger
    public let executor: BlockingExecutor
    public let maximumShutdown: Duration

    public init(logger: Logger, executor: BlockingExecutor, maximumShutdown: Duration = .seconds(60)) {
        self.logger = logger
        self.executor = executor
        self.maximumShutdown = maximumShutdown
    }

    /// Runs `services` until a signal or one of them ends the group.
    /// - Throws: the first error a service threw.
    public func run(_ services: [any Service], signals: Bool = true) async throws {
        // Listed last, so told first: says at info level that the shutdown has begun.
        let notice = ResourceService("shutdown-notice") { [logger] in logger.info("shutting down") }
        var config = ServiceGroupConfiguration(
            services: (services + [notice]).map {
                .init(
                    service: $0,
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup
                )
            },
            gracefulShutdownSignals: signals ? [.sigterm, .sigint] : [],
            logger: logger
        )
        config.maximumGracefulShutdownDuration = maximumShutdown
        let group = ServiceGroup(configuration: config)
        try await withTaskExecutorPreference(executor) {
            try await group.run()
        }
    }
}
