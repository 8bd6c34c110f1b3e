import AsyncHTTPClient
import Foundation
import Gale
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 client with a deadline over each whole exchange (connecting, sending the body,
/// receiving the answer and its body). A cheap value: every `HTTPClient` without TLS sends
/// through one process-wide AsyncHTTPClient, whose pool keeps connections alive between
/// requests; every one with TLS through the process-wide AsyncHTTPClient of its CA file (made on
/// first use, kept for the life of the process).
public struct HTTPClient: Sendable {
    public let timeout: Duration
    /// With TLS: HTTPS, verifying the server's certificate against these CAs. `nil`: plain HTTP.
    public let tls: HTTPClientTLS?

    public init(timeout: Duration = .seconds(30), tls: HTTPClientTLS? = nil) {
        self.timeout = timeout
        self.tls = tls
    }

    /// How long a pooled connection may stay idle before the pool closes it (shorter than the
    /// server's ``HTTPServer/idleTimeout``).
    static let poolIdleTimeout: TimeAmount = .seconds(30)
    /// The longest a connection attempt may take, whatever a request's deadline.
    static let connectTimeout: TimeAmount = .seconds(10)

    /// The event loops the pool's connections run on.
    static let loops = MultiThreadedEventLoopGroup.singleton

    /// The connection pool of the process: HTTP/1.1 only, no redirects followed, up to 64
    /// connections per host (so that requests do not queue behind long blob transfers), and a
    /// refused connection fails its request at once (no retries until the connect timeout, so
    /// ``HTTPClientError/unreachable(address:reason:)`` comes as fast as the refusal does).
    static let pool = makePool(tls: nil)

    /// The pools of the HTTPS clients, one per CA file.
    private static let tlsPools = Mutex<[HTTPClientTLS: AsyncHTTPClient.HTTPClient]>([:])

    /// The pool this client sends through: the plain one, or its CA file's (made on first use).
    var pool: AsyncHTTPClient.HTTPClient {
        guard let tls else { return Self.pool }
        return Self.tlsPools.withLock { pools in
            if let pool = pools[tls] { return pool }
            let pool = Self.makePool(tls: tls)
            pools[tls] = pool
            return pool
        }
    }

    /// A pool configured as ``pool`` describes; with `tls`, it verifies servers against its CAs.
    private static func makePool(tls: HTTPClientTLS?) -> AsyncHTTPClient.HTTPClient {
        var configuration = AsyncHTTPClient.HTTPClient.Configuration(
            tlsConfiguration: tls?.configuration,
            redirectConfiguration: .disallow,
            timeout: .init(connect: connectTimeout),
            connectionPool: .init(idleTimeout: poolIdleTimeout, concurrentHTTP1ConnectionsPerHostSoftLimit: 64),
            decompression: .disabled
        )
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.httpVersion = .http1Only
        return AsyncHTTPClient.HTTPClient(
            eventLoopGroupProvider: .shared(loops),
            configuration: configuration
        )
    }

    /// Sends one request to `address` (`host:port`); `path` may carry a query.
    /// - Parameters:
    ///   - bodyFile: when set, the request body is this file's content, read in chunks of
    ///     1 MiB as the connection takes them (`body` is ignored).
    ///   - responseFile: when set, a 2xx answer's body is written to this file as it arrives
    ///     (the returned response's body is empty); any other answer is kept in memory.
    /// - Throws: ``HTTPClientError``: `invalidAddress`, `unreachable` (e.g. "connection
    ///   refused"), `tls` when the TLS handshake fails (a certificate that does not verify),
    ///   `timeout` when the whole exchange takes longer than ``timeout``, or `badResponse`. An
    ///   answer with an error status is returned, not thrown.
    public func send(
        _ method: String,
        address: String,
        path: String,
        body: [UInt8] = [],
        bodyFile: String? = nil,
        headers: [(name: String, value: String)] = [],
        responseFile: String? = nil
    ) async throws(HTTPClientError) -> HTTPResponse {
        guard let url = Self.url(address: address, path: path, secure: tls != nil) else {
            throw .invalidAddress(address)
        }
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        if let bodyFile {
            let source: HTTPFileBody.Source
            do {
                source = try await HTTPFileBody.Source.open(bodyFile)
            } catch {
                throw .badResponse("cannot read \(bodyFile): \(error.reason)")
            }
            // The connection may be on any of the pool's loops.
            let chunks = source.chunks(pacedBy: Array(Self.loops.makeIterator()))
            request.body = .stream(chunks, length: .known(Int64(source.size)))
        } else if !body.isEmpty || !["GET", "HEAD"].contains(method) {
            request.body = .bytes(body)
        }
        let seconds = timeout.inSeconds
        let deadline = NIODeadline.now() + .nanoseconds(Int64(seconds * 1e9))
        do {
            return try await Self.within(timeout) { [request, pool] in
                try await Self.exchange(request, pool: pool, deadline: deadline, responseFile: responseFile)
            }
        } catch {
            throw Self.classify(error, address: address, seconds: seconds, tls: tls)
        }
    }

    /// `http://host:port/path` (`https://` when `secure`) for `address` (`host:port`, port
    /// 1...65535), or `nil`.
    static func url(address: String, path: String, secure: Bool = false) -> String? {
        guard let colon = address.lastIndex(of: ":"), colon != address.startIndex,
            let port = Int(address[address.index(after: colon)...]), (1...65_535).contains(port)
        else { return nil }
        let host = address[..<colon]
        let authority = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]:\(port)" : address
        return "\(secure ? "https" : "http")://\(authority)\(path.hasPrefix("/") ? path : "/" + path)"
    }

    /// One request and its whole answer.
    private static func exchange(
        _ request: HTTPClientRequest,
        pool: AsyncHTTPClient.HTTPClient,
        deadline: NIODeadline,
        responseFile: String?
    ) async throws -> HTTPResponse {
        let response = try await pool.execute(request, deadline: deadline)
        let status = Int(response.status.code)
        let headers = response.headers.map { (name: $0.name, value: $0.value) }
        if let responseFile, (200..<300).contains(status) {
            let sink: HTTPFileBody.Sink
            do {
                sink = try await HTTPFileBody.Sink.create(responseFile, exclusive: false)
                for try await part in response.body { try await sink.write(part) }
                try await sink.finish()
            } catch let error as HTTPFileBody.FileError {
                throw HTTPClientError.badResponse("cannot write \(error.path): \(error.reason)")
            }
            return HTTPResponse(status: status, headers: headers)
        }
        var body = ByteBuffer()
        for try await part in response.body { body.writeImmutableBuffer(part) }
        return HTTPResponse(status: status, headers: headers, body: Array(body.readableBytesView))
    }

    /// `operation`'s result, or ``HTTPClientError/timeout(address:seconds:)`` (with a
    /// placeholder address) when it takes longer than `timeout`; it is then cancelled.
    private static func within<T: Sendable>(
        _ timeout: Duration,
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else {
                throw HTTPClientError.timeout(address: "", seconds: timeout.inSeconds)
            }
            return result
        }
    }

    /// The error of an upload the server stopped reading before its end.
    public static let stoppedReading =
        "the server stopped reading the request body before its end (a body over its size limit is refused so)"

    private static func classify(
        _ error: any Error,
        address: String,
        seconds: Double,
        tls: HTTPClientTLS?
    ) -> HTTPClientError {
        if TLSFailure.isTLS(error) {
            return .tls(address: address, reason: TLSFailure.reason(error, caFile: tls?.caFile, address: address))
        }
        switch error {
        case let error as HTTPClientError:
            if case .timeout = error { return .timeout(address: address, seconds: seconds) }
            return error
        case let error as AsyncHTTPClient.HTTPClientError:
            switch error {
            case .connectTimeout:
                return .timeout(address: address, seconds: min(seconds, Double(connectTimeout.nanoseconds) / 1e9))
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return .timeout(address: address, seconds: seconds)
            case .remoteConnectionClosed:
                // An HTTPS server closes a plain HTTP connection at once.
                let hint = tls == nil ? " (if the server speaks HTTPS only, the client needs its CA)" : ""
                return .badResponse("connection closed before a complete answer\(hint)")
            case .bodyLengthMismatch, .requestStreamCancelled:
                // The server answered (an error, e.g. 413 for a body over its limit) and closed
                // the connection while the body was still being sent; AsyncHTTPClient may then
                // fail the request instead of handing over that answer.
                return .badResponse(Self.stoppedReading)
            case .invalidURL, .emptyHost:
                return .invalidAddress(address)
            case .cancelled:
                return .unreachable(address: address, reason: "cancelled")
            default:
                return .badResponse("\(error)")
            }
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first?.error {
                return classify(first, address: address, seconds: seconds, tls: tls)
            }
            if let dns = error.dnsAError ?? error.dnsAAAAError {
                return .unreachable(address: address, reason: "cannot resolve the host: \(dns)")
            }
            return .unreachable(address: address, reason: "\(error)")
        case let error as IOError:
            return .unreachable(address: address, reason: String(cString: strerror(error.errnoCode)).lowercased())
        case ChannelError.connectTimeout:
            return .timeout(address: address, seconds: seconds)
        case is CancellationError:
            return .unreachable(address: address, reason: "cancelled")
        default:
            return .unreachable(address: address, reason: "\(error)")
        }
    }

    /// `GET`.
    public func get(address: String, path: String) async throws(HTTPClientError) -> HTTPResponse {
        try await send("GET", address: address, path: path)
    }

    /// `POST` of `value` as JSON.
    public func postJSON<T: Encodable>(
        address: String,
        path: String,
        _ value: T,
        headers: [(name: String, value: String)] = []
    ) async throws(HTTPClientError) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(value) else { throw .badResponse("cannot encode the request body") }
        return try await send(
            "POST",
            address: address,
            path: path,
            body: Array(data),
            headers: [(name: "content-type", value: "application/json")] + headers
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
        let response: HTTPResponse
        do {
            response = try await send("GET", address: address, path: path, headers: headers, responseFile: temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        guard (200..<300).contains(response.status) else {
            unlink(temporary)
            throw .status(response.status, message: response.errorMessage ?? "download of \(path) failed")
        }
        let size: Int
        do {
            size = try FileManager.default.attributesOfItem(atPath: temporary)[.size] as? Int ?? 0
        } catch {
            throw .badResponse("cannot read \(temporary): \(error.localizedDescription)")
        }
        guard rename(temporary, file) == 0 else {
            throw .badResponse("cannot rename \(temporary) to \(file): \(String(cString: strerror(errno)))")
        }
        return size
    }
}
