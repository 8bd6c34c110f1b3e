import Foundation
import NIOCore
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// Mutual TLS for the worker-to-worker transport: the cluster's CA certificates, this worker's
/// certificate chain and its private key, as PEM text (a supervisor copies them into each
/// worker's private launch spec).
///
/// With it, every connection is TLS 1.3 and both ends show a certificate: the listener asks
/// each connecting peer for one and the connecting side checks the listener's, each against
/// the CA certificates only (not the system's store). Neither checks a host name (workers are
/// reached by the addresses of the assignment, which certificates need not name): a
/// certificate proves membership of the cluster, and the assignment-secret handshake that
/// follows inside TLS proves membership of the topology. A connection whose TLS handshake
/// fails is closed before any Gale frame is read, logged with the reason and counted in
/// ``TransportStats/tlsHandshakesRefused``.
///
/// A certificate that peers verify needs `extendedKeyUsage` `serverAuth,clientAuth` (or no
/// `extendedKeyUsage` at all): each worker is the server of its inbound and the client of its
/// outbound connections.
public struct TransportTLS: Sendable {
    /// Accepts connections: shows this worker's certificate, requires and verifies the peer's.
    let serverContext: NIOSSLContext
    /// Connects: shows this worker's certificate, verifies the listener's.
    let clientContext: NIOSSLContext

    /// Parses and checks the material.
    /// - Parameters:
    ///   - caCertificatesPEM: the CA certificates peers' certificates must chain to.
    ///   - certificateChainPEM: this worker's certificate, then any intermediates.
    ///   - privateKeyPEM: the private key of the first certificate of `certificateChainPEM`.
    /// - Throws: ``TransportTLSError`` naming the part that cannot be used: no PEM certificate,
    ///   no PEM private key, a certificate that has expired or is not valid yet, or a key that
    ///   is not the certificate's.
    public init(caCertificatesPEM: String, certificateChainPEM: String, privateKeyPEM: String) throws(TransportTLSError)
    {
        try self.init(
            caCertificatesPEM: caCertificatesPEM,
            certificateChainPEM: certificateChainPEM,
            privateKeyPEM: privateKeyPEM,
            now: Date()
        )
    }

    /// ``init(caCertificatesPEM:certificateChainPEM:privateKeyPEM:)`` with this worker's
    /// certificate checked at `now`.
    init(
        caCertificatesPEM: String,
        certificateChainPEM: String,
        privateKeyPEM: String,
        now: Date
    ) throws(TransportTLSError) {
        let roots = try Self.certificates(caCertificatesPEM, what: "the CA certificates")
        let chain = try Self.certificates(certificateChainPEM, what: "the certificate chain")
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: Array((privateKeyPEM + "\n").utf8), format: .pem)
        } catch {
            throw TransportTLSError("the private key is not a PEM private key")
        }
        let leaf = chain[0]
        let seconds = time_t(now.timeIntervalSince1970)
        if leaf.notValidAfter < seconds {
            throw TransportTLSError("the certificate expired on \(Self.date(leaf.notValidAfter))")
        }
        if leaf.notValidBefore > seconds {
            throw TransportTLSError("the certificate is not valid before \(Self.date(leaf.notValidBefore))")
        }
        var server = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key),
            trustRoots: .certificates(roots)
        )
        server.minimumTLSVersion = .tlsv13
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(key)
        client.trustRoots = .certificates(roots)
        client.certificateVerification = .noHostnameVerification
        client.minimumTLSVersion = .tlsv13
        do {
            serverContext = try NIOSSLContext(configuration: server)
            clientContext = try NIOSSLContext(configuration: client)
        } catch {
            throw TransportTLSError(
                "the private key is not the key of the certificate (\(TransportTLSFailure.reason(error)))"
            )
        }
    }

    private static func certificates(_ pem: String, what: String) throws(TransportTLSError) -> [NIOSSLCertificate] {
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)), !certificates.isEmpty else {
            throw TransportTLSError(
                "\(what): no PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)"
            )
        }
        return certificates
    }

    /// `seconds` since 1970 as `2025-01-31 12:00:00 UTC`.
    private static func date(_ seconds: time_t) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}

