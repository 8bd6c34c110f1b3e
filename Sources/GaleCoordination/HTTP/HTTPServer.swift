import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
public import ServiceLifecycle
import Synchronization

/// An HTTP/1.1 server on Hummingbird: keep-alive connections, bodies collected in memory up
/// to a limit, or written to a file as they arrive for the requests a ``SpoolPolicy`` names; a
/// response body may be a file, sent in chunks as the connection takes them. So a large upload
/// or download never sits in memory.
///
/// Run it either with ``start()`` and ``stop()``, or as a `Service` in a `ServiceGroup`
/// (``run()``), not both.
public final class HTTPServer: Sendable, Service {
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse
    /// For a request's method and (decoded) path: the directory to write its body into, or
    /// `nil` to keep the body in memory.
    public typealias SpoolPolicy = @Sendable (_ method: String, _ path: String) -> String?
    /// For a request whose body has not been read yet (``HTTPRequest/body`` is empty): the
    /// answer that refuses it (say, a 401), or `nil` to read its body and hand it to the handler.
    public typealias Admission = @Sendable (HTTPRequest) async -> HTTPResponse?

    /// How long ``stop()`` (or a graceful shutdown of the service group ``start()`` runs it in)
    /// waits for requests in flight before it cancels them.
    static let gracefulShutdownLimit: Duration = .seconds(10)
    /// How long a keep-alive connection may stay idle before the server closes it. Longer than
    /// ``HTTPClient``'s pool keeps an idle connection, so that the client, not the server,
    /// closes it (a request is never sent on a connection the server is closing).
    static let idleTimeout: TimeAmount = .seconds(120)

    let host: String
    let requestedPort: Int
    let maxBodyBytes: Int
    /// The largest body kept in memory (a request the spool policy does not send to a file).
    let maxMemoryBodyBytes: Int
    /// Asked before a request's body is read; an answer it gives is sent instead of the handler's.
    let admit: Admission?
    let logger: Logger
    let handler: Handler
    let spool: SpoolPolicy
    /// With TLS: the server speaks HTTPS only. `nil`: plain HTTP.
    let tls: HTTPServerTLS?
    /// The service group and task that ``start()`` runs the server in.
    private let runner = Mutex<(group: ServiceGroup, task: Task<Void, Never>)?>(nil)
    private let serving = Mutex(Serving.idle)

    /// Where ``serve(onRunning:)`` is: one at a time, whichever way the server runs.
    private enum Serving {
        case idle
        case binding
        case listening(port: Int)
    }

    /// - Parameters:
    ///   - host: the address to listen on, e.g. `127.0.0.1` or `0.0.0.0`.
    ///   - port: the port; 0 for any free port (``start()`` returns the one bound).
    ///   - maxBodyBytes: the largest request body accepted; a larger one is answered 413.
    ///   - maxMemoryBodyBytes: the largest body kept in memory (requests `spool` does not name);
    ///     a larger one is answered 413.
    ///   - admit: checks each request before its body is read (a refused upload is never read).
    ///   - logger: where the server logs a refused body (at warning) and Hummingbird logs its
    ///     own messages (at warning and above, unless `logger` is at debug or trace).
    ///   - spool: which requests' bodies go to a file instead of memory.
    ///   - tls: when set, every connection is HTTPS with this certificate and key; a failed
    ///     handshake is logged at warning with its reason (a client that refuses the certificate,
    ///     plain HTTP to the port).
    ///   - handler: answers each request.
    public init(
        host: String,
        port: Int,
        maxBodyBytes: Int = 1 << 30,
        maxMemoryBodyBytes: Int = 16 << 20,
        admit: Admission? = nil,
        logger: Logger,
        spool: @escaping SpoolPolicy = { _, _ in nil },
        tls: HTTPServerTLS? = nil,
        handler: @escaping Handler
    ) {
        self.host = host
        self.requestedPort = port
        self.maxBodyBytes = maxBodyBytes
        self.maxMemoryBodyBytes = min(maxMemoryBodyBytes, maxBodyBytes)
        self.admit = admit
        self.logger = logger
        self.spool = spool
        self.tls = tls
        self.handler = handler
    }

    /// The port the server listens on while it runs, else `nil`.
    public var boundPort: Int? {
        serving.withLock { serving in
            guard case .listening(let port) = serving else { return nil }
            return port
        }
    }

