import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server: one request per connection, bodies aggregated up to a limit, or
/// written to a file as they arrive for the requests a ``SpoolPolicy`` names; a response body
/// may be a file, sent in chunks as the connection takes them. So a large upload or download
/// never sits in memory.
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse
    /// For a request's method and (decoded) path: the directory to write its body into, or
    /// `nil` to keep the body in memory.
    public typealias SpoolPolicy = @Sendable (_ method: String, _ path: String) -> String?

    let host: String
    let port: Int
    let maxBodyBytes: Int
    let logger: Logger
    let handler: Handler
    let spool: SpoolPolicy
    private let channel = Mutex<(any Channel)?>(nil)

    public init(
        host: String,
        port: Int,
        maxBodyBytes: Int = 1 << 30,
        logger: Logger,
        spool: @escaping SpoolPolicy = { _, _ in nil },
        handler: @escaping Handler
    ) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
        self.spool = spool
        self.handler = handler
    }

    /// Binds and starts serving.
    /// - Returns: the bound port.
    /// - Throws: ``HTTPServerError`` naming the address when it cannot bind.
    public func start() async throws -> Int {
        let maxBodyBytes = self.maxBodyBytes
        let handler = self.handler
        let logger = self.logger
        let spool = self.spool
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        RequestHandler(maxBodyBytes: maxBodyBytes, handler: handler, spool: spool, logger: logger)
                    )
                }
            }
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            self.channel.withLock { $0 = channel }
            return channel.localAddress?.port ?? port
        } catch {
            throw HTTPServerError.cannotBind(address: "\(host):\(port)", reason: "\(error)")
        }
    }

    /// Stops listening.
    public func stop() async {
        let channel = self.channel.withLock { c in
            defer { c = nil }
            return c
        }
        try? await channel?.close()
    }
}

/// A server that cannot start.
public enum HTTPServerError: Error, CustomStringConvertible {
    case cannotBind(address: String, reason: String)

    public var description: String {
        switch self {
        case .cannotBind(let address, let reason): "cannot listen on \(address): \(reason)"
        }
    }
}

private final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let maxBodyBytes: Int
    let handler: HTTPServer.Handler
    let spool: HTTPServer.SpoolPolicy
    let logger: Logger
    var head: HTTPRequestHead?
    var path = ""
    var body: ByteBuffer?
    /// The body's file and descriptor while a spooled body arrives.
    var spooled: (path: String, fd: Int32)?
    var received = 0
    var rejected = false

    init(
        maxBodyBytes: Int,
        handler: @escaping HTTPServer.Handler,
        spool: @escaping HTTPServer.SpoolPolicy,
        logger: Logger
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.handler = handler
        self.spool = spool
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !rejected else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            received = 0
            path = URLComponents(string: head.uri)?.percentEncodedPath.removingPercentEncoding ?? head.uri
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                reject(context, length)
                return
            }
            if let directory = spool(head.method.rawValue, path) {
                let file = "\(directory)/upload-\(UUID().uuidString).part"
                let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard fd >= 0 else {
                    fail(context, 500, "cannot write the request body to \(file): \(String(cString: strerror(errno)))")
                    return
                }
                spooled = (file, fd)
            } else {
                body = context.channel.allocator.buffer(capacity: 0)
            }
        case .body(var part):
            received += part.readableBytes
            guard received <= maxBodyBytes else {
                reject(context, received)
                return
            }
            if let (file, fd) = spooled {
                // Written at once, from the event loop: the page cache takes 64 KiB in microseconds,
                // and nothing is buffered while the disk keeps up with the network.
                let ok = HTTPFileBody.write(part, to: fd)
                if !ok {
                    fail(context, 500, "cannot write the request body to \(file): \(String(cString: strerror(errno)))")
                }
            } else {
                body?.writeBuffer(&part)
            }
        case .end:
            guard let head else { return }
            var buffer = body ?? ByteBuffer()
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            let file = spooled.map { spooled in
                close(spooled.fd)
                return spooled.path
            }
            self.head = nil
            self.body = nil
            self.spooled = nil
            let components = URLComponents(string: head.uri)
            var query: [String: String] = [:]
            for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }
            var request = HTTPRequest(
                method: head.method.rawValue,
                path: path,
                query: query,
                headers: head.headers.map { (name: $0.name, value: $0.value) },
                body: bytes
            )
            request.bodyFile = file
            Self.serve(request, handler: handler, channel: context.channel)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        discardSpool()
        context.fireChannelInactive()
    }

    private func discardSpool() {
        guard let (file, fd) = spooled else { return }
        close(fd)
        unlink(file)
        spooled = nil
    }

    private static func send(_ response: HTTPResponse, to channel: any Channel) {
        Task { await write(response, to: channel) }
    }

    private static func serve(_ request: HTTPRequest, handler: @escaping HTTPServer.Handler, channel: any Channel) {
        Task {
            let response = await handler(request)
            if let file = request.bodyFile { unlink(file) }
            await write(response, to: channel)
        }
    }

    private func reject(_ context: ChannelHandlerContext, _ length: Int) {
        logger.warning("request body of \(length) bytes exceeds the limit of \(maxBodyBytes)")
        fail(context, 413, "request body too large: \(length) bytes, the limit is \(maxBodyBytes)")
    }

    private func fail(_ context: ChannelHandlerContext, _ status: Int, _ message: String) {
        rejected = true
        discardSpool()
        Self.send(.error(status, message), to: context.channel)
    }

    /// Writes `response` and closes the connection; a file body goes in 1 MiB chunks, each
    /// written once the previous one has been flushed.
    static func write(_ response: HTTPResponse, to channel: any Channel) async {
        var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
        var file: HTTPFileBody?
        if let path = response.bodyFile {
            guard let opened = HTTPFileBody.open(path) else {
                await write(.error(500, "cannot read \(path): \(String(cString: strerror(errno)))"), to: channel)
                return
            }
            file = opened
        }
        defer { file?.close() }
        headers.replaceOrAdd(name: "content-length", value: String(file?.size ?? response.body.count))
        headers.replaceOrAdd(name: "connection", value: "close")
        let head = HTTPResponseHead(
            version: .http1_1,
            status: HTTPResponseStatus(statusCode: response.status),
            headers: headers
        )
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        if let file {
            let sent = await file.send(allocator: channel.allocator) { buffer in
                try await channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer))).get()
            }
            guard sent else {
                channel.close(promise: nil)
                return
            }
        } else {
            var buffer = channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
        }
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
