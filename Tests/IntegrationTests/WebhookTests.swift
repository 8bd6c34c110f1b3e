import Foundation
import GaleCoordination
import GaleDaemons
import GaleKafka
import GaleTestSupport
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A webhook receiver on loopback in the test process: records every request; answers each
/// path's requests as told (200, 500) or never (holds them until ``stop()``).
final class WebhookReceiver: Sendable {
    enum Mode: Sendable { case ok, fail, hang }

    struct Request: Sendable {
        var path: String
        var body: [UInt8]
        var at: ContinuousClock.Instant
        var answered: Bool
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        func string(_ key: String) -> String? { json[key] as? String }
    }

    final class Store: Sendable {
        let requests = Mutex<[Request]>([])
        let held = Mutex<[CheckedContinuation<Void, Never>]>([])
    }

    let modes: [String: Mode]
    private let store = Store()
    private let server: HTTPServer
    let port: Int

    /// Listens on 127.0.0.1 at a ``TestPorts`` port; `modes` by path (others: 200).
    init(_ modes: [String: Mode]) async throws {
        self.modes = modes
        let store = self.store
        let port = TestPorts.next()
        self.port = port
        server = HTTPServer(host: "127.0.0.1", port: port, logger: Logger(label: "webhook-receiver")) { request in
            let mode = modes[request.path] ?? .ok
            let index = store.requests.withLock { r in
                r.append(Request(path: request.path, body: request.body, at: .now, answered: mode != .hang))
                return r.count - 1
            }
            switch mode {
            case .ok: return .json(["ok": true])
            case .fail: return .error(500, "the receiver fails on purpose")
            case .hang:
                await withCheckedContinuation { continuation in store.held.withLock { $0.append(continuation) } }
                store.requests.withLock { $0[index].answered = true }
                return .error(503, "released")
            }
        }
        _ = try await server.start()
    }

    /// The requests to `path` so far.
    func received(_ path: String) -> [Request] { store.requests.withLock { $0.filter { $0.path == path } } }

    /// Requests to `path` held unanswered now.
    func pending(_ path: String) -> Int { received(path).filter { !$0.answered }.count }

    /// Answers the held requests and stops listening.
    func stop() async {
        for continuation in store.held.withLock({ h in
            defer { h.removeAll() }
            return h
        }) {
            continuation.resume()
        }
        await server.stop()
    }
}

/// Nimbus posts events to webhooks (docs/webhooks.md): real clusters, a receiver on loopback.
@Suite(.serialized) struct WebhookTests {
    /// Writes `yaml` as the harness's `gale.yaml` (nimbus, supervisors and the CLI read it).
    static func configure(_ cluster: ClusterHarness, _ yaml: String) throws {
        let path = cluster.root + "/gale.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        cluster.securityConfig = path
    }

    /// The JSON events `receiver` got at `path` of `type` (and `state`), for this cluster's topology.
    static func events(
        _ receiver: WebhookReceiver,
        _ path: String,
        _ type: String,
        state: String? = nil
    ) -> [WebhookReceiver.Request] {
        receiver.received(path).filter { $0.string("event") == type && (state == nil || $0.string("state") == state) }
    }

