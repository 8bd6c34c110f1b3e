import Foundation
import GaleCoordination
import GaleDaemons
import Testing

/// `tls.cert.file`, `tls.key.file` and `tls.ca.file`: what nimbus and the clients accept at start,
/// and the one line each problem gives.
@Suite struct TLSConfigTests {
    /// A fresh CA and a server certificate for 127.0.0.1 it signed (Tests/Fixtures/tls/make-certs).
    static func certificates() throws -> String {
        let directory = NSTemporaryDirectory() + "gale-tls-config-\(UUID().uuidString)"
        let process = Process()
        process.executableURL = GaleConfigTests.repositoryRoot.appendingPathComponent("Tests/Fixtures/tls/make-certs")
        process.arguments = [directory]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return directory
    }

    /// The error nimbus's TLS settings in `yaml` give (or `nil`), with `$D` standing for `directory`.
    static func nimbusProblem(_ yaml: String, _ directory: String) -> String? {
        do {
            _ = try SecurityTests.config(yaml.replacingOccurrences(of: "$D", with: directory)).nimbusTLS()
            return nil
        } catch {
            return error.description
        }
    }

    @Test func withoutTLSKeysNimbusAndTheClientsSpeakPlainHTTP() throws {
        #expect(try SecurityTests.config("").nimbusTLS() == nil)
        #expect(try SecurityTests.config("").clientTLS() == nil)
    }

