import Foundation
import Logging
import Synchronization
import Testing

@testable import GaleCoordination

/// ``HTTPServer`` with ``HTTPServerTLS`` against ``HTTPClient`` with ``HTTPClientTLS`` on
/// loopback, with certificates Tests/Fixtures/tls/make-certs writes (the `openssl` CLI).
@Suite(.timeLimit(.minutes(2))) struct HTTPSTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A fresh CA and a server certificate for `sans` it signed, in a new directory.
    static func certificates(_ sans: [String] = ["IP:127.0.0.1"]) throws -> String {
        let directory = NSTemporaryDirectory() + "gale-tls-\(UUID().uuidString)"
        let process = Process()
        process.executableURL = repositoryRoot.appendingPathComponent("Tests/Fixtures/tls/make-certs")
        process.arguments = [directory] + sans
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CertificateFailure() }
        return directory
    }

    struct CertificateFailure: Error {}

    /// What a server logged, for the handshake failures it reports.
    final class Captured: LogHandler, @unchecked Sendable {
        let lines = Mutex<[(Logger.Level, String)]>([])
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            lines.withLock { $0.append((event.level, "\(event.message)")) }
        }

        func contains(_ level: Logger.Level, _ text: String) -> Bool {
            lines.withLock { $0.contains { $0.0 == level && $0.1.contains(text) } }
        }
    }

    /// A started HTTPS server for `directory`'s certificate, answering every request with its
    /// path (or, for `/upload`, the size of the body file), and its address.
    static func serve(_ directory: String, log: Captured) async throws -> (HTTPServer, String) {
        let tls = try HTTPServerTLS(certificateFile: directory + "/server.pem", keyFile: directory + "/server.key")
        let spool: HTTPServer.SpoolPolicy = { _, path in path == "/upload" ? directory : nil }
        let server = HTTPServer(
            host: "127.0.0.1",
            port: 0,
            logger: Logger(label: "https-test", factory: { _ in log }),
            spool: spool,
            tls: tls
        ) { request in
            if let file = request.bodyFile {
                let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? -1
                return .json(["size": size])
            }
            if request.path == "/file" { return .file(directory + "/server.pem") }
            return .json(["path": request.path, "from": request.remoteAddress ?? "?"])
        }
        let port = try await server.start()
        return (server, "127.0.0.1:\(port)")
    }

    @Test func aClientTrustingTheCAGetsAnswersOverOneKeepAliveConnectionAndStreamsBodies() async throws {
        let directory = try Self.certificates()
        let (server, address) = try await Self.serve(directory, log: Captured())
        defer { Task { await server.stop() } }
        let client = HTTPClient(timeout: .seconds(10), tls: try HTTPClientTLS(caFile: directory + "/ca.pem"))
        let first = try await client.get(address: address, path: "/a")
        let second = try await client.get(address: address, path: "/b")
        #expect(first.status == 200 && String(decoding: first.body, as: UTF8.self).contains(#""/a""#))
        let from = { (response: HTTPResponse) in
            (try? JSONDecoder().decode([String: String].self, from: Data(response.body)))?["from"]
        }
        #expect(from(first) != nil && from(first) == from(second), "one keep-alive connection")
        // A streamed upload (spooled to a file) and a streamed file download.
        let body = directory + "/body"
        try Data(repeating: 7, count: 3 << 20).write(to: URL(fileURLWithPath: body))
        let upload = try await client.send("POST", address: address, path: "/upload", bodyFile: body)
        #expect(try upload.decodeJSON([String: Int].self) == ["size": 3 << 20])
        let size = try await client.download(address: address, path: "/file", to: directory + "/downloaded")
        #expect(
            FileManager.default.contents(atPath: directory + "/downloaded")
                == FileManager.default.contents(atPath: directory + "/server.pem") && size > 0
        )
    }

    @Test func aClientWithAnotherCAIsRefusedWithTheReasonAndTheServerLogsIt() async throws {
        let directory = try Self.certificates()
        let other = try Self.certificates()
        let log = Captured()
        let (server, address) = try await Self.serve(directory, log: log)
        defer { Task { await server.stop() } }
        let client = HTTPClient(timeout: .seconds(10), tls: try HTTPClientTLS(caFile: other + "/ca.pem"))
        do {
            _ = try await client.get(address: address, path: "/a")
            Issue.record("a certificate of another CA was accepted")
        } catch {
            guard case .tls(let target, let reason) = error else {
                Issue.record("not a TLS error: \(error)")
                return
            }
            #expect(target == address)
            #expect(reason.contains("certificate verify failed") && reason.contains(other + "/ca.pem"), "\(reason)")
            #expect(error.description.hasPrefix("TLS handshake with \(address) failed: certificate verify failed"))
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while !log.contains(.warning, "refused the certificate"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(log.contains(.warning, "TLS handshake with 127.0.0.1:"), "\(log.lines.withLock { $0 })")
        #expect(log.contains(.warning, "the client refused the certificate"), "\(log.lines.withLock { $0 })")
    }

    @Test func aCertificateThatDoesNotNameTheAddressIsRefused() async throws {
        let directory = try Self.certificates(["DNS:nimbus.example.com", "IP:127.0.0.2"])
        let (server, address) = try await Self.serve(directory, log: Captured())
        defer { Task { await server.stop() } }
        let client = HTTPClient(timeout: .seconds(10), tls: try HTTPClientTLS(caFile: directory + "/ca.pem"))
        await #expect {
            _ = try await client.get(address: address, path: "/a")
        } throws: { error in
            guard case .tls(_, let reason) = error as? HTTPClientError else { return false }
            return reason == "certificate verify failed: the certificate does not name 127.0.0.1 in its subjectAltName"
        }
    }

    @Test func plainHTTPAndHTTPSDoNotMix() async throws {
        let directory = try Self.certificates()
        let log = Captured()
        let (server, address) = try await Self.serve(directory, log: log)
        defer { Task { await server.stop() } }
        // Plain HTTP to the HTTPS port: no answer, and the server says why.
        await #expect {
            _ = try await HTTPClient(timeout: .seconds(10)).get(address: address, path: "/a")
        } throws: { error in
            "\(error)".contains("if the server speaks HTTPS only, the client needs its CA")
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while !log.contains(.warning, "plain HTTP"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(log.contains(.warning, "the client sent plain HTTP"), "\(log.lines.withLock { $0 })")
        // HTTPS to a plain HTTP server.
        let plain = HTTPServer(host: "127.0.0.1", port: 0, logger: Logger(label: "plain")) { _ in .json(["a": 1]) }
        let port = try await plain.start()
        defer { Task { await plain.stop() } }
        let client = HTTPClient(timeout: .seconds(10), tls: try HTTPClientTLS(caFile: directory + "/ca.pem"))
        await #expect {
            _ = try await client.get(address: "127.0.0.1:\(port)", path: "/a")
        } throws: { error in
            guard case .tls(_, let reason) = error as? HTTPClientError else { return false }
            return reason.contains("does not speak TLS")
        }
    }

    @Test func theClientsOfOneCAFileShareOnePoolAndPlainClientsTheirOwn() throws {
        let directory = try Self.certificates()
        let a = HTTPClient(tls: try HTTPClientTLS(caFile: directory + "/ca.pem"))
        let b = HTTPClient(timeout: .seconds(1), tls: try HTTPClientTLS(caFile: directory + "/ca.pem"))
        #expect(a.pool === b.pool)
        #expect(a.pool !== HTTPClient().pool)
        #expect(HTTPClient().pool === HTTPClient(timeout: .seconds(3)).pool)
        #expect(HTTPClient.url(address: "127.0.0.1:8080", path: "/x", secure: true) == "https://127.0.0.1:8080/x")
    }

    @Test func unusableFilesAreRefusedNamingTheFileAndTheProblem() throws {
        let directory = try Self.certificates()
        let other = try Self.certificates()
        let cert = directory + "/server.pem"
        let key = directory + "/server.key"
        func problem(_ certificate: String, _ key: String, now: Date = Date()) -> TLSFileError? {
            do {
                _ = try HTTPServerTLS(certificateFile: certificate, keyFile: key, now: now)
                return nil
            } catch {
                return error
            }
        }
        #expect(problem(cert, key) == nil)
        #expect(
            problem(directory + "/missing.pem", key)?.reason == "cannot read \(directory)/missing.pem: no such file"
        )
        #expect(
            problem(key, key)?.reason.contains("\(key) holds no PEM certificate") == true,
            "a key is no certificate"
        )
        let certificateAsKey = directory + "/certificate-as-key"
        try FileManager.default.copyItem(atPath: cert, toPath: certificateAsKey)
        chmod(certificateAsKey, 0o600)
        #expect(problem(cert, certificateAsKey)?.reason.contains("holds no PEM private key") == true)
        #expect(problem(cert, other + "/server.key")?.reason.contains("is not the key of the certificate") == true)
        #expect(problem(cert, key, now: Date() + 3 * 86_400)?.reason.contains("the certificate expired on") == true)
        #expect(problem(cert, key, now: Date() - 86_400)?.reason.contains("is not valid before") == true)
        chmod(key, 0o644)
        #expect(problem(cert, key)?.reason.contains("readable by other users") == true)
        #expect(problem(cert, key)?.file == key)
        #expect(throws: TLSFileError.self) { try HTTPClientTLS(caFile: directory + "/nothing.pem") }
        #expect(throws: TLSFileError.self) { try HTTPClientTLS(caFile: key) }
    }
}
