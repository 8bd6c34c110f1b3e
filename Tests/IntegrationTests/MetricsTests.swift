import Foundation
import GaleCoordination
import GaleDaemons
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `/metrics` pages of nimbus and of a supervisor on a real cluster, read by
/// `prometheus_client`'s text parser (a client Gale did not write; installed by scripts/bootstrap
/// into `.deps/venv`).
@Suite(.serialized) struct MetricsTests {
    /// One family as `prometheus_client` read it.
    struct Family: Decodable {
        struct Sample: Decodable {
            var name: String
            var labels: [String: String]
            var value: Double
        }

        var type: String
        var samples: [Sample]
    }

    static var python: String {
        let deps =
            ProcessInfo.processInfo.environment["GALE_DEPS_DIR"]
            ?? TestServices.repositoryRoot.appendingPathComponent(".deps").path
        return "\(deps)/venv/bin/python"
    }

    static let parser = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        families = {}
        with open(sys.argv[1]) as f:
            for family in text_string_to_metric_families(f.read()):
                entry = families.setdefault(family.name, {"type": family.type, "samples": []})
                for s in family.samples:
                    entry["samples"].append({"name": s.name, "labels": s.labels, "value": s.value})
        print(json.dumps(families))
        """

    /// `text` read by `prometheus_client`, by family name; fails when it cannot read it.
    static func parse(_ text: String, in directory: String) throws -> [String: Family] {
        let file = "\(directory)/scrape-\(UUID().uuidString).txt"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try ClusterHarness.run(python, ["-c", parser, file])
        guard result.status == 0, let json = result.output.split(separator: "\n").last else {
            throw SmokeTestFailure("prometheus_client cannot read \(file): \(result.output)")
        }
        return try JSONDecoder().decode([String: Family].self, from: Data(json.utf8))
    }

    /// Every family has exactly one `# TYPE` line, and at most one `# HELP` line.
    static func oneTypeLinePerFamily(_ text: String) -> Bool {
        var types: [Substring: Int] = [:]
        var helps: [Substring: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if line.hasPrefix("# TYPE "), parts.count > 2 { types[parts[2], default: 0] += 1 }
            if line.hasPrefix("# HELP "), parts.count > 2 { helps[parts[2], default: 0] += 1 }
        }
        return !types.isEmpty && types.values.allSatisfy { $0 == 1 } && helps.values.allSatisfy { $0 == 1 }
    }

    static func get(_ address: String, _ path: String, token: String? = nil) async throws -> HTTPResponse {
        try await HTTPClient(timeout: .seconds(30)).send(
            "GET",
            address: address,
            path: path,
            headers: token.map { [(name: "authorization", value: "Bearer \($0)")] } ?? []
        )
    }

    /// The samples named `name` of every family.
    static func samples(_ families: [String: Family], _ name: String) -> [Family.Sample] {
        families.values.flatMap(\.samples).filter { $0.name == name }
    }

    @Test func nimbusAndSupervisorPagesParseAndShowARunningTopologyAndItsOwnCounters() async throws {
        let cluster = try ClusterHarness("metrics")
        defer { cluster.tearDown() }
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1")
        try cluster.submit(workers: 2, messages: 10_000_000, rate: 200)
        try await cluster.waitForWorkers(2)
        let status = try cluster.status()
        let supervisor = "127.0.0.1:\(try #require(cluster.httpPorts["s1"]))"

        // The supervisor's page: every family once, readable by prometheus_client.
        func scrape() async throws -> (text: String, families: [String: Family]) {
            let response = try await Self.get(supervisor, "/metrics")
            #expect(response.status == 200)
            let type = response.headers.first { $0.name.lowercased() == "content-type" }?.value
            #expect(type?.hasPrefix("text/plain; version=0.0.4") == true, "\(type ?? "no content-type")")
            let text = String(decoding: response.body, as: UTF8.self)
            return (text, try Self.parse(text, in: cluster.root))
        }
        func acked(_ families: [String: Family]) -> Double {
            Self.samples(families, "gale_task_acked_total").filter { $0.labels["component"] == "sentences" }
                .reduce(0) { $0 + $1.value }
        }
        var first: (text: String, families: [String: Family])?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let page = try await scrape()
            if acked(page.families) > 0 && !Self.samples(page.families, "test_words_total").isEmpty {
                first = page
                break
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        let page = try #require(first, "the supervisor's page never showed acked trees and the bolt's own counter")
        #expect(Self.oneTypeLinePerFamily(page.text), "\(page.text)")
        #expect(page.families["gale_task_acked"]?.type == "counter")
        #expect(page.families["gale_task_complete_latency_seconds"]?.type == "histogram")
        #expect(page.families["gale_supervisor_slots"]?.samples.first?.value == 2)

        // Both workers: each with its pid, its memory read from /proc, its tasks.
        let pids = Set(status.workers.compactMap(\.pid).map(String.init))
        #expect(pids.count == 2)
        let memory = Self.samples(page.families, "gale_worker_resident_memory_bytes")
        #expect(Set(memory.compactMap { $0.labels["pid"] }) == pids)
        #expect(memory.allSatisfy { $0.value > 0 && $0.labels["topology"] == status.id })
        let workers = Set(status.workers.map { "\($0.host):\($0.port)" })
        #expect(Set(memory.compactMap { $0.labels["worker"] }) == workers)

        // The components' own counters: the Gale API's and a swift-metrics Counter the bolt
        // makes itself, both labelled with their worker and pid.
        let own = Self.samples(page.families, "test_words_total")
        #expect(!own.isEmpty)
        for sample in own {
            #expect(sample.labels["component"] == "count", "\(sample)")
            #expect(sample.labels["task"] != nil && workers.contains(sample.labels["worker"] ?? ""), "\(sample)")
            #expect(pids.contains(sample.labels["pid"] ?? ""), "\(sample)")
        }
        #expect(!Self.samples(page.families, "test_direct_words_total").isEmpty, "\(page.text)")

        // Per stream: the spout's trees by the stream they are rooted on; the bolts' inputs.
        let streamAcked = Self.samples(page.families, "gale_stream_acked_total")
        #expect(
            streamAcked.contains {
                $0.labels["component"] == "sentences" && $0.labels["stream"] == "default" && $0.labels["from"] == nil
            },
            "\(streamAcked)"
        )
        #expect(
            Self.samples(page.families, "gale_stream_executed_total").contains {
                $0.labels["component"] == "split" && $0.labels["from"] == "sentences" && $0.value > 0
            }
        )

        // The acked counter of the running topology goes up between two scrapes.
        let before = acked(page.families)
        var after = before
        while Date() < deadline.addingTimeInterval(30) && after <= before {
            try await Task.sleep(for: .milliseconds(500))
            after = acked(try await scrape().families)
        }
        #expect(after > before, "acked trees: \(before) then \(after)")

        // Nimbus's page (read access: the cluster is open), by swift-prometheus too.
        let response = try await Self.get(cluster.nimbus, "/metrics")
        #expect(response.status == 200)
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(Self.oneTypeLinePerFamily(text), "\(text)")
        let nimbus = try Self.parse(text, in: cluster.root)
        #expect(nimbus["gale_nimbus_leader"]?.samples.first?.value == 1)
        #expect(nimbus["gale_nimbus_submissions"]?.type == "counter")
        try await cluster.waitUntil("nimbus counts the topology's acked trees", timeout: 30) {
            let response = try ClusterHarness.run("/usr/bin/curl", ["-sS", "http://\(cluster.nimbus)/metrics"])
            return response.output.contains("gale_topology_acked_total{topology=\"\(status.id)\"}")
        }

        // The supervisor serves nothing else.
        #expect(try await Self.get(supervisor, "/nothing").status == 404)
        #expect(
            try await HTTPClient(timeout: .seconds(30)).send("POST", address: supervisor, path: "/metrics").status
                == 405
        )
    }
}
