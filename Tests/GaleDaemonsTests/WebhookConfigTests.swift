import Foundation
import GaleCoordination
import Testing

@testable import GaleDaemons

#if canImport(Glibc)
import Glibc
#endif

/// `nimbus.webhooks` and the event keys of gale.yaml: parsing, errors that never show a
/// webhook's URL, secrets read from files.
@Suite struct WebhookConfigTests {
    static let secretPath = "/services/T000/B000/XXXXsecretXXXX"

    @Test func webhooksAndThresholdsAreRead() throws {
        let yaml = """
            nimbus:
              ui.url: https://gale.example.com/ui/
              webhooks:
                - name: ops
                  url: https://hooks.slack.com\(Self.secretPath)
                  format: slack
                  events: [worker-crash-loop, supervisor-lost]
                - url: http://127.0.0.1:9000/hook?token=abc
                  format: json
              webhook.timeout.secs: 2.5
              webhook.attempts: 3
              events:
                crash.loop.restarts: 4
                crash.loop.window.secs: 120
                renotify.secs: 3600
            """
        let entries = try GaleConfig.parse(yaml: yaml, path: "gale.yaml")
        var config = GaleConfig()
        for (name, entry) in entries { try config.set(name, entry.value, source: entry.source) }
        let specs = try #require(config.webhooks())
        #expect(specs.count == 2)
        #expect(
            specs[0].name == "ops" && specs[0].format == .slack
                && specs[0].events == [.workerCrashLoop, .supervisorLost]
        )
        #expect(specs[1].url == "http://127.0.0.1:9000/hook?token=abc" && specs[1].events == nil)

