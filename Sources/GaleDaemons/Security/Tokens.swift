import Foundation
import GaleCoordination

/// What a caller of nimbus's API may do.
public enum Role: String, Sendable, Codable, CaseIterable {
    /// Read-only: list, status, supervisors, metrics.
    case viewer
    /// A viewer that also submits, and kills, activates, deactivates and rebalances the
    /// topologies it submitted.
    case submitter
    /// Everything.
    case admin
}

/// Who made a request.
public enum Principal: Sendable, Equatable, CustomStringConvertible {
    /// A token of `auth.tokens`, by its name.
    case user(name: String, role: Role)
    /// The cluster credential (`cluster.secret.file`): supervisors and the other nimbus processes.
    case cluster
    /// Anyone, on a cluster that runs without authentication.
    case anonymous

    public var description: String {
        switch self {
        case .user(let name, let role): "\(name) (\(role.rawValue))"
        case .cluster: "cluster credential"
        case .anonymous: "anonymous"
        }
    }

    /// The name recorded as a topology's owner.
    public var ownerName: String? {
        if case .user(let name, _) = self { return name }
        return nil
    }
}

/// One entry of `auth.tokens`: `NAME: ROLE sha256:HEX`, the SHA-256 of the secret the caller
/// sends (`Authorization: Bearer SECRET`). Nimbus never holds the secrets themselves.
public struct TokenEntry: Sendable, Equatable {
    public let name: String
    public let role: Role
    public let digest: [UInt8]

    /// Parses `ROLE sha256:HEX`.
    /// - Returns: the entry, or why the text is not one.
    public static func parse(name: String, _ text: String) -> Result<TokenEntry, ConfigError> {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        let roles = Role.allCases.map(\.rawValue).joined(separator: ", ")
        guard parts.count == 2, let role = Role(rawValue: String(parts[0])) else {
            return .failure(ConfigError("token '\(name)': expected 'ROLE sha256:HEX' with ROLE one of \(roles)"))
        }
        guard parts[1].hasPrefix("sha256:"), let digest = Secret.bytes(hex: parts[1].dropFirst(7)), digest.count == 32
        else {
            return .failure(
                ConfigError(
                    "token '\(name)': '\(parts[1])' is not sha256: and 64 hex digits (`gale token create` prints one)"
                )
            )
        }
        return .success(TokenEntry(name: name, role: role, digest: digest))
    }
}

/// Secrets: generated, hashed, read from files, compared in constant time.
public enum Secret {
    /// 32 random bytes from the system's secure generator, as 64 hex digits.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return SHA256Digest.hexString((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// The SHA-256 of `secret`'s UTF-8 bytes.
    public static func digest(_ secret: String) -> [UInt8] {
        bytes(hex: Substring(SHA256Digest.hex(of: Array(secret.utf8)))) ?? []
    }

    /// Equal contents, in a time that depends only on the lengths.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    /// Reads a secret from `path`: its content without surrounding whitespace. Users other than
    /// the file's owner and group must have no access to it (mode 0600, 0400 or 0440).
    /// - Throws: ``ConfigError`` naming the file and the problem.
    public static func read(file path: String, key: String) throws(ConfigError) -> String {
        do {
            return try PrivateFile.read(path)
        } catch {
            throw ConfigError("\(key): \(error.description)")
        }
    }

    static func bytes(hex: Substring) -> [UInt8]? {
        guard hex.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(hex.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            result.append(byte)
            index = next
        }
        return result
    }
}

/// How nimbus authenticates its callers: the tokens of `auth.tokens` and the cluster credential.
/// Without tokens the API is open (``isOpen``) and every caller is ``Principal/anonymous``.
public struct Authenticator: Sendable {
    public let tokens: [TokenEntry]
    /// SHA-256 of the cluster secret.
    let clusterDigest: [UInt8]?

    public init(tokens: [TokenEntry], clusterSecret: String?) {
        self.tokens = tokens.sorted { $0.name < $1.name }
        self.clusterDigest = clusterSecret.map(Secret.digest)
    }

    /// An API that asks no credentials.
    public static let open = Authenticator(tokens: [], clusterSecret: nil)

    public var isOpen: Bool { tokens.isEmpty && clusterDigest == nil }

    /// The caller the `authorization` header names.
    /// - Returns: the principal, or why the credentials are refused (missing or not known).
    public func authenticate(authorization: String?) -> Result<Principal, AuthFailure> {
        guard !isOpen else { return .success(.anonymous) }
        guard let authorization, !authorization.isEmpty else { return .failure(.missing) }
        guard authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            return .failure(.malformed)
        }
        let digest = Secret.digest(String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        // Every entry is compared, whatever matches, so the time says nothing about which.
        var found: Principal?
        for entry in tokens where Secret.equal(entry.digest, digest) {
            found = .user(name: entry.name, role: entry.role)
        }
        if let clusterDigest, Secret.equal(clusterDigest, digest) { found = .cluster }
        return found.map { .success($0) } ?? .failure(.unknown)
    }
}

/// Why a request's credentials are refused.
public enum AuthFailure: Error, Sendable, CustomStringConvertible {
    case missing
    case malformed
    case unknown

    public var description: String {
        switch self {
        case .missing:
            "no credentials: send 'Authorization: Bearer TOKEN' (the CLI reads GALE_TOKEN or client.token.file)"
        case .malformed: "the Authorization header is not 'Bearer TOKEN'"
        case .unknown: "the token is not valid"
        }
    }
}
