import Foundation
import Testing

/// `deploy/local-cluster`: ZooKeeper, nimbus and two supervisors on this machine, a topology run
/// on them, and nothing left once it is stopped.
@Suite(.serialized, .timeLimit(.minutes(5))) struct LocalClusterScriptTests {
    /// The processes whose command line mentions `directory`.
    static func processes(under directory: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> String? in
            guard Int32(entry) != nil, let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8), !stat.contains(") Z ")
            else { return nil }
            let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return line.contains(directory) ? "\(entry): \(line)" : nil
        }
    }

    @Test func startRunsATopologyOnTwoSupervisorsAndStopLeavesNoProcess() async throws {
        let binaries = try ClusterHarness.locateBinaries()
        let directory = NSTemporaryDirectory() + "gale-local-cluster-\(UUID().uuidString.prefix(8))"
        let script = TestServices.repositoryRoot.appendingPathComponent("deploy/local-cluster").path
        let port = ClusterHarness.freePort()
        let environment = [
            "GALE_LOCAL_CLUSTER_DIR=\(directory)", "GALE_BIN_DIR=\(binaries)", "GALE_NIMBUS_PORT=\(port)",
        ]
        defer {
            _ = try? ClusterHarness.run("/usr/bin/env", environment + [script, "stop"])
            try? FileManager.default.removeItem(atPath: directory)
        }
        let started = try ClusterHarness.run("/usr/bin/env", environment + [script, "start"])
        #expect(started.status == 0, "\(started.output)")
        #expect(started.output.contains("export GALE_NIMBUS=127.0.0.1:\(port)"), "\(started.output)")
        #expect(started.output.contains("export GALE_CONFIG=\(directory)/gale.yaml"), "\(started.output)")
        // The CLI finds nimbus from the cluster's gale.yaml alone.
        let supervisors = try ClusterHarness.run(
            "/usr/bin/env",
            ["GALE_CONFIG=\(directory)/gale.yaml", "GALE_NIMBUS=", binaries + "/gale", "supervisors"]
        )
        #expect(supervisors.output.contains("local-1") && supervisors.output.contains("local-2"))

        let output = directory + "/ledger"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        ClusterHarness.shareWithWorkers(output)
        let messages = 500
        let submitAt = Date()
        let submitted = try ClusterHarness.run(
            binaries + "/gale",
            [
                "submit", binaries + "/gale-test-topology", "--name", "local-wc", "--workers", "2", "--nimbus",
                "127.0.0.1:\(port)", "--config", "test.messages=\(messages)", "--config", "test.rate=0",
                "--config", "test.output=\(output)",
            ]
        )
        #expect(submitted.status == 0, "\(submitted.output)")
        var firstAck: Double?
        let deadline = Date().addingTimeInterval(120)
        var acked = Set<Int>()
        while acked.count < messages, Date() < deadline {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
            where file.hasPrefix("acked-") {
                let text = (try? String(contentsOfFile: "\(output)/\(file)", encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n") { if let id = Int(line) { acked.insert(id) } }
            }
            if firstAck == nil, !acked.isEmpty { firstAck = Date().timeIntervalSince(submitAt) }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(acked == Set(0..<messages), "missing ids: \(Set(0..<messages).subtracting(acked).sorted().prefix(20))")
        print("local-cluster: first ack \(String(format: "%.2f", firstAck ?? -1)) s after submit (debug build)")

        let stopped = try ClusterHarness.run("/usr/bin/env", environment + [script, "stop"])
        #expect(stopped.status == 0, "\(stopped.output)")
        #expect(Self.processes(under: directory).isEmpty, "\(Self.processes(under: directory))")
    }
}
