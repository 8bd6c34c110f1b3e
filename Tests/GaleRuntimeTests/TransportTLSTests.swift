import Foundation
import Gale
import Logging
import Synchronization
import Testing

@testable import GaleRuntime

/// Mutual TLS between workers (``TransportOptions/tls``): workers with certificates of one CA
/// exchange tuples; a peer with a certificate of another CA, without a certificate fit for a
/// client, or speaking plain TCP is refused, counted and logged with the reason.
@Suite(.serialized, .timeLimit(.minutes(3))) struct TransportTLSTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A fresh CA and a certificate for 127.0.0.1 it signed (Tests/Fixtures/tls/make-certs, the
    /// `openssl` CLI), for clients and servers unless `clientAuth` is false.
    struct Certificates {
        let directory: String
        var ca: String { read("ca.pem") }
        var certificate: String { read("server.pem") }
        var key: String { read("server.key") }

        init(clientAuth: Bool = true) throws {
            directory = NSTemporaryDirectory() + "gale-transport-tls-\(UUID().uuidString)"
            let process = Process()
            process.executableURL = repositoryRoot.appendingPathComponent("Tests/Fixtures/tls/make-certs")
            process.arguments = (clientAuth ? ["--client-auth"] : []) + [directory]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw TestError("make-certs failed") }
        }

        private func read(_ name: String) -> String {
            (try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)) ?? ""
        }

        /// This certificate and key, trusting `trusted` (by default this CA alone).
        func tls(trusting trusted: [Certificates]? = nil) throws -> TransportTLS {
            try TransportTLS(
                caCertificatesPEM: (trusted ?? [self]).map(\.ca).joined(),
                certificateChainPEM: certificate,
                privateKeyPEM: key
            )
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// What a worker logged, with metadata.
    final class CapturedLog: LogHandler, @unchecked Sendable {
        let lines = Mutex<[(level: Logger.Level, message: String, metadata: [String: String])]>([])
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all: [String: String] = [:]
            for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
                all[key] = "\(value)"
            }
            lines.withLock { $0.append((event.level, "\(event.message)", all)) }
        }

        /// The metadata of the lines at `level` whose message is `message`.
        func find(_ level: Logger.Level, _ message: String) -> [[String: String]] {
            lines.withLock { $0.filter { $0.level == level && $0.message == message }.map(\.metadata) }
        }

        var logger: Logger { Logger(label: "gale.test.tls", factory: { _ in self }) }
    }

    static func options(_ tls: TransportTLS?) -> TransportOptions {
        var options = TestCluster.options
        options.tls = tls
        return options
    }

    static func startWorker(
        _ cluster: TestCluster,
        _ i: Int,
        topology: Topology,
        tls: TransportTLS?,
        log: CapturedLog? = nil,
        secret: [UInt8]? = nil,
        activate: Bool = false
    ) async throws -> ClusterWorker {
        var layout = cluster.layout(i)
        layout.secret = secret
        return try await ClusterWorker(
            topology: topology,
            layout: layout,
            logger: log?.logger ?? TestCluster.logger,
            activate: activate,
            options: options(tls)
        )
    }

    @Test func workersWithCertificatesOfTheClusterCAExchangeTuplesOverMutualTLS() async throws {
        let certificates = try Certificates()
        defer { certificates.remove() }
        let n = 2_000
        let log = WordCountLog()
        let topology = try WordCount.topology(name: "wc-tls", sentences: n, log: log)
        let cluster = TestCluster(topology: topology, workers: 2)
        let secret = Array("the assignment's secret".utf8)
        let logs = [CapturedLog(), CapturedLog()]
        var workers: [ClusterWorker] = []
        for i in 0..<2 {
            workers.append(
                try await Self.startWorker(
                    cluster,
                    i,
                    topology: topology,
                    tls: try certificates.tls(),
                    log: logs[i],
                    secret: secret
                )
            )
        }
        let started = workers
        do {
            try await require("the workers connect over TLS", timeout: .seconds(10)) {
                started.allSatisfy(\.allPeersConnected)
            }
            for worker in workers { worker.setActive(true) }
            try await require("every sentence is acked") { log.spout.ackCount >= n }
            let snapshot = log.spout.snapshot
            #expect(snapshot.failCount == 0)
            #expect(snapshot.acked.count == n && snapshot.acked.values.allSatisfy { $0 == 1 })
            #expect(log.counts.withLock { $0 } == WordCount.truth(n))
            for (i, worker) in workers.enumerated() {
                let stats = worker.transportStats()
                #expect(stats.envelopesSent > 0 && stats.envelopesReceived > 0, "worker \(i): \(stats)")
                #expect(stats.tlsHandshakesCompleted >= 2, "an inbound and an outbound TLS connection")
                #expect(stats.tlsHandshakesRefused == 0 && stats.handshakesRefused == 0)
                #expect(stats.corruptFrames == 0 && stats.envelopesDropped == 0)
                #expect(logs[i].find(.info, "connected to peer").contains { $0["tls"] == "TLS 1.3" })
                #expect(
                    logs[i].find(.info, "inbound connection from peer established").contains { $0["tls"] == "TLS 1.3" }
                )
            }
        } catch {
            for worker in workers { await worker.shutdown(drainTimeout: .zero) }
            throw error
        }
        for worker in workers { await worker.shutdown(drainTimeout: .seconds(5)) }
    }

    /// The rogue worker trusts both CAs, so it accepts the good worker's certificate: the
    /// refusal of its own certificate (another CA) is the good worker's, as a listener and as
    /// a client. No tuple crosses, both ways.
    @Test func aWorkerWithACertificateOfAnotherCAIsRefusedAndLogged() async throws {
        let cluster = try Certificates()
        let other = try Certificates()
        defer {
            cluster.remove()
            other.remove()
        }
        let log = WordCountLog()
        let topology = try WordCount.topology(name: "wc-rogue", sentences: 100, log: log)
        // The spout on the good worker, every bolt and acker on the rogue: no tree completes
        // without crossing.
        let layout = TestCluster(topology: topology, workers: 2) { _, component in component == "spout" ? 0 : 1 }
        let goodLog = CapturedLog()
        let good = try await Self.startWorker(
            layout,
            0,
            topology: topology,
            tls: try cluster.tls(),
            log: goodLog,
            activate: true
        )
        let rogue = try await Self.startWorker(
            layout,
            1,
            topology: topology,
            tls: try other.tls(trusting: [cluster, other]),
            activate: true
        )
        do {
            try await require("the good worker refuses the rogue's inbound and outbound TLS handshakes") {
                goodLog.find(.error, "refused a peer's TLS handshake").count >= 1
                    && goodLog.find(.error, "TLS handshake with peer failed").count >= 1
                    && rogue.transportStats().tlsHandshakesRefused >= 1
            }
            let refusedInbound = try #require(goodLog.find(.error, "refused a peer's TLS handshake").first)
            #expect(
                refusedInbound["reason"]?.contains("does not verify against the cluster CA") == true,
                "\(refusedInbound)"
            )
            #expect(refusedInbound["remote"]?.contains("127.0.0.1") == true, "\(refusedInbound)")
            let refusedOutbound = try #require(goodLog.find(.error, "TLS handshake with peer failed").first)
            #expect(refusedOutbound["reason"]?.contains("does not verify against the cluster CA") == true)
            #expect(refusedOutbound["peer"] == "\(layout.addresses[1])")
            let goodStats = good.transportStats()
            let rogueStats = rogue.transportStats()
            #expect(goodStats.tlsHandshakesRefused >= 2, "\(goodStats)")
            #expect(rogueStats.tlsHandshakesRefused >= 1, "the rogue sees its connection refused: \(rogueStats)")
            #expect(goodStats.envelopesReceived == 0 && rogueStats.envelopesReceived == 0, "no tuple crosses")
            #expect(!good.allPeersConnected && !rogue.allPeersConnected)
            #expect(log.spout.ackCount == 0)
        } catch {
            await good.shutdown(drainTimeout: .zero)
            await rogue.shutdown(drainTimeout: .zero)
            throw error
        }
        await good.shutdown(drainTimeout: .zero)
        await rogue.shutdown(drainTimeout: .zero)
    }

    /// Plain TCP to a TLS worker, a raw `hello` and a plain worker alike, is refused before any
    /// frame is read: no welcome, no tuple.
    @Test func aPlainTCPPeerIsRefusedByATLSWorker() async throws {
        let certificates = try Certificates()
        defer { certificates.remove() }
        let log = WordCountLog()
        let topology = try WordCount.topology(name: "wc-plain", sentences: 100, log: log)
        let cluster = TestCluster(topology: topology, workers: 2)
        let tlsLog = CapturedLog()
        let secure = try await Self.startWorker(
            cluster,
            0,
            topology: topology,
            tls: try certificates.tls(),
            log: tlsLog,
            activate: true
        )
        do {
            let hello = Handshake(
                topologyId: cluster.topologyId,
                epoch: 1,
                digest: WireSources(plan: TopologyPlan(topology: topology)).digest,
                address: cluster.addresses[1]
            )
            let raw = try RawConnection(port: secure.port)
            raw.send(hello.frame(as: .hello))
            let (reply, closed) = raw.readUntilClosed()
            #expect(closed)
            // 0x15: a TLS alert record, the most the worker answers.
            #expect(reply.isEmpty || reply[0] == 0x15, "no welcome, at most a TLS alert: \(reply)")
            try await require("the raw connection is counted") { secure.transportStats().tlsHandshakesRefused == 1 }
            let refused = try #require(tlsLog.find(.error, "refused a peer's TLS handshake").first)
            #expect(refused["reason"]?.contains("does not speak TLS") == true, "\(refused)")

            // A plain worker of the same topology: both directions fail.
            let plain = try await Self.startWorker(cluster, 1, topology: topology, tls: nil, activate: true)
            try await require("the plain worker's connection is refused, and so is the TLS worker's to it") {
                secure.transportStats().tlsHandshakesRefused >= 3 && plain.transportStats().corruptFrames >= 1
            }
            #expect(
                tlsLog.find(.error, "TLS handshake with peer failed").contains {
                    $0["reason"] == "the peer closed the connection during the TLS handshake"
                }
            )
            #expect(secure.transportStats().envelopesReceived == 0 && plain.transportStats().envelopesReceived == 0)
            #expect(!secure.allPeersConnected && !plain.allPeersConnected)
            try await require("no connection waits for its handshake") {
                secure.transportStats().pendingHandshakes == 0
            }
            await plain.shutdown(drainTimeout: .zero)
        } catch {
            await secure.shutdown(drainTimeout: .zero)
            throw error
        }
        await secure.shutdown(drainTimeout: .zero)
    }

    /// A certificate for servers only (extendedKeyUsage serverAuth) does not do for a worker:
    /// its peers refuse it as a client's.
    @Test func aCertificateWithoutClientAuthIsRefusedAsAPeers() async throws {
        let certificates = try Certificates()
        let serverOnly = try Certificates(clientAuth: false)
        defer {
            certificates.remove()
            serverOnly.remove()
        }
        let topology = try WordCount.topology(name: "wc-eku", sentences: 10, log: WordCountLog())
        let cluster = TestCluster(topology: topology, workers: 2)
        let goodLog = CapturedLog()
        let good = try await Self.startWorker(cluster, 0, topology: topology, tls: try certificates.tls(), log: goodLog)
        let weak = try await Self.startWorker(
            cluster,
            1,
            topology: topology,
            tls: try serverOnly.tls(trusting: [certificates, serverOnly])
        )
        do {
            try await require("the good worker refuses the server-only certificate") {
                !goodLog.find(.error, "refused a peer's TLS handshake").isEmpty
            }
            #expect(!weak.allPeersConnected)
            let refused = try #require(goodLog.find(.error, "refused a peer's TLS handshake").first)
            #expect(refused["reason"]?.contains("does not verify") == true, "\(refused)")
        } catch {
            await good.shutdown(drainTimeout: .zero)
            await weak.shutdown(drainTimeout: .zero)
            throw error
        }
        await good.shutdown(drainTimeout: .zero)
        await weak.shutdown(drainTimeout: .zero)
    }

    /// The handshake deadline and the count of connections waiting for their handshake start at
    /// accept, so they bound a connection that never begins its TLS handshake.
    @Test func theHandshakeDeadlineAndPendingCountCoverTheTLSHandshake() async throws {
        let certificates = try Certificates()
        defer { certificates.remove() }
        let topology = try WordCount.topology(name: "wc-tls-deadline", sentences: 10, log: WordCountLog())
        let cluster = TestCluster(topology: topology, workers: 1)
        var options = Self.options(try certificates.tls())
        options.inboundHandshakeDeadline = .milliseconds(200)
        options.maxPendingHandshakes = 1
        let worker = try await ClusterWorker(
            topology: topology,
            layout: cluster.layout(0),
            logger: TestCluster.logger,
            activate: false,
            options: options
        )
        do {
            let silent = try RawConnection(port: worker.port)
            try await require("the silent connection waits for its handshake") {
                worker.transportStats().pendingHandshakes == 1
            }
            let second = try RawConnection(port: worker.port)
            #expect(second.readUntilClosed().closed, "one over the limit is closed at once")
            #expect(silent.readUntilClosed().closed, "the silent connection is closed at its deadline")
            try await require("neither waits any more") { worker.transportStats().pendingHandshakes == 0 }
            let stats = worker.transportStats()
            #expect(stats.handshakesOverLimit == 1)
            #expect(stats.handshakeDeadlinesMissed == 1)
            #expect(stats.tlsHandshakesRefused == 0, "closing a connection is not refusing its TLS handshake")
        } catch {
            await worker.shutdown(drainTimeout: .zero)
            throw error
        }
        await worker.shutdown(drainTimeout: .zero)
    }

    @Test func unusableMaterialIsNamed() throws {
        let certificates = try Certificates()
        let other = try Certificates()
        defer {
            certificates.remove()
            other.remove()
        }
        func problem(_ ca: String, _ certificate: String, _ key: String) -> String {
            do {
                _ = try TransportTLS(caCertificatesPEM: ca, certificateChainPEM: certificate, privateKeyPEM: key)
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(
            problem("", certificates.certificate, certificates.key).contains("the CA certificates: no PEM certificate")
        )
        #expect(
            problem(certificates.ca, "junk", certificates.key).contains("the certificate chain: no PEM certificate")
        )
        #expect(problem(certificates.ca, certificates.certificate, "junk").contains("not a PEM private key"))
        #expect(
            problem(certificates.ca, certificates.certificate, other.key).contains("not the key of the certificate")
        )
        #expect(problem(certificates.ca, certificates.certificate, certificates.key) == "accepted")
        let later = Date().addingTimeInterval(10 * 86_400)
        #expect(throws: TransportTLSError.self) {
            try TransportTLS(
                caCertificatesPEM: certificates.ca,
                certificateChainPEM: certificates.certificate,
                privateKeyPEM: certificates.key,
                now: later
            )
        }
    }
}
