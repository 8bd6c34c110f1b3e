import Foundation
import GaleDaemons
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `gale.yaml` read by the real `gale` processes: a bad file stops a daemon at start with one
/// line, and a nimbus and a supervisor started from one file run a topology.
@Suite(.serialized) struct ConfigFileTests {
    /// `gale ARGUMENTS` without the environment variables that would override the file
    /// (`make test` exports GALE_ZOOKEEPER), plus `environment`.
    static func gale(_ arguments: [String], environment: [String] = []) throws -> [String] {
        let binary = try ClusterHarness.locateBinaries() + "/gale"
        return ["-u", "GALE_ZOOKEEPER", "-u", "GALE_NIMBUS", "-u", "GALE_CONFIG", "-u", "GALE_LOG_LEVEL"]
            + environment + [binary] + arguments
    }

    @Test func aMisspelledKeyOrAPortOutOfRangeStopsTheDaemonWithOneLineNamingFileLineAndKey() throws {
        let dir = NSTemporaryDirectory() + "gale-config-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let misspelled = dir + "/misspelled.yaml"
        try "zookeeper.servers: [\"127.0.0.1:2181\"]\nlocal.dir: \(dir)\n\nnimbus.prot: 8080\n".write(
            toFile: misspelled,
            atomically: true,
            encoding: .utf8
        )
        let outOfRange = dir + "/range.yaml"
        try "zookeeper.servers: [\"127.0.0.1:2181\"]\nnimbus.port: 70000\nlocal.dir: \(dir)\n".write(
            toFile: outOfRange,
            atomically: true,
            encoding: .utf8
        )
        let cases: [(arguments: [String], environment: [String], line: String)] = [
            (
                ["nimbus", "--config-file", misspelled], [],
                "\(misspelled):4: unknown key 'nimbus.prot' (did you mean 'nimbus.port'?)"
            ),
            (
                ["nimbus", "--config-file", outOfRange], [],
                "\(outOfRange):2: nimbus.port: 70000 is out of range 0...65535"
            ),
            // The supervisor and the client commands read the same file, here named by GALE_CONFIG;
            // flags do not excuse a bad file.
            (
                ["supervisor", "--zookeeper", "127.0.0.1:2181"], ["GALE_CONFIG=\(outOfRange)"],
                "\(outOfRange):2: nimbus.port: 70000 is out of range 0...65535"
            ),
            (
                ["list", "--nimbus", "127.0.0.1:1"], ["GALE_CONFIG=\(misspelled)"],
                "\(misspelled):4: unknown key 'nimbus.prot' (did you mean 'nimbus.port'?)"
            ),
            (["nimbus", "--config-file", dir + "/none.yaml"], [], "\(dir)/none.yaml: no such configuration file"),
        ]
        for (arguments, environment, expected) in cases {
            let result = try ClusterHarness.run(
                "/usr/bin/env",
                try Self.gale(arguments, environment: environment),
                timeout: 30
            )
            let lines = result.output.split(separator: "\n")
            #expect(result.status == 1, "\(arguments): \(result.output)")
            #expect(lines.count == 1, "one line: \(result.output)")
            #expect(lines.first?.contains(expected) == true, "\(arguments): \(result.output)")
        }
    }

