import Foundation
public import GaleCoordination
import Yams

/// How a webhook's requests are written.
public enum WebhookFormat: String, Sendable, Codable, CaseIterable {
    /// Slack's incoming-webhook JSON (`text` and `attachments`), which Mattermost, Rocket.Chat
    /// and others accept too.
    case slack
    /// ``NimbusEvent`` as JSON (docs/webhooks.md).
    case json
}

/// One entry of `nimbus.webhooks` as the configuration file gives it. Its URL is a secret:
/// ``description`` and its JSON form (`gale config show`) never show more of it than the
/// scheme and host.
public struct WebhookSpec: Sendable, Equatable, Encodable, CustomStringConvertible {
    /// Names it in logs (default: `webhook N`, its place in the list).
    public var name: String?
    /// The URL itself (`url`).
    public var url: String?
    /// A file (mode 0600 or 0440) holding the URL (`url.file`).
    public var urlFile: String?
    public var format: WebhookFormat
    /// The events it gets; `nil`: all.
    public var events: [EventType]?
    /// The CA certificates (PEM) an `https` URL's server is verified against (`ca.file`;
    /// default: the system's bundle).
    public var caFile: String?

    public init(
        name: String? = nil,
        url: String? = nil,
        urlFile: String? = nil,
        format: WebhookFormat,
        events: [EventType]? = nil,
        caFile: String? = nil
    ) {
        self.name = name
        self.url = url
        self.urlFile = urlFile
        self.format = format
        self.events = events
        self.caFile = caFile
    }

    /// The fields an entry may have.
    static let fields = ["name", "url", "url.file", "format", "events", "ca.file"]

    public var description: String {
        let target = url.map(WebhookTarget.redact) ?? urlFile.map { "url.file \($0)" } ?? "?"
        let events = events.map { " events [\($0.map(\.rawValue).joined(separator: ", "))]" } ?? ""
        return "\(name.map { "\($0): " } ?? "")\(format.rawValue) \(target)\(events)"
    }

    enum CodingKeys: String, CodingKey {
        case name, url
        case urlFile = "url.file"
        case format, events
        case caFile = "ca.file"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encodeIfPresent(url.map(WebhookTarget.redact), forKey: .url)
        try container.encodeIfPresent(urlFile, forKey: .urlFile)
        try container.encode(format, forKey: .format)
        try container.encodeIfPresent(events, forKey: .events)
        try container.encodeIfPresent(caFile, forKey: .caFile)
    }

    /// The entries of a `nimbus.webhooks` YAML list.
    static func parse(_ node: Node) -> Result<[WebhookSpec], ConfigError> {
        guard case .sequence(let sequence) = node else {
            return .failure(
                ConfigError("expected a list of webhooks ({url or url.file, format, events?}), got \(kind(node))")
            )
        }
        var result: [WebhookSpec] = []
        for (index, entry) in sequence.enumerated() {
            let at = "webhook \(index + 1)\(entry.mark.map { " (line \($0.line))" } ?? "")"
            guard case .mapping(let mapping) = entry else {
                return .failure(
                    ConfigError("\(at): expected a mapping with url or url.file and format, got \(kind(entry))")
                )
            }
            var values: [String: Node] = [:]
            for (keyNode, value) in mapping {
                guard case .scalar(let key) = keyNode, fields.contains(key.string) else {
                    let name = keyNode.scalar?.string ?? "?"
                    return .failure(
                        ConfigError("\(at): unknown field '\(name)' (fields: \(fields.joined(separator: ", ")))")
                    )
                }
                values[key.string] = value
            }
            func text(_ field: String) -> Result<String?, ConfigError> {
                guard let node = values[field] else { return .success(nil) }
                guard case .scalar(let scalar) = node, Tag.Name(rawValue: node.tag.rawValue) != .null,
                    !scalar.string.isEmpty
                else {
                    // Never the value: it may be the secret URL.
                    return .failure(ConfigError("\(at): \(field) must be a non-empty string"))
                }
                return .success(scalar.string)
            }
            do throws(ConfigError) {
                let url = try text("url").get()
                let urlFile = try text("url.file").get()
                guard (url == nil) != (urlFile == nil) else {
                    throw ConfigError("\(at): give exactly one of url and url.file (a file holding the URL)")
                }
                guard let formatText = try text("format").get(), let format = WebhookFormat(rawValue: formatText)
                else {
                    throw ConfigError("\(at): format must be slack or json")
                }
                var events: [EventType]?
                if let node = values["events"] {
                    guard case .sequence(let names) = node, !names.isEmpty else {
                        throw ConfigError(
                            "\(at): events must be a non-empty list of event names (leave it out for every event)"
                        )
                    }
                    events = []
                    for name in names {
                        guard let type = name.scalar.flatMap({ EventType(rawValue: $0.string) }) else {
                            throw ConfigError(
                                "\(at): unknown event '\(name.scalar?.string ?? "?")' (events: "
                                    + EventType.allCases.map(\.rawValue).joined(separator: ", ") + ")"
                            )
                        }
                        events?.append(type)
                    }
                }
                if let url { _ = try WebhookTarget.parse(url: url, at: at) }
                result.append(
                    WebhookSpec(
                        name: try text("name").get(),
                        url: url,
                        urlFile: urlFile,
                        format: format,
                        events: events,
                        caFile: try text("ca.file").get()
                    )
                )
            } catch {
                return .failure(error)
            }
        }
        return .success(result)
    }

