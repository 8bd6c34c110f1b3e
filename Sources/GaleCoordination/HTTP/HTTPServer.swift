import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 server: one request per connection, bodies aggregated up to a limit.
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse

    let host: String
    let port: Int
    let maxBodyBytes: Int
    let logger: Logger
    let handler: Handler
    private let channel = Mutex<(any Channel)?>(nil)

    public init(host: String, port: Int, maxBodyBytes: Int = 1 << 30, logger: Logger, handler: @escaping Handler) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
        self.handler = handler
    }

    /// Binds and starts serving.
    /// - Returns: the bound port.
    /// - Throws: ``HTTPServerError`` naming the address when it cannot bind.
    public func start() async throws -> Int {
        let maxBodyBytes = self.maxBodyBytes
        let handler = self.handler
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        RequestHandler(maxBodyBytes: maxBodyBytes, handler: handler, logger: logger)
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
    let logger: Logger
    var head: HTTPRequestHead?
    var body: ByteBuffer?
    var rejected = false

    init(maxBodyBytes: Int, handler: @escaping HTTPServer.Handler, logger: Logger) {
        self.maxBodyBytes = maxBodyBytes
        self.handler = handler
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !rejected else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = context.channel.allocator.buffer(capacity: 0)
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                reject(context, length)
            }
        case .body(var part):
            if (body?.readableBytes ?? 0) + part.readableBytes > maxBodyBytes {
                reject(context, (body?.readableBytes ?? 0) + part.readableBytes)
                return
            }
            body?.writeBuffer(&part)
        case .end:
            guard let head else { return }
            var buffer = body ?? ByteBuffer()
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            self.head = nil
            self.body = nil
            let components = URLComponents(string: head.uri)
            var query: [String: String] = [:]
            for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }
            let request = HTTPRequest(
                method: head.method.rawValue,
                path: components?.percentEncodedPath.removingPercentEncoding ?? head.uri,
                query: query,
                headers: head.headers.map { (name: $0.name, value: $0.value) },
                body: bytes
            )
            Self.serve(request, handler: handler, channel: context.channel)
        }
    }

    private static func serve(_ request: HTTPRequest, handler: @escaping HTTPServer.Handler, channel: any Channel) {
        Task {
            let response = await handler(request)
            write(response, to: channel)
        }
    }

    private func reject(_ context: ChannelHandlerContext, _ length: Int) {
        rejected = true
        logger.warning("request body of \(length) bytes exceeds the limit of \(maxBodyBytes)")
        Self.write(
            .error(413, "request body too large: \(length) bytes, the limit is \(maxBodyBytes)"),
            to: context.channel
        )
    }

    static func write(_ response: HTTPResponse, to channel: any Channel) {
        var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
        headers.replaceOrAdd(name: "content-length", value: String(response.body.count))
        headers.replaceOrAdd(name: "connection", value: "close")
        let head = HTTPResponseHead(
            version: .http1_1,
            status: HTTPResponseStatus(statusCode: response.status),
            headers: headers
        )
        var buffer = channel.allocator.buffer(capacity: response.body.count)
        buffer.writeBytes(response.body)
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