        let options = try config.nimbusEvents()
        #expect(options.uiURL == "https://gale.example.com/ui")
        #expect(options.webhooks.map(\.name) == ["ops", "webhook 2"])
        #expect(options.webhooks[0].address == "hooks.slack.com:443" && options.webhooks[0].path == Self.secretPath)
        #expect(options.webhooks[0].tls != nil, "https verifies against the system's CAs")
        #expect(options.webhooks[1].address == "127.0.0.1:9000" && options.webhooks[1].path == "/hook?token=abc")
        #expect(options.webhooks[1].tls == nil)
        #expect(options.delivery.timeout == .milliseconds(2500) && options.delivery.attempts == 3)
        #expect(options.delivery.queueSize == 1000)
        #expect(options.thresholds.crashLoopRestarts == 4 && options.thresholds.crashLoopWindowSeconds == 120)
        #expect(options.thresholds.renotifySeconds == 3600 && options.thresholds.partitionStuckSeconds == 300)
        #expect(options.webhooks[0].accepts(WebhookFormatTests.crashLoop))
        var notice = WebhookFormatTests.crashLoop
        notice.event = .topologySubmitted
        #expect(!options.webhooks[0].accepts(notice) && options.webhooks[1].accepts(notice))
    }

    @Test func theDefaultsPostNothing() throws {
        let options = try GaleConfig().nimbusEvents()
        #expect(options.webhooks.isEmpty && options.uiURL == nil)
        #expect(options.thresholds == EventThresholds())
        #expect(options.delivery == WebhookDeliverySettings())
    }

    @Test func configShowAndLogsNeverShowAWebhooksURL() throws {
        let yaml = "nimbus.webhooks:\n  - url: https://hooks.slack.com\(Self.secretPath)\n    format: slack\n"
        let entries = try GaleConfig.parse(yaml: yaml, path: "gale.yaml")
        let value = try #require(entries["nimbus.webhooks"]?.value)
        #expect(value.description == "[slack https://hooks.slack.com/…]")
        let json = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        #expect(!json.contains("XXXXsecretXXXX") && json.contains("hooks.slack.com"))
        let target = try WebhookTarget(name: "ops", url: "https://hooks.slack.com\(Self.secretPath)", format: .slack)
        #expect(target.redacted == "https://hooks.slack.com/…")
        #expect(WebhookTarget.redact("http://[::1]:9000/x") == "http://[::1]:9000/…")
        #expect(WebhookTarget.redact("http://127.0.0.1:9000") == "http://127.0.0.1:9000/")
    }

    @Test func badEntriesAreNamedWithTheirLineAndNeverTheURL() {
        func error(_ entry: String) -> String {
            let yaml = "nimbus.port: 8080\nnimbus.webhooks:\n" + entry
            do {
                _ = try GaleConfig.parse(yaml: yaml, path: "gale.yaml")
                return "no error"
            } catch {
                return error.description
            }
        }
        let cases: [(String, String)] = [
            (
                "  - url: https://h.example\(Self.secretPath)\n    format: teams\n",
                "gale.yaml:2: nimbus.webhooks: webhook 1 (line 3): format must be slack or json"
            ),
            (
                "  - url: https://h.example\(Self.secretPath)\n    url.file: /etc/gale/hook\n    format: json\n",
                "gale.yaml:2: nimbus.webhooks: webhook 1 (line 3): give exactly one of url and url.file (a file holding the URL)"
            ),
            (
                "  - format: json\n",
                "gale.yaml:2: nimbus.webhooks: webhook 1 (line 3): give exactly one of url and url.file (a file holding the URL)"
            ),
            (
                "  - url: https://h.example/x\n    format: json\n  - url: https://h.example\(Self.secretPath)\n    format: json\n    ur: x\n",
                "gale.yaml:2: nimbus.webhooks: webhook 2 (line 5): unknown field 'ur' (fields: name, url, url.file, format, events, ca.file)"
            ),
            (
                "  - url: https://h.example\(Self.secretPath)\n    format: json\n    events: [worker-crashloop]\n",
                "gale.yaml:2: nimbus.webhooks: webhook 1 (line 3): unknown event 'worker-crashloop' (events: topology-submitted, "
                    + "topology-killed, topology-rebalanced, worker-crash-loop, supervisor-lost, binary-missing, partition-stuck, "
                    + "backpressure, batch-failing)"
            ),
            (
                "  - url: ftp://h.example\(Self.secretPath)\n    format: json\n",
                "gale.yaml:2: nimbus.webhooks: webhook 1 (line 3): the url must be http:// or https://, not ftp://"
            ),
            (
                "  - url: https://me:pw@h.example\(Self.secretPath)\n    format: json\n",
                "gale.yaml:2: nimbus.webhooks: webhook 1 (line 3): the url must not hold a user or password (https://h.example/…)"
            ),
            (
                "  - url: not a url\(Self.secretPath)\n    format: json\n",
                "gale.yaml:2: nimbus.webhooks: webhook 1 (line 3): the url is not a URL such as https://hooks.example.com/services/…"
            ),
            (
                "  url: x\n",
                "gale.yaml:2: nimbus.webhooks: expected a list of webhooks ({url or url.file, format, events?}), got a mapping"
            ),
            (
                "  - https://h.example/x\n",
                "gale.yaml:2: nimbus.webhooks: webhook 1 (line 3): expected a mapping with url or url.file and format, got a string"
            ),
        ]
        for (entry, expected) in cases {
            let message = error(entry)
            #expect(message == expected)
            #expect(!message.contains("secret"), "\(message)")
        }
        #expect(
            error("  - url: https://h.example/x\n    format: json\nnimbus.webhook.attempts: 0\n")
                == "gale.yaml:5: nimbus.webhook.attempts: 0 is out of range 1...100"
        )
        #expect(
            error("  - url: https://h.example/x\n    format: json\nnimbus.events.crash.loop.restarts: two\n")
                == "gale.yaml:5: nimbus.events.crash.loop.restarts: expected a whole number 1...10000, got 'two'"
        )
    }

    @Test func aURLFileIsASecretFileAndTheUIURLIsChecked() throws {
        let directory = NSTemporaryDirectory() + "webhook-config-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/hook"
        try "http://127.0.0.1:9000\(Self.secretPath)\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        func load(_ yaml: String) throws(ConfigError) -> NimbusEventOptions {
            var config = GaleConfig()
            for (name, entry) in try GaleConfig.parse(yaml: yaml, path: "gale.yaml") {
                try config.set(name, entry.value, source: entry.source)
            }
            return try config.nimbusEvents()
        }
        let options = try load("nimbus.webhooks:\n  - url.file: \(file)\n    format: json\n    name: pager\n")
        #expect(options.webhooks.first?.path == Self.secretPath)
        #expect(options.webhooks.first?.name == "pager")
        chmod(file, 0o644)
        #expect(throws: ConfigError.self) { try load("nimbus.webhooks:\n  - url.file: \(file)\n    format: json\n") }
        do {
            _ = try load("nimbus.webhooks:\n  - url.file: \(file)\n    format: json\n")
        } catch {
            #expect(
                error.description.hasPrefix(
                    "gale.yaml:1: nimbus.webhooks: webhook 1: url.file: \(file) is readable by other users"
                )
            )
        }
        do {
            _ = try load("nimbus.ui.url: gale.example.com\n")
            Issue.record("a URL without a scheme is refused")
        } catch {
            #expect(
                error.description == "gale.yaml:1: nimbus.ui.url: 'gale.example.com' is not an http:// or https:// URL"
            )
        }
        do {
            _ = try load(
                "nimbus.webhooks:\n  - url: https://h.example/x\n    format: json\n    ca.file: \(directory)/none.pem\n"
            )
            Issue.record("a missing CA file is refused")
        } catch {
            #expect(error.description.contains("webhook 1: ca.file: cannot read \(directory)/none.pem"))
        }
    }
}
