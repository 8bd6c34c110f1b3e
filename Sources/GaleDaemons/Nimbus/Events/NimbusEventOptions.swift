import Foundation
import GaleCoordination

/// What nimbus posts where (`nimbus.webhooks`, `nimbus.webhook.*`, `nimbus.events.*`,
/// `nimbus.ui.url`).
public struct NimbusEventOptions: Sendable {
    /// Where events go; none: nimbus runs no event services.
    public var webhooks: [WebhookTarget]
    public var thresholds: EventThresholds
    public var delivery: WebhookDeliverySettings
    /// The UI's base URL for links; `nil`: `http://` (or `https://`) and the leader's address.
    public var uiURL: String?
    /// Time between two passes of the detector.
    public var interval: Duration

    public init(
        webhooks: [WebhookTarget] = [],
        thresholds: EventThresholds = EventThresholds(),
        delivery: WebhookDeliverySettings = WebhookDeliverySettings(),
        uiURL: String? = nil,
        interval: Duration = .seconds(2)
    ) {
        self.webhooks = webhooks
        self.thresholds = thresholds
        self.delivery = delivery
        self.uiURL = uiURL
        self.interval = interval
    }
}

extension GaleConfig {
    /// `nimbus.webhooks` as the configuration holds it.
    public func webhooks(_ name: String = "nimbus.webhooks") -> [WebhookSpec]? {
        if case .webhooks(let specs) = value(name) { return specs }
        return nil
    }

    /// The event options of nimbus: the webhooks (each `url.file` read, each URL checked), the
    /// thresholds, the delivery settings and the UI's URL.
    /// - Throws: ``ConfigError`` naming the key, the webhook and the problem (never the URL).
    public func nimbusEvents() throws(ConfigError) -> NimbusEventOptions {
        var targets: [WebhookTarget] = []
        let origin = source("nimbus.webhooks").map { Self.label($0) } ?? "nimbus.webhooks"
        for (index, spec) in (webhooks() ?? []).enumerated() {
            let name = spec.name ?? "webhook \(index + 1)"
            let key = "\(origin): nimbus.webhooks: \(name)"
            let url: String
            if let inline = spec.url {
                url = inline
            } else if let file = spec.urlFile {
                url = try Secret.read(file: file, key: "\(key): url.file")
            } else {
                throw ConfigError("\(key): give url or url.file")
            }
            do {
                targets.append(
                    try WebhookTarget(
                        name: name,
                        url: url,
                        format: spec.format,
                        events: spec.events,
                        caFile: spec.caFile
                    )
                )
            } catch {
                throw ConfigError("\(origin): nimbus.webhooks: \(error.description)")
            }
        }
        var uiURL = text("nimbus.ui.url")
        if let given = uiURL {
            guard let components = URLComponents(string: given), ["http", "https"].contains(components.scheme ?? ""),
                components.host?.isEmpty == false
            else {
                let at = source("nimbus.ui.url").map { Self.label($0) } ?? "nimbus.ui.url"
                throw ConfigError("\(at): nimbus.ui.url: '\(given)' is not an http:// or https:// URL")
            }
            while uiURL?.hasSuffix("/") == true { uiURL?.removeLast() }
        }
        let defaults = EventThresholds()
        let thresholds = EventThresholds(
            crashLoopRestarts: int("nimbus.events.crash.loop.restarts") ?? defaults.crashLoopRestarts,
            crashLoopWindowSeconds: seconds("nimbus.events.crash.loop.window.secs") ?? defaults.crashLoopWindowSeconds,
            partitionStuckSeconds: seconds("nimbus.events.partition.stuck.secs") ?? defaults.partitionStuckSeconds,
            backpressureSeconds: seconds("nimbus.events.backpressure.secs") ?? defaults.backpressureSeconds,
            batchReplays: int("nimbus.events.batch.replays") ?? defaults.batchReplays,
            batchWindowSeconds: seconds("nimbus.events.batch.window.secs") ?? defaults.batchWindowSeconds,
            supervisorTimeoutSeconds: seconds("nimbus.events.supervisor.timeout.secs")
                ?? defaults.supervisorTimeoutSeconds,
            renotifySeconds: seconds("nimbus.events.renotify.secs") ?? defaults.renotifySeconds
        )
        let delivery = WebhookDeliverySettings(
            timeout: .milliseconds(Int64((seconds("nimbus.webhook.timeout.secs") ?? 10) * 1000)),
            attempts: int("nimbus.webhook.attempts") ?? 5,
            queueSize: int("nimbus.webhook.queue.size") ?? 1000
        )
        return NimbusEventOptions(webhooks: targets, thresholds: thresholds, delivery: delivery, uiURL: uiURL)
    }
}
