import Foundation
import GaleCoordination
import GaleDaemons
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Worker logs through nimbus from the supervisors that hold them (`GET
/// /api/v1/topologies/{name}/workers/{worker}/log`, `gale logs`), on a cluster with
/// authentication on.
@Suite(.serialized) struct WorkerLogTests {
    @Test func tailPagesAndSearchesThroughNimbusAndGaleLogs() async throws {
        let cluster = try ClusterHarness("logs")
        defer { cluster.tearDown() }
        try cluster.secure()
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1")
        try cluster.submit(workers: 2, messages: 10_000_000, rate: 50)
        try await cluster.waitForWorkers(2)
        let status = try cluster.status()
        let workers = status.workers.map { "\($0.host):\($0.port)" }.sorted()
        let admin = try #require(cluster.secrets["admin"])
        let http = HTTPClient(timeout: .seconds(30))

        func get(_ worker: String, _ query: String = "", topology: String? = nil) async throws -> HTTPResponse {
            try await http.send(
                "GET",
                address: cluster.nimbus,
                path: NimbusRoute.workerLog.path(topology ?? cluster.name, worker) + query,
                headers: [(name: "authorization", value: "Bearer \(admin)")]
            )
        }
        func chunk(_ worker: String, _ query: String = "") async throws -> NimbusAPI.LogChunk {
            let response = try await get(worker, query)
            #expect(response.status == 200, "\(response.errorMessage ?? "")")
            return try response.decodeJSON(NimbusAPI.LogChunk.self)
        }

        for worker in workers {
            // The tail: the worker's start is in it (its log is short so far).
            let tail = try await chunk(worker)
            #expect(tail.worker == worker)
            #expect(tail.file.hasSuffix("-\(worker.split(separator: ":").last ?? "").log"))
            #expect(tail.text.contains("worker started"), "\(tail.text)")
            #expect(tail.offset + tail.length == tail.size && tail.length == tail.text.utf8.count)
            #expect(tail.matches == nil)
            // Pages: two consecutive ranges make the range that spans both.
            let first = try await chunk(worker, "?offset=0&length=40")
            let second = try await chunk(worker, "?offset=40&length=25")
            let both = try await chunk(worker, "?offset=0&length=65")
            #expect(first.offset == 0 && first.length == 40 && second.offset == 40 && second.length == 25)
            #expect(both.text == first.text + second.text)
            let end = try await chunk(worker, "?offset=-10")
            #expect(end.offset == end.size - 10 && end.length == 10)
            // A search: each match is the line at its offset.
            let found = try await chunk(worker, "?grep=worker%20started")
            let matches = try #require(found.matches)
            #expect(!matches.isEmpty && found.text.isEmpty)
            // As a browser's URLSearchParams writes it (the web UI's search).
            #expect(try await chunk(worker, "?grep=worker+started").matches == matches)
            for match in matches {
                #expect(match.line.contains("worker started"))
                let line = try await chunk(worker, "?offset=\(match.offset)&length=\(match.line.utf8.count)")
                #expect(line.text == match.line)
            }
        }

        // Bad requests get a clear 4xx.
        let worker = workers[0]
        func refused(_ response: HTTPResponse, _ status: Int, _ words: String) {
            #expect(response.status == status, "\(response.status) \(response.errorMessage ?? "")")
            #expect(response.errorMessage?.contains(words) == true, "\(response.errorMessage ?? "")")
        }
        refused(try await get("nonsense"), 400, "is not a worker address")
        refused(try await get("127.0.0.1:1"), 404, "has no worker 127.0.0.1:1")
        refused(try await get(worker, topology: "no-such-topology"), 404, "unknown topology")
        refused(try await get(worker, "?length=0"), 400, "length")
        refused(try await get(worker, "?offset=x"), 400, "offset")
        refused(try await get(worker, "?grep="), 400, "grep")
        let anonymous = try await http.send(
            "GET",
            address: cluster.nimbus,
            path: NimbusRoute.workerLog.path(cluster.name, worker)
        )
        #expect(anonymous.status == 401)

        // The supervisor's own route: the cluster credential only, worker ids only.
        let supervisor = "127.0.0.1:\(try #require(cluster.httpPorts["s1"]))"
        let workerId = WorkerLaunchSpec.workerId(topologyId: status.id, port: status.workers[0].port)
        let direct = SupervisorDaemon.logPath(workerId: workerId)
        func supervisorGet(_ path: String, _ token: String?) async throws -> HTTPResponse {
            try await http.send(
                "GET",
                address: supervisor,
                path: path,
                headers: token.map { [(name: "authorization", value: "Bearer \($0)")] } ?? []
            )
        }
        let secret = try #require(cluster.secrets["cluster"])
        #expect(try await supervisorGet(direct, nil).status == 401)
        #expect(try await supervisorGet(direct, admin).status == 401, "a user's token is not the cluster credential")
        #expect(try await supervisorGet(direct, secret).status == 200)
        refused(try await supervisorGet("/api/v1/workers/%2E%2E/log", secret), 400, "is not a worker id")
        refused(try await supervisorGet("/api/v1/workers/.hidden/log", secret), 400, "is not a worker id")
        #expect(try await supervisorGet("/api/v1/workers/..%2F..%2Fetc%2Fpasswd/log", secret).status == 404)
        refused(try await supervisorGet("/api/v1/workers/nobody-1/log", secret), 404, "no log file")
    }

