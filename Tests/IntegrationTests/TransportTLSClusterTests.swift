import Foundation
import Gale
import GaleCoordination
import GaleDaemons
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `transport.tls: true` on a real cluster: two supervisors hand their workers the host's
/// certificate, key and CA in the private launch spec, and the workers talk mutual TLS.
@Suite(.serialized) struct TransportTLSClusterTests {
    /// The lines of every worker log of supervisor `dir` that contain `text`.
    static func workerLogLines(_ dir: String, containing text: String) -> [String] {
        let logs = dir + "/logs"
        var lines: [String] = []
        for file in (try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? [] {
            let log = (try? String(contentsOfFile: "\(logs)/\(file)", encoding: .utf8)) ?? ""
            lines += log.split(separator: "\n").map(String.init).filter { $0.contains(text) }
        }
        return lines
    }

    @Test func twoSupervisorsWithTransportTLSRunTheTopologyToCompletionOverMutualTLS() async throws {
        let cluster = try ClusterHarness("mtls")
        defer { cluster.tearDown() }
        try cluster.secure(tls: true, transportTLS: true)
        let directory = try #require(cluster.tlsDirectory)
        try await ClusterTests.startCluster(cluster)
        for s in cluster.supervisors {
            let log = (try? String(contentsOfFile: "\(cluster.root)/\(s.id).log", encoding: .utf8)) ?? ""
            #expect(log.contains("worker transport mutual TLS"), "\(s.id) says it: \(log.suffix(2000))")
        }
        let messages = 3000
        try cluster.submit(workers: 2, messages: messages, rate: 0)
        try await cluster.waitForWorkers(2)
        let status = try cluster.status()
        #expect(Set(status.workers.map(\.supervisorId)) == ["s1", "s2"], "one worker per supervisor")

        try await cluster.waitUntil("every message is acked", timeout: 90) { ClusterTests.allAcked(cluster, messages) }
        let acked = cluster.ackedIds()
        #expect(acked.values.allSatisfy { $0 == 1 }, "no failures, so no message is acked twice")
        try await cluster.waitUntil("the counts equal the ground truth", timeout: 30) {
            cluster.counts() == ClusterHarness.groundTruth(messages: messages)
        }

        // The launch specs hold the PEM text (the key included), privately, not the files' paths.
        let key = try String(contentsOfFile: directory + "/server.key", encoding: .utf8)
        var specs = 0
        for s in cluster.supervisors {
            // DATA/workers/<topology>/<worker>/epoch-<n>.json
            let workers = s.dir + "/workers"
            let directories = ((try? FileManager.default.contentsOfDirectory(atPath: workers)) ?? []).flatMap {
                topology in
                ((try? FileManager.default.contentsOfDirectory(atPath: "\(workers)/\(topology)")) ?? []).map {
                    "\(workers)/\(topology)/\($0)"
                }
            }
            for worker in directories {
                let path = "\(worker)/epoch-\(status.epoch).json"
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
                #expect(mode.map { $0 & 0o007 == 0 && $0 & 0o020 == 0 } == true, "\(path) is private")
                let spec = try ClusterJSON.decode(WorkerLaunchSpec.self, from: Array(data))
                let tls = try #require(spec.transportTLS, "\(path) has the transport's TLS material")
                #expect(
                    tls.key.trimmingCharacters(in: .whitespacesAndNewlines)
                        == key.trimmingCharacters(in: .whitespacesAndNewlines)
                )
                #expect(tls.cert.contains("BEGIN CERTIFICATE") && tls.ca.contains("BEGIN CERTIFICATE"))
                #expect(!String(decoding: data, as: UTF8.self).contains(directory), "no path of the TLS files")
                specs += 1
            }
        }
        #expect(specs == 2)

        // Each worker's connections, both ways, are TLS 1.3.
        for s in cluster.supervisors {
            let connected = Self.workerLogLines(s.dir, containing: "connected to peer")
            let accepted = Self.workerLogLines(s.dir, containing: "inbound connection from peer established")
            #expect(!connected.isEmpty && connected.allSatisfy { $0.contains("tls=TLS 1.3") }, "\(connected)")
            #expect(!accepted.isEmpty && accepted.allSatisfy { $0.contains("tls=TLS 1.3") }, "\(accepted)")
            #expect(Self.workerLogLines(s.dir, containing: "TLS handshake").isEmpty, "no refused handshake")
        }

        // With the host's certificate the supervisors serve /metrics and the worker logs over
        // HTTPS: nimbus reads the logs verifying them against its CA, and so does curl.
        let logs = try cluster.cli(["logs", cluster.name, "--grep", "connected to peer"])
        #expect(logs.status == 0, "\(logs.output)")
        for worker in status.workers {
            #expect(logs.output.contains("[\(worker.host):\(worker.port)] "), "\(logs.output)")
        }
        for s in cluster.supervisors {
            let port = try #require(cluster.httpPorts[s.id])
            let metrics = try ClusterHarness.run(
                "/usr/bin/curl",
                ["-sS", "--fail", "--cacert", directory + "/ca.pem", "https://127.0.0.1:\(port)/metrics"]
            )
            #expect(metrics.status == 0 && metrics.output.contains("gale_supervisor_slots 2"), "\(metrics.output)")
        }
    }

    /// `transport.tls` without the certificate and key stops the supervisor at start, naming
    /// the keys.
    @Test func transportTLSWithoutACertificateStopsTheSupervisorNamingTheKeys() throws {
        let root = NSTemporaryDirectory() + "gale-mtls-start-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = try ClusterHarness.makeCertificates(in: root + "/tls", clientAuth: true)
        let config = root + "/gale.yaml"
        try "tls.ca.file: \(directory)/ca.pem\ntransport.tls: true\n".write(
            toFile: config,
            atomically: true,
            encoding: .utf8
        )
        let result = try ClusterHarness.run(
            try ClusterHarness.locateBinaries() + "/gale",
            [
                "supervisor", "--zookeeper", "127.0.0.1:1", "--slots", "1", "--data-dir", root + "/supervisor",
                "--config-file", config,
            ] + ClusterHarness.workerArguments
        )
        #expect(result.status == 1)
        #expect(
            result.output.contains(
                "transport.tls (\(config):2) is true but tls.cert.file and tls.key.file are not set"
            ),
            "\(result.output)"
        )
    }
}
