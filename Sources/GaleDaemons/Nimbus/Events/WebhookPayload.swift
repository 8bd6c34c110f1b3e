import Foundation

/// The bodies nimbus posts: an event in a webhook's format.
public enum WebhookPayload {
    /// `event` as `format` writes it (UTF-8 JSON, keys sorted).
    public static func body(_ event: NimbusEvent, format: WebhookFormat) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data?
        switch format {
        case .json: data = try? encoder.encode(event)
        case .slack: data = try? encoder.encode(slack(event))
        }
        return Array(data ?? Data("{}".utf8))
    }

    /// Slack's incoming-webhook message: `text` (what notifications and clients without
    /// attachments show) and one attachment with the details.
    public struct SlackMessage: Sendable, Codable, Equatable {
        public var text: String
        public var attachments: [Attachment]

        public struct Attachment: Sendable, Codable, Equatable {
            public var color: String
            public var title: String
            public var titleLink: String
            public var text: String
            public var fields: [Field]
            public var footer: String
            /// Seconds since 1970 (Slack shows it as a date).
            public var ts: Int

            enum CodingKeys: String, CodingKey {
                case color, title
                case titleLink = "title_link"
                case text, fields, footer, ts
            }
        }

        public struct Field: Sendable, Codable, Equatable {
            public var title: String
            public var value: String
            public var short: Bool
        }
    }

    /// The Slack message of `event`. Text is escaped as Slack wants (`&`, `<`, `>`).
    public static func slack(_ event: NimbusEvent) -> SlackMessage {
        let resolved = event.state == .resolved
        let (icon, color): (String, String) =
            switch (resolved, event.severity) {
            case (true, _): (":white_check_mark:", "#2eb886")
            case (false, .info): (":information_source:", "#439fe0")
            case (false, .warning): (":warning:", "#daa038")
            case (false, .critical): (":rotating_light:", "#d00000")
            }
        let status =
            resolved ? "Resolved: " : event.reminder == true ? "Still firing: " : event.event.isNotice ? "" : "Firing: "
        let subject = event.topology ?? event.supervisor.map { "supervisor \($0)" } ?? "cluster"
        let title = "\(status)\(event.event.title) (\(subject))"
        var fields: [SlackMessage.Field] = []
        func add(_ name: String, _ value: String?) {
            if let value { fields.append(.init(title: name, value: escape(value), short: true)) }
        }
        add("Topology", event.topology)
        add("Component", event.component)
        add("Worker", event.worker)
        add("Supervisor", event.supervisor)
        add("Partition", event.topic.map { "\($0)/\(event.partition.map(String.init) ?? "?")" })
        add("Severity", event.severity.rawValue)
        add("Since", timestamp(event.since))
        if resolved { add("Resolved", timestamp(event.time)) }
        return SlackMessage(
            text: "\(icon) *\(escape(title))*: \(escape(event.message)) <\(event.url)|Open in Gale>",
            attachments: [
                .init(
                    color: color,
                    title: escape(title),
                    titleLink: event.url,
                    text: escape(event.message),
                    fields: fields,
                    footer: "Gale nimbus · \(escape(event.key))",
                    ts: Int(event.time)
                )
            ]
        )
    }

    /// `&`, `<` and `>` as Slack's message text needs them.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// `2025-01-31 12:00:00 UTC`.
    static func timestamp(_ seconds: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}