    @Test func nimbusNeedsCertificateKeyAndCATogether() throws {
        let d = try Self.certificates()
        let all = "tls.cert.file: $D/server.pem\ntls.key.file: $D/server.key\ntls.ca.file: $D/ca.pem\n"
        let tls = try #require(try SecurityTests.config(all.replacingOccurrences(of: "$D", with: d)).nimbusTLS())
        #expect(tls.server.certificateFile == d + "/server.pem" && tls.peers.caFile == d + "/ca.pem")
        let certificateOnly = Self.nimbusProblem("tls.cert.file: $D/server.pem\n", d)
        #expect(
            certificateOnly?.contains("tls.cert.file (") == true
                && certificateOnly?.contains("yaml:1) is set but tls.key.file and tls.ca.file are not") == true,
            "\(certificateOnly ?? "accepted")"
        )
        let withoutCA = Self.nimbusProblem("tls.cert.file: $D/server.pem\ntls.key.file: $D/server.key\n", d)
        #expect(withoutCA?.contains("are set but tls.ca.file is not") == true, "\(withoutCA ?? "accepted")")
        let keyOnly = Self.nimbusProblem("tls.key.file: $D/server.key\ntls.ca.file: $D/ca.pem\n", d)
        #expect(keyOnly?.contains("but tls.cert.file is not") == true, "\(keyOnly ?? "accepted")")
    }

    @Test func anUnusableCertificateOrKeyStopsNimbusNamingTheKeyAndTheFile() throws {
        let d = try Self.certificates()
        let other = try Self.certificates()
        let ca = "tls.ca.file: $D/ca.pem\n"
        let cases: [(yaml: String, key: String, text: String)] = [
            (
                "tls.cert.file: $D/missing.pem\ntls.key.file: $D/server.key\n", "tls.cert.file",
                "cannot read \(d)/missing.pem"
            ),
            (
                "tls.cert.file: $D/server.key\ntls.key.file: $D/server.key\n", "tls.cert.file",
                "holds no PEM certificate"
            ),
            ("tls.cert.file: $D/server.pem\ntls.key.file: $D/nokey\n", "tls.key.file", "cannot read \(d)/nokey"),
            (
                "tls.cert.file: $D/server.pem\ntls.key.file: \(other)/server.key\n", "tls.key.file",
                "is not the key of the certificate in \(d)/server.pem"
            ),
        ]
        for (yaml, key, text) in cases {
            let problem = Self.nimbusProblem(yaml + ca, d) ?? "accepted"
            #expect(problem.hasPrefix("\(key) (") && problem.contains(text), "\(problem)")
            #expect(!problem.contains("\n"), "one line")
        }
        chmod(d + "/server.key", 0o644)
        let shared = Self.nimbusProblem("tls.cert.file: $D/server.pem\ntls.key.file: $D/server.key\n" + ca, d) ?? ""
        #expect(
            shared.hasPrefix("tls.key.file (") && shared.contains("\(d)/server.key is readable by other users"),
            "\(shared)"
        )
    }

    @Test func theClientsCAFileMustHoldACertificateAndMayComeFromTheEnvironment() throws {
        let d = try Self.certificates()
        #expect(try SecurityTests.config("tls.ca.file: \(d)/ca.pem\n").clientTLS()?.caFile == d + "/ca.pem")
        let fromEnvironment = try GaleConfig.load(file: nil, environment: ["GALE_TLS_CA_FILE": d + "/ca.pem"])
        #expect(try fromEnvironment.clientTLS()?.caFile == d + "/ca.pem")
        for (file, text) in [
            ("\(d)/none.pem", "cannot read \(d)/none.pem: no such file"),
            ("\(d)/server.key", "holds no PEM certificate"),
        ] {
            do throws(ConfigError) {
                _ = try SecurityTests.config("tls.ca.file: \(file)\n").clientTLS()
                Issue.record("\(file) was accepted as a CA file")
            } catch {
                #expect(error.description.hasPrefix("tls.ca.file (") && error.description.contains(text), "\(error)")
            }
        }
    }

    /// The error `transport.tls` in `yaml` gives (or `nil`), with `$D` standing for `directory`.
    static func transportProblem(_ yaml: String, _ directory: String) -> String? {
        do {
            _ = try SecurityTests.config(yaml.replacingOccurrences(of: "$D", with: directory)).transportTLS()
            return nil
        } catch {
            return error.description
        }
    }

    @Test func transportTLSHandsTheWorkersThePEMTextOfTheHostsCertificateKeyAndCA() throws {
        let d = try Self.certificates()
        #expect(try SecurityTests.config("").transportTLS() == nil, "off by default")
        let all = "tls.cert.file: $D/server.pem\ntls.key.file: $D/server.key\ntls.ca.file: $D/ca.pem\n"
        #expect(try SecurityTests.config(all.replacingOccurrences(of: "$D", with: d)).transportTLS() == nil)
        let on = all + "transport.tls: true\n"
        let tls = try #require(try SecurityTests.config(on.replacingOccurrences(of: "$D", with: d)).transportTLS())
        #expect(tls.cert == (try String(contentsOfFile: d + "/server.pem", encoding: .utf8)))
        #expect(tls.ca == (try String(contentsOfFile: d + "/ca.pem", encoding: .utf8)))
        #expect(tls.key.contains("PRIVATE KEY") && tls.key.hasSuffix("\n"))
        #expect(!"\(tls)".contains("PRIVATE KEY"), "its description hides the key")
    }

    @Test func transportTLSNeedsTheCertificateKeyAndCANamingWhatIsMissingOrUnusable() throws {
        let d = try Self.certificates()
        let other = try Self.certificates()
        let caOnly = Self.transportProblem("tls.ca.file: $D/ca.pem\ntransport.tls: true\n", d) ?? "accepted"
        #expect(
            caOnly.hasPrefix("transport.tls (")
                && caOnly.contains("yaml:2) is true but tls.cert.file and tls.key.file are not set"),
            "\(caOnly)"
        )
        let noCA =
            Self.transportProblem("tls.cert.file: $D/server.pem\ntls.key.file: $D/server.key\ntransport.tls: true\n", d)
            ?? "accepted"
        #expect(noCA.contains("is true but tls.ca.file is not set"), "\(noCA)")
        let wrongKey =
            Self.transportProblem(
                "tls.cert.file: $D/server.pem\ntls.key.file: \(other)/server.key\ntls.ca.file: $D/ca.pem\n"
                    + "transport.tls: true\n",
                d
            ) ?? "accepted"
        #expect(
            wrongKey.hasPrefix("tls.key.file (") && wrongKey.contains("is not the key of the certificate"),
            "\(wrongKey)"
        )
        chmod(d + "/server.key", 0o644)
        let shared =
            Self.transportProblem(
                "tls.cert.file: $D/server.pem\ntls.key.file: $D/server.key\ntls.ca.file: $D/ca.pem\ntransport.tls: true\n",
                d
            ) ?? "accepted"
        #expect(shared.hasPrefix("tls.key.file (") && shared.contains("is readable by other users"), "\(shared)")
    }
}