    @Test func galeLogsPrintsEveryWorkerAndFollowsNewLines() async throws {
        let cluster = try ClusterHarness("logs-cli")
        defer { cluster.tearDown() }
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1")
        try cluster.submit(workers: 2, messages: 10_000_000, rate: 50)
        try await cluster.waitForWorkers(2)
        let workers = try cluster.status().workers.map { "\($0.host):\($0.port)" }

        let grep = try cluster.cli(["logs", cluster.name, "--grep", "worker started"])
        #expect(grep.status == 0, "\(grep.output)")
        for worker in workers {
            #expect(
                grep.output.split(separator: "\n").contains {
                    $0.hasPrefix("[\(worker)] ") && $0.contains("worker started")
                },
                "\(grep.output)"
            )
        }
        let one = try cluster.cli(["logs", cluster.name, "--worker", workers[0]])
        #expect(one.status == 0, "\(one.output)")
        #expect(one.output.contains("[\(workers[0])] ") && !one.output.contains("[\(workers[1])] "), "\(one.output)")
        let unknown = try cluster.cli(["logs", cluster.name, "--worker", "127.0.0.1:1"])
        #expect(unknown.status != 0)
        #expect(unknown.output.contains("has no worker 127.0.0.1:1"), "\(unknown.output)")

        // --follow prints the end of each log, then what the workers write from now on:
        // deactivating the topology makes each worker log that its spouts stopped.
        let output = cluster.root + "/follow.log"
        let follow = try ClusterHarness.spawn(
            cluster.gale,
            ["logs", cluster.name, "--follow", "--grep", "spouts", "--nimbus", cluster.nimbus],
            log: output
        )
        cluster.extraPids.append(follow)
        defer {
            kill(follow, SIGTERM)
            ClusterHarness.reap(follow, grace: 5)
        }
        try await Task.sleep(for: .seconds(2))
        #expect(try cluster.cli(["deactivate", cluster.name]).status == 0)
        try await cluster.waitUntil("gale logs --follow prints each worker's deactivation", timeout: 30) {
            let lines = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n")
            return workers.allSatisfy { worker in
                lines.contains { $0.hasPrefix("[\(worker)] ") && $0.contains("spouts deactivated") }
            }
        }
        let lines = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.allSatisfy { $0.contains("spouts") }, "--grep keeps only the lines holding its text: \(lines)")
    }
}
