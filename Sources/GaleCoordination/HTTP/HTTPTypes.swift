import Foundation

/// One HTTP request as the server hands it to its handler.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query, percent-decoded.
    public var path: String
    public var query: [String: String]
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// For a request the server spooled to disk (see ``HTTPServer/SpoolPolicy``): the file that
    /// holds its body (``body`` is empty). The server deletes it once the handler has answered;
    /// a handler that keeps it moves it away first.
    public var bodyFile: String?
    /// The client's address (`ip:port`) when the server knows it: requests on one keep-alive
    /// connection share it.
    public var remoteAddress: String?

    public init(
        method: String,
        path: String,
        query: [String: String] = [:],
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The path's non-empty segments (``Swift/String/pathSegments``).
    public var segments: [String] { path.pathSegments }

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Decodes the JSON body.
    /// - Throws: ``HTTPError/badRequest(_:)`` naming the problem.
    public func decodeJSON<T: Decodable>(_ type: T.Type) throws(HTTPError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw .badRequest("invalid JSON body: \(error)")
        }
    }
}

/// One HTTP response.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// When set, the body is this file's content, sent in chunks as the connection takes them
    /// (``body`` is ignored): a large file never sits in memory.
    public var bodyFile: String?

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// `value` as JSON (``StreamingJSONEncoder``: keys in the order the value encodes them).
    public static func json<T: Encodable>(_ value: T, status: Int = 200) -> HTTPResponse {
        guard let body = try? StreamingJSONEncoder().encode(value) else {
            return .error(500, "cannot encode the response")
        }
        return HTTPResponse(
            status: status,
            headers: [(name: "content-type", value: "application/json")],
            body: body
        )
    }

    /// A JSON error body `{"error": message}`.
    public static func error(_ status: Int, _ message: String) -> HTTPResponse {
        json(["error": message], status: status)
    }

    /// This response with one more header.
    public func adding(header name: String, value: String) -> HTTPResponse {
        var copy = self
        copy.headers.append((name: name, value: value))
        return copy
    }

    /// The content of the file at `path`, streamed.
    public static func file(_ path: String, contentType: String = "application/octet-stream") -> HTTPResponse {
        var response = HTTPResponse(status: 200, headers: [(name: "content-type", value: contentType)])
        response.bodyFile = path
        return response
    }

    /// Raw bytes.
    public static func bytes(_ body: [UInt8], contentType: String = "application/octet-stream") -> HTTPResponse {
        HTTPResponse(status: 200, headers: [(name: "content-type", value: contentType)], body: body)
    }

    /// Decodes a JSON body of a 2xx answer; any other status throws ``HTTPClientError/status(_:message:)``.
    public func decodeJSON<T: Decodable>(_ type: T.Type) throws(HTTPClientError) -> T {
        guard (200..<300).contains(status) else {
            throw .status(status, message: errorMessage ?? String(decoding: body.prefix(200), as: UTF8.self))
        }
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw .badResponse("invalid JSON in the answer: \(error)")
        }
    }

    /// The `error` field of a JSON error body.
    public var errorMessage: String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        return object["error"] as? String
    }
}

/// A request the server cannot serve.
public enum HTTPError: Error, Sendable, CustomStringConvertible {
    case badRequest(String)

    public var description: String {
        switch self {
        case .badRequest(let message): message
        }
    }
}

/// A request the client could not complete.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidAddress(String)
    case unreachable(address: String, reason: String)
    case timeout(address: String, seconds: Double)
    /// The TLS handshake failed, e.g. the server's certificate does not verify against the CA.
    case tls(address: String, reason: String)
    case status(Int, message: String)
    case badResponse(String)

    public var description: String {
        switch self {
        case .invalidAddress(let address): "invalid address '\(address)': expected host:port"
        case .unreachable(let address, let reason): "cannot reach \(address): \(reason)"
        case .timeout(let address, let seconds): "\(address) did not answer within \(seconds) s"
        case .tls(let address, let reason): "TLS handshake with \(address) failed: \(reason)"
        case .status(let status, let message): "HTTP \(status): \(message)"
        case .badResponse(let message): "bad response: \(message)"
        }
    }
}

extension String {
    /// The non-empty segments of this `/`-separated path. Split on the `/` scalar, not on
    /// characters: a segment that starts with a combining mark or an emoji modifier joins the `/`
    /// before it into one character, and `split(separator: "/")` would not split there.
    public var pathSegments: [String] {
        unicodeScalars.split(separator: "/").map { String(String.UnicodeScalarView($0)) }
    }
}
