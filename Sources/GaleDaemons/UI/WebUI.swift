import Foundation
import GaleCoordination

/// Nimbus's web UI: one page (`GET /`) and its assets (`GET /ui/<name>`), HTML, CSS, plain
/// JavaScript and an SVG icon kept in the binary as string literals (`WebUI+*.swift`, one per
/// file). The page and its scripts are open (they hold no data); the scripts read the cluster
/// through the JSON API with the caller's token (docs/web-ui.md).
///
/// Every answer carries a strict Content-Security-Policy (scripts, styles and connections only
/// from nimbus itself, nothing inline, no framing), `X-Content-Type-Options: nosniff` and no
/// referrer. The page names each asset with `?v=` and the first 16 hex digits of its SHA-256: an
/// asset asked for with its current version is cached for a year (`immutable`), the page and
/// anything else is revalidated each time (`no-cache` with an `ETag`, answered 304).
enum WebUI {
    /// One file of the UI.
    struct Asset: Sendable {
        let name: String
        let contentType: String
        let body: [UInt8]
        /// The first 16 hex digits of the body's SHA-256.
        let version: String

        init(_ name: String, _ contentType: String, _ text: String) {
            self.name = name
            self.contentType = contentType
            body = Array(text.utf8)
            version = String(SHA256Digest.hex(of: body).prefix(16))
        }

        var etag: String { "\"\(version)\"" }
    }

    /// The assets under `/ui/`, scripts in the order the page loads them.
    static let files: [Asset] = [
        Asset("style.css", "text/css; charset=utf-8", styleCSS),
        Asset("core.js", "text/javascript; charset=utf-8", coreJS),
        Asset("dag.js", "text/javascript; charset=utf-8", dagJS),
        Asset("cluster.js", "text/javascript; charset=utf-8", clusterJS),
        Asset("topology.js", "text/javascript; charset=utf-8", topologyJS),
        Asset("component.js", "text/javascript; charset=utf-8", componentJS),
        Asset("log.js", "text/javascript; charset=utf-8", logJS),
        Asset("favicon.svg", "image/svg+xml", faviconSVG),
    ]

    static let assets: [String: Asset] = Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0) })

    /// The page, its `{{name}}` placeholders replaced by each asset's versioned URL.
    static let index: Asset = {
        var html = indexHTML
        for asset in files {
            html = html.replacingOccurrences(of: "{{\(asset.name)}}", with: "/ui/\(asset.name)?v=\(asset.version)")
        }
        return Asset("index.html", "text/html; charset=utf-8", html)
    }()

    /// Only nimbus's own scripts, styles, images and API; no inline script or style, no plugins,
    /// no framing, forms only back to nimbus.
    static let contentSecurityPolicy =
        "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static let securityHeaders: [(name: String, value: String)] = [
        (name: "content-security-policy", value: contentSecurityPolicy),
        (name: "x-content-type-options", value: "nosniff"),
        (name: "x-frame-options", value: "DENY"),
        (name: "referrer-policy", value: "no-referrer"),
    ]

    /// `GET /`.
    static func page(_ request: HTTPRequest) -> HTTPResponse {
        respond(index, to: request, immutable: false)
    }

    /// `GET /ui/<name>`.
    static func asset(_ name: String, _ request: HTTPRequest) -> HTTPResponse {
        guard let asset = assets[name] else {
            var missing = HTTPResponse.error(
                404,
                "no UI asset '\(name)'; there are \(files.map(\.name).joined(separator: ", "))"
            )
            missing.headers += securityHeaders
            return missing
        }
        return respond(asset, to: request, immutable: request.query["v"] == asset.version)
    }

    private static func respond(_ asset: Asset, to request: HTTPRequest, immutable: Bool) -> HTTPResponse {
        let headers =
            [
                (name: "content-type", value: asset.contentType),
                (name: "cache-control", value: immutable ? "public, max-age=31536000, immutable" : "no-cache"),
                (name: "etag", value: asset.etag),
            ] + securityHeaders
        let known = request.header("if-none-match")?.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "W/", with: "")
        }
        if let known, known.contains(asset.etag) || known.contains("*") {
            return HTTPResponse(status: 304, headers: headers)
        }
        return HTTPResponse(status: 200, headers: headers, body: asset.body)
    }
}