    /// Binds and serves in the background until ``stop()``.
    /// - Returns: the bound port.
    /// - Throws: ``HTTPServerError/cannotBind(address:reason:)`` when it cannot bind (at once:
    ///   an address in use fails the bind itself), ``HTTPServerError/alreadyRunning`` when it
    ///   runs already (started, or run as a service).
    public func start() async throws -> Int {
        let (started, report) = AsyncStream.makeStream(of: Result<Int, any Error>.self)
        var configuration = ServiceGroupConfiguration(
            services: [StartedServer(server: self, report: report)],
            logger: Self.quiet(logger)
        )
        configuration.maximumGracefulShutdownDuration = Self.gracefulShutdownLimit
        let group = ServiceGroup(configuration: configuration)
        let claimed = runner.withLock { runner -> Bool in
            guard runner == nil else { return false }
            let task = Task {
                do {
                    try await group.run()
                    report.yield(.failure(HTTPServerError.stopped))
                } catch {
                    report.yield(.failure(error))
                }
                report.finish()
            }
            runner = (group, task)
            return true
        }
        guard claimed else { throw HTTPServerError.alreadyRunning }
        for await result in started {
            switch result {
            case .success(let port):
                return port
            case .failure(let error):
                runner.withLock { $0 = nil }
                throw error
            }
        }
        runner.withLock { $0 = nil }
        throw HTTPServerError.stopped
    }

    /// Stops a server ``start()`` started: it stops accepting connections, closes idle
    /// keep-alive connections at once and each busy one after its response, and returns when
    /// the server is down. Requests still running after ``gracefulShutdownLimit`` are cancelled.
    public func stop() async {
        guard
            let (group, task) = runner.withLock({ runner in
                defer { runner = nil }
                return runner
            })
        else { return }
        await group.triggerGracefulShutdown()
        await task.value
    }

    /// Serves until the enclosing `ServiceGroup` shuts down gracefully (requests in flight
    /// finish, idle connections close) or the task is cancelled. ``boundPort`` tells the port
    /// once it listens.
    /// - Throws: ``HTTPServerError/cannotBind(address:reason:)`` when it cannot bind,
    ///   ``HTTPServerError/alreadyRunning`` when it runs already.
    public func run() async throws {
        try await serve { _ in }
    }

    /// Builds the Hummingbird application and runs it; `onRunning` gets the bound port once
    /// the server listens.
    /// - Throws: ``HTTPServerError/alreadyRunning`` when the server runs already.
    func serve(onRunning: @escaping @Sendable (Int) -> Void) async throws {
        let claimed = serving.withLock { serving -> Bool in
            guard case .idle = serving else { return false }
            serving = .binding
            return true
        }
        guard claimed else { throw HTTPServerError.alreadyRunning }
        defer { serving.withLock { $0 = .idle } }
        let http1 = HTTP1Channel.Configuration(idleTimeout: Self.idleTimeout)
        let builder: HTTPServerBuilder
        if let tls {
            builder = HTTPServerBuilder { [logger] responder in
                TLSServerChannel(
                    base: HTTP1Channel(responder: responder, configuration: http1),
                    context: tls.context,
                    logger: logger
                )
            }
        } else {
            builder = .http1(configuration: http1)
        }
        let application = Application(
            responder: Responder(server: self),
            server: builder,
            configuration: ApplicationConfiguration(address: .hostname(host, port: requestedPort)),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? requestedPort
                serving.withLock { $0 = .listening(port: port) }
                onRunning(port)
            },
            logger: Self.quiet(logger)
        )
        do {
            try await application.run()
        } catch {
            guard boundPort != nil else {
                throw HTTPServerError.cannotBind(address: "\(host):\(requestedPort)", reason: "\(error)")
            }
            throw error
        }
    }

    /// `logger` for Hummingbird's and the service group's own messages: at info level and
    /// above only warnings and errors pass (Hummingbird announces every start and stop at info).
    static func quiet(_ logger: Logger) -> Logger {
        var quiet = logger
        if quiet.logLevel > .debug { quiet.logLevel = max(quiet.logLevel, .warning) }
        return quiet
    }
}

/// The server as the one service of the group ``HTTPServer/start()`` runs: reports the bound
/// port (or the failure to bind) to the waiting ``HTTPServer/start()``.
private struct StartedServer: Service {
    let server: HTTPServer
    let report: AsyncStream<Result<Int, any Error>>.Continuation

    func run() async throws {
        try await server.serve { port in report.yield(.success(port)) }
    }
}

/// A server that cannot start.
public enum HTTPServerError: Error, CustomStringConvertible {
    case cannotBind(address: String, reason: String)
    /// The server runs already (started, or run as a service).
    case alreadyRunning
    /// The server stopped before it was listening.
    case stopped

    public var description: String {
        switch self {
        case .cannotBind(let address, let reason): "cannot listen on \(address): \(reason)"
        case .alreadyRunning: "the HTTP server runs already"
        case .stopped: "the HTTP server stopped before it was listening"
        }
    }
}
