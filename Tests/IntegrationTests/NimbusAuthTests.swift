import Foundation
import Gale
import GaleCoordination
import GaleDaemons
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Nimbus with authentication on: every route of the API against every kind of caller gives
/// the status docs/security.md documents, and a refused call changes nothing.
@Suite(.serialized) struct NimbusAuthTests {
    enum Caller: String, CaseIterable {
        case none, wrong, viewer, alice, bob, admin, cluster
    }

    /// One call of the matrix: a route with arguments and a body.
    struct Call {
        var route: NimbusRoute
        var path: String
        var body: [UInt8] = []
        /// The expected status for callers that pass the access check.
        var allowedStatus: Int
    }

    @Test func everyRouteGivesEachCallerItsDocumentedStatusAndRefusalsChangeNothing() async throws {
        let cluster = try ClusterHarness("auth")
        defer { cluster.tearDown() }
        try cluster.secure()
        try await cluster.startNimbus()
        let address = cluster.nimbus
        // alice (a submitter) submits the topology the manage routes act on.
        let aliceToken = cluster.root + "/alice-token"
        try (cluster.secrets["alice"] ?? "").write(toFile: aliceToken, atomically: true, encoding: .utf8)
        chmod(aliceToken, 0o600)
        let aliceConfig = cluster.root + "/alice.yaml"
        try "client.token.file: \(aliceToken)\n".write(toFile: aliceConfig, atomically: true, encoding: .utf8)
        let submitted = try ClusterHarness.run(
            cluster.gale,
            [
                "submit", cluster.topologyBinary, "--name", cluster.name, "--nimbus", address, "--config-file",
                aliceConfig,
            ]
        )
        #expect(submitted.status == 0, "\(submitted.output)")
        let status = try cluster.status()
        let digest = status.binaryDigest

        let http = HTTPClient(timeout: .seconds(30))
        func send(_ call: Call, as caller: Caller) async throws -> Int {
            var headers: [(name: String, value: String)] = [(name: "content-type", value: "application/json")]
            switch caller {
            case .none: break
            case .wrong: headers.append((name: "authorization", value: "Bearer not-a-token"))
            default: headers.append((name: "authorization", value: "Bearer \(cluster.secrets[caller.rawValue] ?? "")"))
            }
            return try await http.send(
                call.route.method,
                address: address,
                path: call.path,
                body: call.body,
                headers: headers
            )
            .status
        }
        let report = try ClusterJSON.encode(
            SupervisorReport(
                supervisorId: "fake",
                host: "127.0.0.1",
                slots: [1],
                uptimeSeconds: 1,
                workers: [],
                errors: []
            )
        )
        let replica = Array("a replica".utf8)
        let name = cluster.name
        let calls: [Call] = [
            Call(route: .health, path: NimbusRoute.health.path(), allowedStatus: 200),
            Call(route: .openAPI, path: NimbusRoute.openAPI.path(), allowedStatus: 200),
            Call(route: .webUI, path: NimbusRoute.webUI.path(), allowedStatus: 200),
            Call(route: .webUIAsset, path: NimbusRoute.webUIAsset.path("core.js"), allowedStatus: 200),
            Call(route: .metrics, path: NimbusRoute.metrics.path(), allowedStatus: 200),
            Call(route: .supervisors, path: NimbusRoute.supervisors.path(), allowedStatus: 200),
            Call(route: .topologies, path: NimbusRoute.topologies.path(), allowedStatus: 200),
            Call(route: .topology, path: NimbusRoute.topology.path(name), allowedStatus: 200),
            Call(route: .cluster, path: NimbusRoute.cluster.path(), allowedStatus: 200),
            Call(route: .component, path: NimbusRoute.component.path(name, "count"), allowedStatus: 200),
            // No supervisor runs its workers: the worker is not found.
            Call(route: .workerLog, path: NimbusRoute.workerLog.path(name, "127.0.0.1:1"), allowedStatus: 404),
            Call(route: .blob, path: NimbusRoute.blob.path(digest), allowedStatus: 200),
            Call(route: .report, path: NimbusRoute.report.path(), body: report, allowedStatus: 200),
            Call(
                route: .replicateBlob,
                path: NimbusRoute.replicateBlob.path(SHA256Digest.hex(of: replica)),
                body: replica,
                allowedStatus: 201
            ),
            // Passing the check, an empty upload and a bodyless submit are bad requests: no state.
            Call(route: .uploadBlob, path: NimbusRoute.uploadBlob.path(), allowedStatus: 400),
            Call(route: .submit, path: NimbusRoute.submit.path(), body: Array("{}".utf8), allowedStatus: 400),
            Call(route: .deactivate, path: NimbusRoute.deactivate.path(name), allowedStatus: 200),
            Call(route: .activate, path: NimbusRoute.activate.path(name), allowedStatus: 200),
            Call(
                route: .rebalance,
                path: NimbusRoute.rebalance.path(name),
                body: Array(#"{"workers": 1}"#.utf8),
                allowedStatus: 200
            ),
            Call(
                route: .logLevel,
                path: NimbusRoute.logLevel.path(name),
                body: Array(#"{"level": "debug", "seconds": 5}"#.utf8),
                allowedStatus: 200
            ),
            Call(
                route: .debug,
                path: NimbusRoute.debug.path(name),
                body: Array(#"{"component": "split", "percent": 1, "seconds": 5}"#.utf8),
                allowedStatus: 200
            ),
            Call(route: .samples, path: NimbusRoute.samples.path(name), allowedStatus: 200),
            Call(
                route: .kill,
                path: NimbusRoute.kill.path(name),
                body: Array(#"{"waitSeconds": 600}"#.utf8),
                allowedStatus: 200
            ),
        ]
        #expect(Set(calls.map(\.route)) == Set(NimbusRoute.all), "the matrix covers every route")

        /// The documented status: 401 without a valid token, 403 for a role the route does not
        /// admit (and for bob on alice's topology), else the route's own answer.
        func expected(_ call: Call, _ caller: Caller) -> Int {
            let principal: Principal
            switch caller {
            case .none, .wrong: return call.route.access == .open ? call.allowedStatus : 401
            case .viewer: principal = .user(name: "viewer", role: .viewer)
            case .alice: principal = .user(name: "alice", role: .submitter)
            case .bob: principal = .user(name: "bob", role: .submitter)
            case .admin: principal = .user(name: "admin", role: .admin)
            case .cluster: principal = .cluster
            }
            guard call.route.access.permits(principal) else { return 403 }
            if call.route.access == .manage, caller == .bob { return 403 }
            return call.allowedStatus
        }

        func state() throws -> String {
            let list = try cluster.cli(["list", "--json"]).output
            let topologies = try JSONDecoder().decode([NimbusAPI.TopologySummary].self, from: Data(list.utf8))
                .map { "\($0.id) \($0.status) \($0.requestedWorkers) \($0.epoch);" }.joined()
            let blobs = (try? FileManager.default.contentsOfDirectory(atPath: cluster.root + "/nimbus/blobs")) ?? []
            let controls = try cluster.cli(["debug", name, "--show", "--json"]).output
            return topologies + blobs.sorted().joined(separator: ",") + controls
        }
        let before = try state()
        var seen: [String] = []
        // Every refusal first; then the state must be as it was.
        for call in calls {
            for caller in Caller.allCases where [401, 403].contains(expected(call, caller)) {
                let got = try await send(call, as: caller)
                seen.append("\(call.route) as \(caller): \(got)")
                #expect(got == expected(call, caller), "\(call.route) as \(caller)")
                if caller == .wrong {
                    // A success from this host resets its failure count (no slow-down here).
                    _ = try await send(calls[3], as: .viewer)
                }
            }
        }
        #expect(try state() == before, "no refused call changed the topologies or the blobs")
        // Then every admitted call, the kill last.
        for call in calls {
            for caller in Caller.allCases where ![401, 403].contains(expected(call, caller)) {
                let got = try await send(call, as: caller)
                seen.append("\(call.route) as \(caller): \(got)")
                #expect(got == expected(call, caller), "\(call.route) as \(caller)")
            }
        }
        print("auth matrix: \(seen.count) calls\n" + seen.joined(separator: "\n"))

        // A submitter sets only the topology's own settings; a file that is not an executable
        // is not stored.
        let evil = try ClusterHarness.run(
            cluster.gale,
            [
                "submit", cluster.topologyBinary, "--name", name + "x", "--config", "gale.zookeeper.servers=evil:2181",
                "--nimbus", address, "--config-file", aliceConfig,
            ]
        )
        #expect(evil.status == 1 && evil.output.contains("may not set 'gale.zookeeper.servers'"), "\(evil.output)")
        let blobsBefore = try state()
        let text = Array("#!/bin/sh\necho hello\n".utf8)
        let upload = try await http.send(
            "POST",
            address: address,
            path: NimbusRoute.uploadBlob.path(),
            body: text,
            headers: [(name: "authorization", value: "Bearer \(cluster.secrets["alice"] ?? "")")]
        )
        #expect(upload.status == 400 && upload.errorMessage?.contains("not a topology binary") == true)
        #expect(try state() == blobsBefore, "the script was not stored")
        let log = (try? String(contentsOfFile: cluster.root + "/nimbus.log", encoding: .utf8)) ?? ""
        #expect(log.contains("audit=nimbus") && log.contains("refused POST /api/v1/topologies"), "audit lines")
        #expect(log.contains("alice (submitter) POST /api/v1/topologies"), "the submit is audited with its caller")
    }

    @Test func aTokenlessNimbusRefusesToListenOnANonLoopbackAddress() throws {
        let root = NSTemporaryDirectory() + "gale-open-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let result = try ClusterHarness.run(
            try ClusterHarness.locateBinaries() + "/gale",
            ["nimbus", "--zookeeper", "127.0.0.1:1", "--host", "0.0.0.0", "--port", "0", "--data-dir", root]
        )
        #expect(result.status == 1)
        #expect(result.output.contains("nimbus.host 0.0.0.0 is not a loopback address"), "\(result.output)")
    }
}
