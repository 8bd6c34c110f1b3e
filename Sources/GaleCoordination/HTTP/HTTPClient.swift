import Foundation
import Gale
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 client: one connection per request, a deadline over the whole exchange.
public struct HTTPClient: Sendable {
    public let timeout: Duration

    public init(timeout: Duration = .seconds(30)) {
        self.timeout = timeout
    }

    private var timeoutSeconds: Double {
        timeout.inSeconds
    }

    /// Sends one request to `address` (`host:port`); `path` may carry a query.
    /// - Parameters:
    ///   - bodyFile: when set, the request body is this file's content, sent in 1 MiB chunks as
    ///     the connection takes them (`body` is ignored).
    ///   - responseFile: when set, a 2xx answer's body is written to this file as it arrives
    ///     (the returned response's body is empty); any other answer is kept in memory.
    public func send(
        _ method: String,
        address: String,
        path: String,
        body: [UInt8] = [],
        bodyFile: String? = nil,
        headers: [(name: String, value: String)] = [],
        responseFile: String? = nil
    ) async throws(HTTPClientError) -> HTTPResponse {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (1...65_535).contains(port), colon != address.startIndex
        else { throw .invalidAddress(address) }
        let host = String(address[..<colon])
        let seconds = timeoutSeconds
        var upload: HTTPFileBody?
        if let bodyFile {
            guard let file = HTTPFileBody.open(bodyFile) else {
                throw .badResponse("cannot read \(bodyFile): \(String(cString: strerror(errno)))")
            }
            upload = file
        }
        defer { upload?.close() }
        let group = MultiThreadedEventLoopGroup.singleton
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: HTTPResponse.self)
        let collector = ResponseCollector(promise: promise, file: responseFile)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(seconds * 1000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            throw Self.classify(error, address: address, seconds: seconds)
        }
        let deadline = eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            promise.fail(HTTPClientError.timeout(address: address, seconds: seconds))
            channel.close(promise: nil)
        }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        head.headers.add(name: "host", value: address)
        head.headers.add(name: "content-length", value: String(upload?.size ?? body.count))
        head.headers.add(name: "connection", value: "close")
        for header in headers { head.headers.add(name: header.name, value: header.value) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let upload {
            _ = await upload.send(allocator: channel.allocator) { buffer in
                try await channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(buffer))).get()
            }
        } else if !body.isEmpty {
            var buffer = channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
        }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        do {
            let response = try await promise.futureResult.get()
            deadline.cancel()
            channel.close(promise: nil)
            return response
        } catch {
            deadline.cancel()
            channel.close(promise: nil)
            throw Self.classify(error, address: address, seconds: seconds)
        }
    }

    private static func classify(_ error: any Error, address: String, seconds: Double) -> HTTPClientError {
        if let error = error as? HTTPClientError { return error }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return .timeout(address: address, seconds: seconds)
        }
        if let error = error as? IOError {
            return .unreachable(address: address, reason: String(cString: strerror(error.errnoCode)).lowercased())
        }
        if let error = error as? NIOConnectionError {
            let reason = error.connectionErrors.first.map { "\($0.error)" } ?? "\(error)"
            if reason.contains("connectTimeout") { return .timeout(address: address, seconds: seconds) }
            return .unreachable(
                address: address,
                reason: reason.contains("refused") || reason.contains("111") ? "connection refused" : reason
            )
        }
        if case ChannelError.ioOnClosedChannel = error {
            return .unreachable(address: address, reason: "connection closed")
        }
        return .unreachable(address: address, reason: "\(error)")
    }

    /// `GET`.
    public func get(address: String, path: String) async throws(HTTPClientError) -> HTTPResponse {
        try await send("GET", address: address, path: path)
    }

    /// `POST` of `value` as JSON.
    public func postJSON<T: Encodable>(
        address: String,
        path: String,
        _ value: T
    ) async throws(HTTPClientError) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(value) else { throw .badResponse("cannot encode the request body") }
        return try await send(
            "POST",
            address: address,
            path: path,
            body: Array(data),
            headers: [(name: "content-type", value: "application/json")]
        )
    }

    /// Downloads `path` into `file`: written to `file.part` as it arrives, then renamed.
    /// - Returns: the number of bytes.
    public func download(
        address: String,
        path: String,
        to file: String,
        headers: [(name: String, value: String)] = []
    ) async throws(HTTPClientError) -> Int {
        let temporary = file + ".part"
        let response = try await send("GET", address: address, path: path, headers: headers, responseFile: temporary)
        guard (200..<300).contains(response.status) else {
            unlink(temporary)
            throw .status(response.status, message: response.errorMessage ?? "download of \(path) failed")
        }
        var info = stat()
        guard stat(temporary, &info) == 0 else {
            throw .badResponse("cannot read \(temporary): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, file) == 0 else {
            throw .badResponse("cannot rename \(temporary) to \(file): \(String(cString: strerror(errno)))")
        }
        return Int(info.st_size)
    }
}

/// Collects an answer: its body in memory, or, for a 2xx answer when a file is given, written
/// to that file as it arrives.
private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    let promise: EventLoopPromise<HTTPResponse>
    let file: String?
    var head: HTTPResponseHead?
    var body = ByteBuffer()
    var fd: Int32 = -1
    var writeError: String?

    init(promise: EventLoopPromise<HTTPResponse>, file: String?) {
        self.promise = promise
        self.file = file
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            if let file, (200..<300).contains(Int(head.status.code)) {
                fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                if fd < 0 { writeError = "cannot write \(file): \(String(cString: strerror(errno)))" }
            }
        case .body(var part):
            guard fd >= 0 else {
                if writeError == nil { body.writeBuffer(&part) }
                return
            }
            let ok = HTTPFileBody.write(part, to: fd)
            if !ok {
                writeError = "cannot write \(file ?? "?"): \(String(cString: strerror(errno)))"
                close(fd)
                fd = -1
            }
        case .end:
            guard let head else { return }
            if fd >= 0 {
                close(fd)
                fd = -1
            }
            if let writeError {
                promise.fail(HTTPClientError.badResponse(writeError))
                return
            }
            let bytes = body.readBytes(length: body.readableBytes) ?? []
            promise.succeed(
                HTTPResponse(
                    status: Int(head.status.code),
                    headers: head.headers.map { (name: $0.name, value: $0.value) },
                    body: bytes
                )
            )
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        promise.fail(HTTPClientError.badResponse("connection closed before a complete answer"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
