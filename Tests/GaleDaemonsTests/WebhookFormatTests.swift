import Foundation
import Testing

@testable import GaleDaemons

/// The two bodies a webhook gets: the plain JSON event and Slack's incoming-webhook message.
@Suite struct WebhookFormatTests {
    static let crashLoop = NimbusEvent(
        event: .workerCrashLoop,
        key: "worker-crash-loop/orders-17/10.0.0.5:6700",
        topology: "orders",
        topologyId: "orders-17",
        worker: "10.0.0.5:6700",
        supervisor: "s1",
        since: 1_700_000_000,
        time: 1_700_000_030.5,
        message:
            "worker 10.0.0.5:6700 of orders restarted 3 times in the last 300 s (supervisor s1; last exit: <signal 9> & more)",
        url: "https://gale.example.com/#/topology/orders"
    )

    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func theJSONFormIsTheDocumentedSchemaWithoutAbsentFields() throws {
        let json = try Self.object(WebhookPayload.body(Self.crashLoop, format: .json))
        #expect(
            Set(json.keys) == [
                "v", "event", "severity", "state", "key", "topology", "topologyId", "worker", "supervisor", "since",
                "time",
                "message", "url",
            ]
        )
        #expect(json["v"] as? Int == 1)
        #expect(json["event"] as? String == "worker-crash-loop")
        #expect(json["severity"] as? String == "critical")
        #expect(json["state"] as? String == "firing")
        #expect(json["since"] as? Double == 1_700_000_000)
        #expect(json["time"] as? Double == 1_700_000_030.5)
        #expect(json["url"] as? String == "https://gale.example.com/#/topology/orders", "slashes are not escaped")
        #expect(json["message"] as? String == Self.crashLoop.message, "the JSON form is not escaped for chat")
        // It decodes back as the same event (receivers written in Swift can use the type).
        let decoded = try JSONDecoder().decode(
            NimbusEvent.self,
            from: Data(WebhookPayload.body(Self.crashLoop, format: .json))
        )
        #expect(decoded == Self.crashLoop)

        var partition = Self.crashLoop
        partition.event = .partitionStuck
        partition.worker = nil
        partition.supervisor = nil
        partition.component = "reader"
        partition.topic = "orders"
        partition.partition = 3
        partition.state = .resolved
        partition.reminder = true
        let p = try Self.object(WebhookPayload.body(partition, format: .json))
        #expect(
            p["component"] as? String == "reader" && p["topic"] as? String == "orders" && p["partition"] as? Int == 3
        )
        #expect(p["state"] as? String == "resolved" && p["reminder"] as? Bool == true)
        #expect(p["worker"] == nil && p["supervisor"] == nil)
    }

    @Test func everyEventTypeHasItsSeverityAndNoticesAreInfo() {
        for type in EventType.allCases {
            #expect(type.isNotice == (type.severity == .info), "\(type)")
            #expect(EventType(rawValue: type.rawValue) == type)
        }
        #expect(
            EventType.allCases.map(\.rawValue) == [
                "topology-submitted", "topology-killed", "topology-rebalanced", "worker-crash-loop", "supervisor-lost",
                "binary-missing", "partition-stuck", "backpressure", "batch-failing",
            ]
        )
    }

    @Test func theSlackFormHasTextAndOneAttachmentEscapedForSlack() throws {
        let slack = try Self.object(WebhookPayload.body(Self.crashLoop, format: .slack))
        #expect(Set(slack.keys) == ["text", "attachments"])
        let text = try #require(slack["text"] as? String)
        #expect(text.hasPrefix(":rotating_light: *Firing: Worker in a crash loop (orders)*: worker 10.0.0.5:6700"))
        #expect(text.contains("last exit: &lt;signal 9&gt; &amp; more"))
        #expect(text.hasSuffix("<https://gale.example.com/#/topology/orders|Open in Gale>"))
        let attachments = try #require(slack["attachments"] as? [[String: Any]])
        #expect(attachments.count == 1)
        let a = try #require(attachments.first)
        #expect(a["color"] as? String == "#d00000")
        #expect(a["title"] as? String == "Firing: Worker in a crash loop (orders)")
        #expect(a["title_link"] as? String == "https://gale.example.com/#/topology/orders")
        #expect(a["ts"] as? Int == 1_700_000_030)
        #expect(a["footer"] as? String == "Gale nimbus · worker-crash-loop/orders-17/10.0.0.5:6700")
        let fields = try #require(a["fields"] as? [[String: Any]])
        let byTitle = Dictionary(
            uniqueKeysWithValues: fields.map { ($0["title"] as? String ?? "", $0["value"] as? String ?? "") }
        )
        #expect(
            byTitle == [
                "Topology": "orders", "Worker": "10.0.0.5:6700", "Supervisor": "s1", "Severity": "critical",
                "Since": "2023-11-14 22:13:20 UTC",
            ]
        )
    }

    @Test func resolvedRemindersAndNoticesReadAsSuch() throws {
        var resolved = Self.crashLoop
        resolved.state = .resolved
        let r = WebhookPayload.slack(resolved)
        #expect(r.text.hasPrefix(":white_check_mark: *Resolved: Worker in a crash loop (orders)*"))
        #expect(r.attachments.first?.color == "#2eb886")
        #expect(r.attachments.first?.fields.contains { $0.title == "Resolved" } == true)

        var reminder = Self.crashLoop
        reminder.reminder = true
        #expect(WebhookPayload.slack(reminder).text.hasPrefix(":rotating_light: *Still firing: Worker in a crash loop"))

        let notice = NimbusEvent(
            event: .topologySubmitted,
            key: "topology-submitted/orders-17/1",
            topology: "orders",
            topologyId: "orders-17",
            since: 0,
            time: 0,
            message: "topology orders (orders-17) submitted: 2 workers",
            url: "http://127.0.0.1:8080/#/topology/orders"
        )
        let n = WebhookPayload.slack(notice)
        #expect(n.text.hasPrefix(":information_source: *Topology submitted (orders)*: topology orders"))
        #expect(n.attachments.first?.color == "#439fe0")

        let lost = NimbusEvent(
            event: .supervisorLost,
            key: "supervisor-lost/s2",
            supervisor: "s2",
            since: 0,
            time: 0,
            message: "supervisor s2 (10.0.0.6) is gone from ZooKeeper",
            url: "http://127.0.0.1:8080/"
        )
        #expect(WebhookPayload.slack(lost).attachments.first?.title == "Firing: Supervisor lost (supervisor s2)")
    }
}
