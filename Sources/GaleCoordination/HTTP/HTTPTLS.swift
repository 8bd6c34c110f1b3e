public import Foundation
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// The certificate chain and private key an ``HTTPServer`` serves HTTPS with, read from PEM
/// files and checked when it is made: a server that starts with it can complete handshakes.
public struct HTTPServerTLS: Sendable {
    public let certificateFile: String
    public let keyFile: String
    /// The certificates of ``certificateFile``, the server's own first.
    let chain: [NIOSSLCertificate]
    /// The server side of TLS 1.2 and 1.3 with this chain and key; clients are not asked for a
    /// certificate.
    let context: NIOSSLContext

    /// Reads and checks the chain and the key.
    /// - Parameter now: the time the server's certificate must be valid at.
    /// - Throws: ``TLSFileError`` naming the file and the problem: a file that cannot be read,
    ///   holds no PEM certificate (or private key), a key file users other than its owner and
    ///   group may access (as ``PrivateFile/read(_:)`` requires), a certificate that is expired
    ///   or not valid yet, or a key that does not belong to the certificate.
    public init(certificateFile: String, keyFile: String, now: Date = Date()) throws(TLSFileError) {
        let chain = try TLSFiles.certificates(certificateFile)
        let pem: String
        do {
            pem = try PrivateFile.read(keyFile)
        } catch {
            throw TLSFileError(file: keyFile, reason: error.description)
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: Array((pem + "\n").utf8), format: .pem)
        } catch {
            throw TLSFileError(
                file: keyFile,
                reason:
                    "\(keyFile) holds no PEM private key (-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----)"
            )
        }
        let leaf = chain[0]
        let seconds = time_t(now.timeIntervalSince1970)
        if leaf.notValidAfter < seconds {
            throw TLSFileError(
                file: certificateFile,
                reason: "\(certificateFile): the certificate expired on \(TLSFiles.date(leaf.notValidAfter))"
            )
        }
        if leaf.notValidBefore > seconds {
            throw TLSFileError(
                file: certificateFile,
                reason: "\(certificateFile): the certificate is not valid before \(TLSFiles.date(leaf.notValidBefore))"
            )
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFileError(
                file: keyFile,
                reason:
                    "\(keyFile) is not the key of the certificate in \(certificateFile) (\(TLSFailure.reason(error)))"
            )
        }
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.chain = chain
    }
}

/// The certificate authorities an ``HTTPClient`` trusts: with one, the client speaks HTTPS and
/// accepts a server only if its certificate chains to one of them and names the host (or IP
/// address) the client asked for in its subjectAltName.
public struct HTTPClientTLS: Sendable, Hashable {
    /// The PEM file the CA certificates were read from (as given); the client for it is made once
    /// per process (``HTTPClient``).
    public let caFile: String
    let roots: [NIOSSLCertificate]

    /// Reads the CA certificates.
    /// - Throws: ``TLSFileError`` when the file cannot be read or holds no PEM certificate.
    public init(caFile: String) throws(TLSFileError) {
        self.caFile = caFile
        self.roots = try TLSFiles.certificates(caFile)
    }

    public static func == (a: HTTPClientTLS, b: HTTPClientTLS) -> Bool { a.caFile == b.caFile }
    public func hash(into hasher: inout Hasher) { hasher.combine(caFile) }

    /// Full verification against ``roots`` only (not the system's store), TLS 1.2 or later.
    var configuration: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(roots)
        configuration.certificateVerification = .fullVerification
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }
}

/// A TLS file (certificate, key or CA) that cannot be used, in one line naming it.
public struct TLSFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    /// The problem, naming the file.
    public let reason: String
    public var description: String { reason }
}

enum TLSFiles {
    /// The PEM certificates in `path`, at least one.
    static func certificates(_ path: String) throws(TLSFileError) -> [NIOSSLCertificate] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = access(path, F_OK) == 0 ? "permission denied" : "no such file"
            throw TLSFileError(file: path, reason: "cannot read \(path): \(reason)")
        }
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(Array(data)), !certificates.isEmpty else {
            throw TLSFileError(
                file: path,
                reason: "\(path) holds no PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)"
            )
        }
        return certificates
    }

    /// `seconds` since 1970 as `2025-01-31 12:00:00 UTC`.
    static func date(_ seconds: time_t) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}

/// Why a TLS handshake or a TLS file failed, in words: NIOSSL's errors name BoringSSL's reason
/// codes (`CERTIFICATE_VERIFY_FAILED`, `TLSV1_ALERT_UNKNOWN_CA`, ...).
enum TLSFailure {
    /// Whether `error` is a TLS error.
    static func isTLS(_ error: any Error) -> Bool {
        error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError
    }

    /// `error` in words, for the side that failed. A client names the CA file it verifies
    /// against and the `host:port` it asked for.
    static func reason(_ error: any Error, caFile: String? = nil, address: String? = nil) -> String {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            let host = address.flatMap { Endpoint($0)?.host } ?? "the host the client asked for"
            return "certificate verify failed: the certificate does not name \(host) in its subjectAltName"
        }
        let text = "\(error)"
        let codes = boringSSLReasons(text)
        let against = caFile.map { " against \($0)" } ?? ""
        if codes.contains("CERTIFICATE_VERIFY_FAILED") {
            return "certificate verify failed: the server's certificate does not verify\(against) "
                + "(signed by another CA, expired or not valid yet)"
        }
        if codes.contains(where: { $0.hasSuffix("ALERT_UNKNOWN_CA") || $0.hasSuffix("ALERT_BAD_CERTIFICATE") }) {
            return "the client refused the certificate (\(codes.joined(separator: ", ")): it does not trust its CA)"
        }
        if codes.contains(where: {
            $0.hasSuffix("ALERT_CERTIFICATE_UNKNOWN") || $0.hasSuffix("ALERT_CERTIFICATE_EXPIRED")
        }) {
            return "the client refused the certificate (\(codes.joined(separator: ", ")))"
        }
        if codes.contains("HTTP_REQUEST") || codes.contains("HTTPS_PROXY_REQUEST") {
            return "the client sent plain HTTP to the HTTPS port"
        }
        if codes.contains("WRONG_VERSION_NUMBER") || codes.contains("PACKET_LENGTH_TOO_LONG") {
            return "the peer does not speak TLS (plain HTTP?)"
        }
        if codes.contains("DECRYPTION_FAILED_OR_BAD_RECORD_MAC") {
            // An OpenSSL client (curl, openssl s_client) that does not trust the certificate sends
            // its TLS 1.3 alert unencrypted, which reads as a bad record.
            return "the client broke off the handshake (\(codes.joined(separator: ", "))): "
                + "an OpenSSL client such as curl that refuses the certificate ends so"
        }
        if !codes.isEmpty { return "TLS error \(codes.joined(separator: ", "))" }
        return text
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