    private static func kind(_ node: Node) -> String {
        switch node {
        // Never a scalar's text: it may be a URL.
        case .scalar: "a string"
        case .sequence: "a list"
        case .mapping: "a mapping"
        case .alias: "an alias"
        }
    }
}

/// A webhook nimbus posts to, ready to send: its URL split into address and path, its TLS,
/// its filter.
public struct WebhookTarget: Sendable {
    /// Names it in logs.
    public let name: String
    public let format: WebhookFormat
    /// The events it gets; `nil`: all.
    public let events: Set<EventType>?
    /// `host:port`.
    let address: String
    /// The path and query (the secret part, usually).
    let path: String
    /// With an `https` URL: the CAs its server is verified against.
    let tls: HTTPClientTLS?
    /// The URL as logs show it: scheme, host and port only.
    public let redacted: String

    /// Where the system's CA bundle usually is (Debian and Ubuntu, then Red Hat's, then others).
    static let systemBundles = [
        "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem",
    ]

    /// - Parameters:
    ///   - url: `http://` or `https://` URL (a secret: errors never show more than its host).
    ///   - caFile: the CAs an `https` server is verified against; `nil`: the system's bundle.
    /// - Throws: ``ConfigError`` naming `name` and the problem.
    public init(
        name: String,
        url: String,
        format: WebhookFormat,
        events: [EventType]? = nil,
        caFile: String? = nil
    ) throws(ConfigError) {
        let parts = try Self.parse(url: url, at: name)
        self.name = name
        self.format = format
        self.events = events.map(Set.init)
        self.address = parts.address
        self.path = parts.path
        self.redacted = Self.redact(url)
        if parts.secure {
            let bundle =
                caFile ?? ProcessInfo.processInfo.environment["SSL_CERT_FILE"].flatMap { $0.isEmpty ? nil : $0 }
                ?? Self.systemBundles.first { FileManager.default.fileExists(atPath: $0) }
            guard let bundle else {
                throw ConfigError("\(name): no CA bundle to verify \(redacted) against: set its ca.file")
            }
            do {
                self.tls = try HTTPClientTLS(caFile: bundle)
            } catch {
                throw ConfigError("\(name): ca.file: \(error.reason)")
            }
        } else {
            self.tls = nil
        }
    }

    /// Whether it gets `event`.
    public func accepts(_ event: NimbusEvent) -> Bool { events?.contains(event.event) ?? true }

    /// `scheme://host[:port]/…`: what logs may show of a webhook URL.
    public static func redact(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            let host = components.host, !host.isEmpty
        else { return "(an invalid URL)" }
        let port = components.port.map { ":\($0)" } ?? ""
        let hidden = components.percentEncodedPath.count > 1 || components.percentEncodedQuery != nil
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(bracketed)\(port)/\(hidden ? "…" : "")"
    }

    /// The URL's address, path with query, and whether it is HTTPS.
    static func parse(url: String, at: String) throws(ConfigError) -> (address: String, path: String, secure: Bool) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else {
            throw ConfigError("\(at): the url is not a URL such as https://hooks.example.com/services/…")
        }
        guard scheme == "http" || scheme == "https" else {
            throw ConfigError("\(at): the url must be http:// or https://, not \(scheme)://")
        }
        guard components.user == nil, components.password == nil else {
            throw ConfigError("\(at): the url must not hold a user or password (\(redact(url)))")
        }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65_535).contains(port) else { throw ConfigError("\(at): the url's port \(port) is out of range") }
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        let query = components.percentEncodedQuery.map { "?" + $0 } ?? ""
        return ("\(host):\(port)", path + query, scheme == "https")
    }
}
