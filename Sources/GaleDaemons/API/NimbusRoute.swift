import Foundation

/// One endpoint of nimbus's HTTP API: the table nimbus routes by, clients build paths from, and
/// the OpenAPI document (``NimbusOpenAPI``) describes.
public struct NimbusRoute: Sendable, Hashable, CustomStringConvertible {
    /// `GET`, `POST` or `PUT`.
    public let method: String
    /// The path with `{name}` placeholders, as in OpenAPI: `/api/v1/topologies/{name}/kill`.
    public let pattern: String

    init(_ method: String, _ pattern: String) {
        self.method = method
        self.pattern = pattern
    }

    public var description: String { "\(method) \(pattern)" }

    private var segments: [Substring] { pattern.split(separator: "/") }

    /// The path with `arguments` in place of the placeholders, in order, each percent-encoded as
    /// one path segment.
    public func path(_ arguments: String...) -> String {
        var remaining = arguments[...]
        let parts = segments.map { segment -> String in
            guard segment.hasPrefix("{"), let argument = remaining.popFirst() else { return String(segment) }
            return argument.addingPercentEncoding(
                withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))
            ) ?? argument
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The placeholder values when `method` and the (already decoded) path `parts` are this
    /// route's, else `nil`.
    func match(method: String, parts: [String]) -> [String]? {
        guard method == self.method else { return nil }
        let segments = self.segments
        guard segments.count == parts.count else { return nil }
        var captured: [String] = []
        for (segment, part) in zip(segments, parts) {
            if segment.hasPrefix("{") {
                captured.append(part)
            } else if segment != part {
                return nil
            }
        }
        return captured
    }
}

extension NimbusRoute {
    public static let health = NimbusRoute("GET", "/api/v1/health")
    public static let openAPI = NimbusRoute("GET", "/api/v1/openapi.json")
    public static let metrics = NimbusRoute("GET", "/metrics")
    public static let uploadBlob = NimbusRoute("POST", "/api/v1/blobs")
    public static let blob = NimbusRoute("GET", "/api/v1/blobs/{digest}")
    public static let replicateBlob = NimbusRoute("PUT", "/api/v1/blobs/{digest}")
    public static let report = NimbusRoute("POST", "/api/v1/supervisors/report")
    public static let supervisors = NimbusRoute("GET", "/api/v1/supervisors")
    public static let topologies = NimbusRoute("GET", "/api/v1/topologies")
    public static let submit = NimbusRoute("POST", "/api/v1/topologies")
    public static let topology = NimbusRoute("GET", "/api/v1/topologies/{name}")
    public static let kill = NimbusRoute("POST", "/api/v1/topologies/{name}/kill")
    public static let activate = NimbusRoute("POST", "/api/v1/topologies/{name}/activate")
    public static let deactivate = NimbusRoute("POST", "/api/v1/topologies/{name}/deactivate")
    public static let rebalance = NimbusRoute("POST", "/api/v1/topologies/{name}/rebalance")

    /// Every route nimbus serves.
    public static let all: [NimbusRoute] = [
        health, openAPI, metrics, uploadBlob, blob, replicateBlob, report, supervisors, topologies, submit, topology,
        kill, activate, deactivate, rebalance,
    ]
}