    @Test func aCrashLoopAndItsResolutionArriveAsDocumented() async throws {
        let receiver = try await WebhookReceiver([:])
        let cluster = try ClusterHarness("webhook-crash")
        defer { cluster.tearDown() }
        let secret = "hook-\(UUID().uuidString)"
        try Self.configure(
            cluster,
            """
            nimbus.ui.url: http://gale-ui.example:9999/
            nimbus.webhooks:
              - name: everything
                url: http://127.0.0.1:\(receiver.port)/json/\(secret)
                format: json
              - name: chat
                url: http://127.0.0.1:\(receiver.port)/slack/\(secret)
                format: slack
                events: [worker-crash-loop]
            nimbus.events.crash.loop.restarts: 3
            nimbus.events.crash.loop.window.secs: 30

            """
        )
        let json = "/json/\(secret)"
        let slack = "/slack/\(secret)"
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1", slots: 1)
        try cluster.submit(workers: 1, messages: 1_000_000, rate: 10)
        try await cluster.waitUntil("the submission is posted", timeout: 30) {
            !Self.events(receiver, json, "topology-submitted").isEmpty
        }
        let submitted = try #require(Self.events(receiver, json, "topology-submitted").first)
        #expect(submitted.string("topology") == cluster.name)
        #expect(submitted.string("severity") == "info" && submitted.string("state") == "firing")
        #expect(submitted.string("url") == "http://gale-ui.example:9999/#/topology/\(cluster.name)")
        try await cluster.waitForWorkers(1)

        // Three crashes within the window: a crash loop.
        var pid = try #require(try cluster.status().workers.first?.pid)
        let worker = try #require(try cluster.status().workers.first.map { "\($0.host):\($0.port)" })
        let killedAt = Date().timeIntervalSince1970
        for crash in 1...3 {
            #expect(kill(pid, SIGKILL) == 0)
            try await cluster.waitUntil("worker restart \(crash) runs", timeout: 30) {
                guard let row = try cluster.status().workers.first, let next = row.pid else { return false }
                return next != pid && row.state == "running" && row.restarts == crash
            }
            pid = try #require(try cluster.status().workers.first?.pid)
        }
        try await cluster.waitUntil("the crash loop is posted", timeout: 30) {
            !Self.events(receiver, json, "worker-crash-loop", state: "firing").isEmpty
        }
        let firing = try #require(Self.events(receiver, json, "worker-crash-loop", state: "firing").first)
        let event = firing.json
        #expect(event["v"] as? Int == 1)
        #expect(event["severity"] as? String == "critical")
        #expect(event["topology"] as? String == cluster.name)
        #expect((event["topologyId"] as? String)?.hasPrefix(cluster.name + "-") == true)
        #expect(event["worker"] as? String == worker)
        #expect(event["supervisor"] as? String == "s1")
        #expect(event["url"] as? String == "http://gale-ui.example:9999/#/topology/\(cluster.name)")
        let since = try #require(event["since"] as? Double)
        #expect(since >= killedAt.rounded(.down) - 1 && since <= (event["time"] as? Double ?? 0))
        let message = try #require(event["message"] as? String)
        #expect(
            message.hasPrefix("worker \(worker) of \(cluster.name) restarted 3 times in the last 30 s"),
            "\(message)"
        )
        let key = try #require(event["key"] as? String)
        // The chat webhook takes crash loops only, in Slack's form.
        try await cluster.waitUntil("the chat webhook has it", timeout: 30) { !receiver.received(slack).isEmpty }
        let chat = try #require(receiver.received(slack).first)
        #expect(
            chat.string("text")?.hasPrefix(":rotating_light: *Firing: Worker in a crash loop (\(cluster.name))*")
                == true
        )
        #expect((chat.json["attachments"] as? [Any])?.count == 1)

        // A whole window without a restart: resolved, once, with the same key and since.
        try await cluster.waitUntil("the resolution is posted", timeout: 60) {
            !Self.events(receiver, json, "worker-crash-loop", state: "resolved").isEmpty
        }
        let resolved = try #require(Self.events(receiver, json, "worker-crash-loop", state: "resolved").first)
        #expect(resolved.string("key") == key)
        #expect(resolved.json["since"] as? Double == since)
        #expect(
            resolved.string("message")?.hasPrefix("worker \(worker) of \(cluster.name) has not restarted for 30 s")
                == true
        )
        #expect(
            Self.events(receiver, json, "worker-crash-loop", state: "firing").count == 1,
            "rate limited: one firing"
        )
        try await cluster.waitUntil("the chat webhook has the resolution", timeout: 30) {
            receiver.received(slack).count == 2
        }
        #expect(receiver.received(slack).last?.string("text")?.hasPrefix(":white_check_mark: *Resolved: ") == true)

        #expect(try cluster.cli(["kill", cluster.name, "--wait", "0"]).status == 0)
        try await cluster.waitUntil("the kill is posted", timeout: 30) {
            !Self.events(receiver, json, "topology-killed").isEmpty
        }
        #expect(receiver.received(slack).count == 2, "the chat webhook's filter keeps notices out")
        let log = (try? String(contentsOfFile: cluster.root + "/nimbus.log", encoding: .utf8)) ?? ""
        #expect(log.contains("posting events to everything (json, http://127.0.0.1:\(receiver.port)/…)"), "\(log)")
        #expect(!log.contains(secret), "the webhook URLs are secrets: never logged")
        await receiver.stop()
    }

    @Test func aKafkaPartitionThatDoesNotCommitIsStuckUntilItCommits() async throws {
        let brokers = try TestServices.resolve().kafka
        let receiver = try await WebhookReceiver([:])
        let cluster = try ClusterHarness("webhook-stuck")
        defer { cluster.tearDown() }
        let topic = "webhook-stuck-\(UUID().uuidString.prefix(8))"
        let admin = try KafkaAdmin(config: KafkaConfig(bootstrapServers: [brokers]))
        try admin.createTopic(topic, partitions: 1)
        let file = cluster.root + "/records.txt"
        try "a\nhold\nb\nc\nd\n".write(toFile: file, atomically: true, encoding: .utf8)
        let produced = try ClusterHarness.run(
            "/usr/bin/kcat",
            ["-P", "-b", brokers, "-t", topic, "-p", "0", "-l", file]
        )
        #expect(produced.status == 0, "\(produced.output)")
        // The bolt fails the record `hold` while this file exists.
        FileManager.default.createFile(atPath: cluster.output + "/hold", contents: Data())
        try Self.configure(
            cluster,
            """
            nimbus.webhooks:
              - url: http://127.0.0.1:\(receiver.port)/events
                format: json
                events: [partition-stuck]
            nimbus.events.partition.stuck.secs: 6

            """
        )
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1", slots: 1)
        let submitted = try cluster.cli(
            [
                "submit", cluster.topologyBinary, "--name", cluster.name, "--workers", "1", "--config",
                "test.mode=kafka-hold", "--config", "test.brokers=\(brokers)", "--config", "test.topic=\(topic)",
                "--config", "test.output=\(cluster.output)",
            ]
        )
        #expect(submitted.status == 0, "\(submitted.output)")
        try await cluster.waitUntil("the stuck partition is posted", timeout: 90) {
            !Self.events(receiver, "/events", "partition-stuck", state: "firing").isEmpty
        }
        let firing = try #require(Self.events(receiver, "/events", "partition-stuck", state: "firing").first).json
        #expect(firing["severity"] as? String == "warning")
        #expect(firing["topology"] as? String == cluster.name)
        #expect(firing["component"] as? String == "records")
        #expect(firing["topic"] as? String == topic && firing["partition"] as? Int == 0)
        #expect(
            firing["key"] as? String == "partition-stuck/\(firing["topologyId"] as? String ?? "?")/records/\(topic)/0"
        )
        let message = try #require(firing["message"] as? String)
        #expect(message.hasPrefix("partition \(topic)/0 of \(cluster.name) (spout records, task "), "\(message)")
        #expect(message.contains("at offset 1: waiting for offset 1"), "\(message)")
        let since = try #require(firing["since"] as? Double)
        #expect(since <= (firing["time"] as? Double ?? 0) - 6)

        // Let the record through: the partition commits and catches up.
        try FileManager.default.removeItem(atPath: cluster.output + "/hold")
        try await cluster.waitUntil("the resolution is posted", timeout: 60) {
            !Self.events(receiver, "/events", "partition-stuck", state: "resolved").isEmpty
        }
        let resolved = try #require(Self.events(receiver, "/events", "partition-stuck", state: "resolved").first).json
        #expect(resolved["key"] as? String == firing["key"] as? String)
        #expect(resolved["since"] as? Double == since)
        #expect(
            (resolved["message"] as? String)?.hasPrefix("partition \(topic)/0 of \(cluster.name) caught up (lag 0)")
                == true,
            "\(resolved["message"] ?? "")"
        )
        #expect(Self.events(receiver, "/events", "partition-stuck", state: "firing").count == 1)
        await receiver.stop()
    }

    /// Latencies of `count` API calls to nimbus, in milliseconds, each checked.
    static func apiLatencies(_ cluster: ClusterHarness, count: Int) async throws -> [Double] {
        let client = HTTPClient(timeout: .seconds(60))
        var result: [Double] = []
        for i in 0..<count {
            let path = i % 2 == 0 ? "/api/v1/topologies" : "/api/v1/topologies/\(cluster.name)"
            let start = ContinuousClock.now
            let response = try await client.get(address: cluster.nimbus, path: path)
            let elapsed = ContinuousClock.now - start
            #expect(response.status == 200, "\(path): \(response.status)")
            result.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
        return result
    }

    static func percentiles(_ values: [Double]) -> String {
        let sorted = values.sorted()
        func p(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        return String(
            format: "p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms",
            p(0.5),
            p(0.9),
            p(0.99),
            sorted.last ?? 0
        )
    }

    @Test func aHangingOrFailingWebhookNeverHoldsUpTheAPIOrTheScheduler() async throws {
        let receiver = try await WebhookReceiver(["/hang": .hang, "/fail": .fail])
        let cluster = try ClusterHarness("webhook-hang")
        defer { cluster.tearDown() }
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1", slots: 2)
        try cluster.submit(workers: 1, messages: 1_000_000, rate: 10)
        try await cluster.waitForWorkers(1)
        // Without webhooks.
        let without = try await Self.apiLatencies(cluster, count: 200)

        // The same cluster, nimbus restarted with a webhook that never answers and one that fails.
        kill(cluster.nimbusPid, SIGTERM)
        #expect(cluster.reap(cluster.nimbusPid, grace: 30) != nil)
        // Far longer than anything below takes: the delivery stays in flight throughout.
        let deadline = 300
        try Self.configure(
            cluster,
            """
            nimbus.webhooks:
              - name: hangs
                url: http://127.0.0.1:\(receiver.port)/hang
                format: json
              - name: fails
                url: http://127.0.0.1:\(receiver.port)/fail
                format: json
            nimbus.webhook.timeout.secs: \(deadline)
            nimbus.webhook.attempts: 3

            """
        )
        try await cluster.startNimbus(port: cluster.nimbusPort)
        // The new leader's first pass is its baseline; a rebalance after it is an event.
        try await cluster.waitUntil("the new leader watches for events", timeout: 30) {
            let log = (try? String(contentsOfFile: cluster.root + "/nimbus.log", encoding: .utf8)) ?? ""
            return log.contains("events: watching 1 topology")
        }
        #expect(try cluster.cli(["rebalance", cluster.name, "--workers", "2"]).status == 0)
        try await cluster.waitUntil("a delivery hangs at the receiver", timeout: 30) { receiver.pending("/hang") == 1 }
        let hangStart = ContinuousClock.now

        // While that request is in flight (received, unanswered), the scheduler acts: the
        // rebalance's second worker is assigned and runs...
        try await cluster.waitUntil("the rebalance is carried out", timeout: 30) {
            let status = try cluster.status()
            return status.workers.count == 2 && status.workers.allSatisfy { $0.state == "running" }
        }
        // ... and the API answers.
        let during = try await Self.apiLatencies(cluster, count: 200)
        let elapsed = ContinuousClock.now - hangStart
        #expect(receiver.pending("/hang") == 1, "the delivery was in flight all along")
        #expect(receiver.received("/hang").count == 1, "no second attempt started: its deadline has not passed")
        #expect(elapsed < .seconds(deadline), "everything above happened within the webhook's deadline")
        #expect(during.allSatisfy { $0 < Double(deadline) * 1000 }, "no API call waited for the webhook")
        print("API latency without webhooks: \(Self.percentiles(without))")
        print("API latency while a webhook hangs: \(Self.percentiles(during))")

        // The failing webhook: 3 attempts per event, 1 s then 2 s apart at least, then dropped.
        try await cluster.waitUntil("the rebalance notice is given up on after 3 attempts", timeout: 60) {
            let log = (try? String(contentsOfFile: cluster.root + "/nimbus.log", encoding: .utf8)) ?? ""
            return log.contains(
                "webhook fails (http://127.0.0.1:\(receiver.port)/…): answered HTTP 500; dropped topology-rebalanced"
            )
        }
        let attempts = receiver.received("/fail").filter { $0.string("event") == "topology-rebalanced" }
        #expect(attempts.count == 3)
        #expect(Set(attempts.compactMap { $0.string("key") }).count == 1, "the same event each time")
        if attempts.count == 3 {
            #expect(attempts[1].at - attempts[0].at >= .seconds(1))
            #expect(attempts[2].at - attempts[1].at >= .seconds(2))
        }
        await receiver.stop()
    }
}