/// TLS material for the transport that cannot be used, in words.
public struct TransportTLSError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Why a transport connection's TLS failed, in words: NIOSSL's errors name BoringSSL's reason
/// codes (`CERTIFICATE_VERIFY_FAILED`, `TLSV1_ALERT_UNKNOWN_CA`, ...), which are kept in
/// parentheses.
enum TransportTLSFailure {
    /// Whether `error` comes from TLS.
    static func isTLS(_ error: any Error) -> Bool {
        error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError
    }

    /// Whether `error` is the peer closing the TCP connection without TLS's close_notify (a
    /// process that was killed, say) after the handshake: nothing to refuse.
    static func isUncleanShutdown(_ error: any Error) -> Bool {
        if case NIOSSLError.uncleanShutdown = error { return true }
        return false
    }

    /// The TLS version a connection's handshake negotiated (`TLS 1.3`), or `nil` when the
    /// connection has no TLS handler or no handshake has completed.
    static func version(of context: ChannelHandlerContext) -> String? {
        guard let version = try? context.pipeline.syncOperations.nioSSL_tlsVersion() else { return nil }
        switch version {
        case .tlsv1: return "TLS 1.0"
        case .tlsv11: return "TLS 1.1"
        case .tlsv12: return "TLS 1.2"
        case .tlsv13: return "TLS 1.3"
        }
    }

    /// `error` in words.
    static func reason(_ error: any Error) -> String {
        if case NIOSSLError.handshakeFailed(.sslError(let stack)) = error, stack == [.eofDuringHandshake] {
            return "the peer closed the connection during the TLS handshake"
        }
        if isUncleanShutdown(error) {
            return "the peer closed the connection without ending TLS"
        }
        let codes = boringSSLReasons("\(error)")
        let named = codes.isEmpty ? "\(error)" : codes.joined(separator: ", ")
        if codes.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the peer's certificate does not verify against the cluster CA (signed by another CA, expired, "
                + "not valid yet, or not for both TLS clients and servers by its extendedKeyUsage; \(named))"
        }
        if codes.contains(where: { $0.hasSuffix("PEER_DID_NOT_RETURN_A_CERTIFICATE") }) {
            return "the peer sent no certificate (\(named))"
        }
        if codes.contains(where: { $0.hasSuffix("ALERT_CERTIFICATE_REQUIRED") }) {
            return "the peer asked for a certificate this side did not send (\(named))"
        }
        if codes.contains(where: {
            $0.hasSuffix("ALERT_UNKNOWN_CA") || $0.hasSuffix("ALERT_BAD_CERTIFICATE")
                || $0.hasSuffix("ALERT_CERTIFICATE_UNKNOWN") || $0.hasSuffix("ALERT_CERTIFICATE_EXPIRED")
                || $0.hasSuffix("ALERT_UNSUPPORTED_CERTIFICATE")
        }) {
            return "the peer refused this worker's certificate (\(named))"
        }
        if codes.contains("WRONG_VERSION_NUMBER") || codes.contains("PACKET_LENGTH_TOO_LONG")
            || codes.contains("HTTP_REQUEST") || codes.contains("RECORD_TOO_LARGE")
        {
            return "the peer does not speak TLS: plain TCP to a TLS worker? (\(named))"
        }
        if codes.contains(where: { $0.hasSuffix("ALERT_PROTOCOL_VERSION") })
            || codes.contains("UNSUPPORTED_PROTOCOL")
        {
            return "the peer does not speak TLS 1.3 (\(named))"
        }
        return "TLS error (\(named))"
    }

    /// The reason codes of BoringSSL's error strings (`error:1000007d:SSL routines:
    /// OPENSSL_internal:CERTIFICATE_VERIFY_FAILED` gives `CERTIFICATE_VERIFY_FAILED`).
    static func boringSSLReasons(_ text: String) -> [String] {
        var codes: [String] = []
        for part in text.split(separator: "error:").dropFirst() {
            let fields = part.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false)
            guard fields.count >= 4 else { continue }
            let code = fields[3].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if !code.isEmpty, !codes.contains(String(code)) { codes.append(String(code)) }
        }
        return codes
    }
}
