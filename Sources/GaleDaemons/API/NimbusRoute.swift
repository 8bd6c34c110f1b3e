import Foundation

/// One endpoint of nimbus's HTTP API: the table nimbus routes by, clients build paths from, and
/// the OpenAPI document (``NimbusOpenAPI``) describes.
public struct NimbusRoute: Sendable, Hashable, CustomStringConvertible {
    /// `GET`, `POST` or `PUT`.
    public let method: String
    /// The path with `{name}` placeholders, as in OpenAPI: `/api/v1/topologies/{name}/kill`.
    public let pattern: String
    /// Who may call it when nimbus authenticates its callers.
    public let access: Access

    init(_ method: String, _ pattern: String, _ access: Access) {
        self.method = method
        self.pattern = pattern
        self.access = access
    }

    /// Who may call a route (docs/security.md has the table).
    public enum Access: String, Sendable, Hashable, CaseIterable {
        /// Anyone, without credentials.
        case open
        /// viewer, submitter, admin.
        case read
        /// submitter, admin.
        case submit
        /// admin, or the submitter that submitted the topology.
        case manage
        /// The cluster credential (supervisors, other nimbus processes).
        case cluster
        /// The cluster credential or an admin.
        case clusterOrAdmin

        /// Whether `principal` may call a route of this access (for ``manage``, before the
        /// owner check).
        public func permits(_ principal: Principal) -> Bool {
            switch (self, principal) {
            case (.open, _), (_, .anonymous): true
            case (.read, .user): true
            case (.submit, .user(_, let role)), (.manage, .user(_, let role)): role != .viewer
            case (.cluster, .cluster), (.clusterOrAdmin, .cluster): true
            case (.clusterOrAdmin, .user(_, let role)): role == .admin
            default: false
            }
        }

        /// Who may call, for error messages and docs.
        public var callers: String {
            switch self {
            case .open: "anyone"
            case .read: "viewer, submitter or admin"
            case .submit: "submitter or admin"
            case .manage: "admin, or the submitter that submitted the topology"
            case .cluster: "the cluster credential"
            case .clusterOrAdmin: "the cluster credential or admin"
            }
        }
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
    public static let health = NimbusRoute("GET", "/api/v1/health", .open)
    public static let openAPI = NimbusRoute("GET", "/api/v1/openapi.json", .open)
    public static let metrics = NimbusRoute("GET", "/metrics", .read)
    public static let uploadBlob = NimbusRoute("POST", "/api/v1/blobs", .submit)
    public static let blob = NimbusRoute("GET", "/api/v1/blobs/{digest}", .clusterOrAdmin)
    public static let replicateBlob = NimbusRoute("PUT", "/api/v1/blobs/{digest}", .cluster)
    public static let report = NimbusRoute("POST", "/api/v1/supervisors/report", .cluster)
    public static let supervisors = NimbusRoute("GET", "/api/v1/supervisors", .read)
    public static let cluster = NimbusRoute("GET", "/api/v1/cluster", .read)
    public static let topologies = NimbusRoute("GET", "/api/v1/topologies", .read)
    public static let submit = NimbusRoute("POST", "/api/v1/topologies", .submit)
    public static let topology = NimbusRoute("GET", "/api/v1/topologies/{name}", .read)
    public static let component = NimbusRoute("GET", "/api/v1/topologies/{name}/components/{component}", .read)
    public static let kill = NimbusRoute("POST", "/api/v1/topologies/{name}/kill", .manage)
    public static let activate = NimbusRoute("POST", "/api/v1/topologies/{name}/activate", .manage)
    public static let deactivate = NimbusRoute("POST", "/api/v1/topologies/{name}/deactivate", .manage)
    public static let rebalance = NimbusRoute("POST", "/api/v1/topologies/{name}/rebalance", .manage)
    public static let workerLog = NimbusRoute("GET", "/api/v1/topologies/{name}/workers/{worker}/log", .read)
    public static let logLevel = NimbusRoute("POST", "/api/v1/topologies/{name}/log-level", .manage)
    public static let debug = NimbusRoute("POST", "/api/v1/topologies/{name}/debug", .manage)
    public static let samples = NimbusRoute("GET", "/api/v1/topologies/{name}/samples", .read)
    /// The web UI's page and its assets (docs/web-ui.md): open, since they hold no data.
    public static let webUI = NimbusRoute("GET", "/", .open)
    public static let webUIAsset = NimbusRoute("GET", "/ui/{asset}", .open)

    /// Every route nimbus serves.
    public static let all: [NimbusRoute] = [
        health, openAPI, metrics, uploadBlob, blob, replicateBlob, report, supervisors, cluster, topologies, submit,
        topology, component, kill, activate, deactivate, rebalance, workerLog, logLevel, debug, samples, webUI,
        webUIAsset,
    ]
}