    @Test func aNimbusAndASupervisorStartedFromOneFileRunATopologyAndConfigShowTellsTheSources() async throws {
        let cluster = try ClusterHarness("config")
        defer { cluster.tearDown() }
        cluster.nimbusPort = ClusterHarness.freePort()
        let slots = [ClusterHarness.freePort(), ClusterHarness.freePort()]
        let zooKeeper = cluster.zooKeeper.split(separator: ":")
        let file = cluster.root + "/gale.yaml"
        // Storm's names for ZooKeeper and the data directories; seeds without a port get nimbus.port.
        try """
        storm.zookeeper.servers: ["\(zooKeeper[0])"]
        storm.zookeeper.port: \(zooKeeper[1])
        storm.local.dir: \(cluster.root)/local
        zookeeper.session.timeout.secs: 4
        nimbus:
          port: \(cluster.nimbusPort)
        nimbus.seeds: [127.0.0.1]
        supervisor.slots.ports: [\(slots[0]), \(slots[1])]
        supervisor.id: s1
        \(ClusterHarness.workerUser.map { "supervisor.worker.user: \($0)\n" } ?? "")supervisor.worker.env:
          GALE_CONFIG_TEST_MARK: from-gale-yaml
        """.write(toFile: file, atomically: true, encoding: .utf8)

        cluster.nimbusPid = try ClusterHarness.spawn(
            "/usr/bin/env",
            try Self.gale(["nimbus", "--config-file", file]),
            log: cluster.root + "/nimbus.log"
        )
        let supervisorPid = try ClusterHarness.spawn(
            "/usr/bin/env",
            try Self.gale(["supervisor"], environment: ["GALE_CONFIG=\(file)"]),
            log: cluster.root + "/s1.log"
        )
        cluster.supervisors.append(("s1", supervisorPid, slots, cluster.root + "/local/supervisor"))
        func client(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try ClusterHarness.run("/usr/bin/env", try Self.gale(arguments + ["--config-file", file]))
        }
        try await cluster.waitUntil("the supervisor is registered with nimbus", timeout: 40) {
            try client(["supervisors", "--json"]).output.contains("\"s1\"")
        }
        let messages = 20
        let submitted = try client([
            "submit", cluster.topologyBinary, "--name", cluster.name, "--workers", "1", "--config",
            "test.messages=\(messages)", "--config", "test.rate=0", "--config", "test.output=\(cluster.output)",
        ])
        #expect(submitted.status == 0, "\(submitted.output)")
        try await cluster.waitUntil("every message is acked", timeout: 120) {
            ClusterTests.allAcked(cluster, messages)
        }
        // The worker got the file's environment variable.
        let worker = try #require(cluster.workerPids().first)
        let environ = FileManager.default.contents(atPath: "/proc/\(worker)/environ") ?? Data()
        #expect(environ.split(separator: 0).contains(Data("GALE_CONFIG_TEST_MARK=from-gale-yaml".utf8)))
        if let user = ClusterHarness.workerUser {
            // ... and runs as the file's supervisor.worker.user.
            let uid = WorkerUser.lookUp(user)?.uid ?? 0
            #expect(WorkerUserTests.status(worker)["Uid"] == "\(uid)\t\(uid)\t\(uid)\t\(uid)")
        }
        #expect(FileManager.default.fileExists(atPath: cluster.root + "/local/nimbus"))
        #expect(FileManager.default.fileExists(atPath: cluster.root + "/local/supervisor"))

        // Each value with its source: the file's line, an environment variable, a default, and the
        // data directories derived from storm.local.dir.
        let shown = try ClusterHarness.run(
            "/usr/bin/env",
            try Self.gale(["config", "show", "--config-file", file], environment: ["GALE_LOG_LEVEL=debug"])
        )
        #expect(shown.status == 0, "\(shown.output)")
        let rows = Dictionary(
            shown.output.split(separator: "\n").dropFirst(2).map { line in
                let cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                return (cells[0], cells.dropFirst().joined(separator: " "))
            },
            uniquingKeysWith: { a, _ in a }
        )
        #expect(shown.output.hasPrefix("# configuration file: \(file)\n"), "\(shown.output)")
        #expect(rows["zookeeper.servers"] == "[\(zooKeeper[0])] \(file):1", "\(shown.output)")
        #expect(rows["nimbus.port"] == "\(cluster.nimbusPort) \(file):6", "\(shown.output)")
        #expect(rows["log.level"] == "debug env GALE_LOG_LEVEL", "\(shown.output)")
        #expect(rows["client.timeout.secs"] == "30 default", "\(shown.output)")
        #expect(rows["nimbus.data.dir"] == "\(cluster.root)/local/nimbus local.dir, \(file):3", "\(shown.output)")
        let json = try ClusterHarness.run(
            "/usr/bin/env",
            try Self.gale(["config", "show", "--json"], environment: ["GALE_CONFIG=\(file)"])
        )
        struct Shown: Decodable {
            struct Row: Decodable {
                var key: String
                var source: String
            }
            var file: String?
            var keys: [Row]
        }
        #expect(json.status == 0, "\(json.output)")
        let decoded = try JSONDecoder().decode(Shown.self, from: Data(json.output.utf8))
        #expect(decoded.file == file)
        #expect(decoded.keys.first { $0.key == "zookeeper.session.timeout.secs" }?.source == "\(file):4")
        #expect(decoded.keys.map(\.key) == GaleConfigSchema.keys.map(\.name), "every key, in the schema's order")

        #expect(try client(["kill", cluster.name, "--wait", "0"]).status == 0)
        try await cluster.waitUntil("every worker process is gone", timeout: 30) { cluster.workerPids().isEmpty }
    }
}
