import Foundation
import Gale
import GaleCoordination
import GaleDaemons
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Nimbus with tokens and TLS (`tls.cert.file`, `tls.key.file`, `tls.ca.file`): only clients that
/// verify its certificate against the CA reach it, a refused handshake is logged with its
/// reason, and a supervisor with the CA downloads a binary and runs a topology.
@Suite(.serialized) struct NimbusTLSTests {
    @Test func onlyClientsTrustingTheCAReachNimbusAndASupervisorWithItRunsATopology() async throws {
        let cluster = try ClusterHarness("tls")
        defer { cluster.tearDown() }
        try cluster.secure(tls: true)
        let ca = try #require(cluster.tlsDirectory) + "/ca.pem"
        // startNimbus waits until `gale list` (with the CA of gale.yaml) answers.
        try await cluster.startNimbus()
        let nimbusLog = cluster.root + "/nimbus.log"
        let listening = (try? String(contentsOfFile: nimbusLog, encoding: .utf8)) ?? ""
        #expect(listening.contains("(HTTPS)"), "nimbus says it serves HTTPS")

        // The CLI with the right CA.
        let list = try cluster.cli(["list"])
        #expect(list.status == 0, "\(list.output)")

        // The CLI with another, unrelated CA (GALE_TLS_CA_FILE overrides the file) is refused.
        let wrongCA = try ClusterHarness.makeCertificates(in: cluster.root + "/other-ca") + "/ca.pem"
        let refused = try ClusterHarness.run(
            "/usr/bin/env",
            ["GALE_TLS_CA_FILE=\(wrongCA)", cluster.gale, "list", "--nimbus", cluster.nimbus] + cluster.configArguments
        )
        #expect(refused.status == 1, "\(refused.output)")
        #expect(
            refused.output.contains("TLS handshake with \(cluster.nimbus) failed: certificate verify failed")
                && refused.output.contains(wrongCA),
            "\(refused.output)"
        )
        #expect(refused.output.split(separator: "\n").count == 1, "one line: \(refused.output)")
        try await cluster.waitUntil("nimbus logs the refused handshake", timeout: 10) {
            let log = (try? String(contentsOfFile: nimbusLog, encoding: .utf8)) ?? ""
            return log.contains("warning") && log.contains("TLS handshake with 127.0.0.1:")
                && log.contains("the client refused the certificate")
        }

        // The CLI without a CA speaks plain HTTP, which the HTTPS port does not answer.
        let plainConfig = cluster.root + "/plain.yaml"
        try "client.token.file: \(cluster.root)/admin-token\n".write(
            toFile: plainConfig,
            atomically: true,
            encoding: .utf8
        )
        let plainCLI = try ClusterHarness.run(
            cluster.gale,
            ["list", "--nimbus", cluster.nimbus, "--config-file", plainConfig]
        )
        #expect(plainCLI.status == 1 && plainCLI.output.contains("the client needs its CA"), "\(plainCLI.output)")

        // curl with the CA and a token; without the CA, and over plain HTTP, it fails.
        let token = try #require(cluster.secrets["admin"])
        let topologies = "\(cluster.nimbusURL)/api/v1/topologies"
        #expect(topologies.hasPrefix("https://127.0.0.1:"))
        let curl = try ClusterHarness.run(
            "/usr/bin/curl",
            ["--silent", "--show-error", "--fail", "--cacert", ca, "-H", "Authorization: Bearer \(token)", topologies]
        )
        #expect(curl.status == 0 && curl.output.hasPrefix("["), "\(curl.output)")
        let untrusted = try ClusterHarness.run(
            "/usr/bin/curl",
            ["--silent", "--show-error", "-H", "Authorization: Bearer \(token)", topologies]
        )
        // 60: the peer's certificate cannot be verified.
        #expect(untrusted.status == 60 && untrusted.output.contains("certificate"), "\(untrusted.output)")
        try await cluster.waitUntil("nimbus logs curl's refusal", timeout: 10) {
            let log = (try? String(contentsOfFile: nimbusLog, encoding: .utf8)) ?? ""
            return log.contains("the client broke off the handshake")
        }
        let plain = try ClusterHarness.run(
            "/usr/bin/curl",
            ["--silent", "--show-error", "--max-time", "10", "http://\(cluster.nimbus)/api/v1/health"]
        )
        #expect(plain.status != 0 && !plain.output.contains("\"ok\""), "\(plain.output)")
        try await cluster.waitUntil("nimbus logs the plain HTTP request", timeout: 10) {
            let log = (try? String(contentsOfFile: nimbusLog, encoding: .utf8)) ?? ""
            return log.contains("the client sent plain HTTP to the HTTPS port")
        }

        // A second nimbus: the leader pushes the upload to it over HTTPS (verified against the CA).
        let followerPort = ClusterHarness.freePort()
        cluster.extraPids.append(try cluster.spawnNimbus(port: followerPort, name: "nimbus2"))
        try await cluster.waitUntil("the follower is in the election", timeout: 30) {
            let result = try ClusterHarness.run(
                cluster.gale,
                ["supervisors", "--nimbus", "127.0.0.1:\(followerPort)"] + cluster.configArguments
            )
            return result.status == 0
        }

        // A supervisor with the CA registers, reports and downloads the binary over HTTPS, and the
        // topology runs and acks.
        try cluster.startSupervisor("s1")
        try await cluster.waitUntil("s1 is registered", timeout: 30) {
            try cluster.cli(["supervisors", "--json"]).output.contains("\"s1\"")
        }
        let messages = 20
        try cluster.submit(workers: 2, messages: messages, rate: 0)
        try await cluster.waitForWorkers(2)
        try await cluster.waitUntil("every message is acked", timeout: 60) { ClusterTests.allAcked(cluster, messages) }
        let digest = try cluster.status().binaryDigest
        let supervisorLog = (try? String(contentsOfFile: cluster.root + "/s1.log", encoding: .utf8)) ?? ""
        #expect(supervisorLog.contains("(sha256 verified)"), "s1 downloaded the binary from nimbus")
        #expect(!supervisorLog.contains("cannot report to nimbus"), "s1's reports reach nimbus")
        #expect(
            FileManager.default.fileExists(atPath: "\(cluster.root)/nimbus2/blobs/\(digest)"),
            "the follower holds the binary the leader pushed over HTTPS"
        )
    }

    @Test func nimbusWithAnUnusableKeyStopsAtStartNamingTheKeyAndTheFile() throws {
        let root = NSTemporaryDirectory() + "gale-tls-start-\(UUID().uuidString.prefix(8))"
        let directory = try ClusterHarness.makeCertificates(in: root + "/tls")
        chmod(directory + "/server.key", 0o644)
        let config = root + "/gale.yaml"
        try
            "tls.cert.file: \(directory)/server.pem\ntls.key.file: \(directory)/server.key\ntls.ca.file: \(directory)/ca.pem\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let result = try ClusterHarness.run(
            try ClusterHarness.locateBinaries() + "/gale",
            [
                "nimbus", "--zookeeper", "127.0.0.1:1", "--port", "0", "--data-dir", root + "/nimbus", "--config-file",
                config,
            ]
        )
        #expect(result.status == 1)
        #expect(
            result.output.contains("tls.key.file (\(config):2): \(directory)/server.key is readable by other users"),
            "\(result.output)"
        )
    }
}
