import CLibCrypto
import Foundation
public import Logging

/// Digest credentials for ZooKeeper, as `zookeeper.auth.file` holds them (`USER:PASSWORD`), and
/// the ACL Gale's nodes get with them: every permission for that identity, none for anyone else.
public struct ZooKeeperAuth: Sendable, Equatable {
    public var user: String
    public var password: String

    /// Credentials from `USER:PASSWORD` (split at the first colon); `nil` when either part is
    /// empty or the text holds a line break.
    public init?(parsing text: String) {
        guard let colon = text.firstIndex(of: ":"), !text.contains(where: \.isNewline) else { return nil }
        let user = String(text[..<colon])
        let password = String(text[text.index(after: colon)...])
        guard !user.isEmpty, !password.isEmpty, !user.contains(where: \.isWhitespace) else { return nil }
        self.init(user: user, password: password)
    }

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// The credentials in the private file `path` (see ``PrivateFile``).
    /// - Throws: ``PrivateFileError`` when the file cannot be read, other users may access it, or
    ///   it does not hold `USER:PASSWORD`.
    public static func read(file path: String) throws(PrivateFileError) -> ZooKeeperAuth {
        guard let auth = ZooKeeperAuth(parsing: try PrivateFile.read(path)) else {
            throw PrivateFileError("\(path) does not hold USER:PASSWORD (one line, neither part empty)")
        }
        return auth
    }

    /// The identity ZooKeeper's digest provider records for these credentials:
    /// `USER:BASE64(SHA1(USER:PASSWORD))`.
    public var digestId: String {
        let input = Array("\(user):\(password)".utf8)
        var digest = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 0
        input.withUnsafeBytes { bytes in
            _ = EVP_Digest(bytes.baseAddress, bytes.count, &digest, &length, EVP_sha1(), nil)
        }
        return "\(user):" + Data(digest.prefix(Int(length))).base64EncodedString()
    }

    /// The ACL of every node under the Gale root when these credentials are configured: all
    /// permissions for ``digestId``, nothing for anyone else. It is what ``ZooKeeperACL/creatorAll``
    /// becomes on a node created by a session authenticated with these credentials only.
    public var acl: [ZooKeeperACL] { [ZooKeeperACL(scheme: "digest", id: digestId, permissions: .all)] }

    /// A client configuration that authenticates with these credentials.
    public func apply(to config: inout ZooKeeperConfig) {
        config.digest = (user, password)
    }
}

/// What ``ZooKeeperClient/protect(_:with:)`` did.
public struct ZooKeeperProtectResult: Sendable, Equatable {
    /// The nodes of the tree, its root included.
    public var nodes: Int
    /// Those whose ACL was replaced (the others had it already).
    public var changed: Int

    public init(nodes: Int, changed: Int) {
        self.nodes = nodes
        self.changed = changed
    }
}

extension ZooKeeperClient {
    /// Gives `root` and every node below it (ephemeral and sequential ones included) the ACL
    /// `auth.acl`, leaving nodes that have it already; a node that disappears meanwhile is
    /// skipped. This client must be able to read every node and to change its ACL (the `admin`
    /// permission): nodes open to anyone, or already protected with `auth`.
    /// - Returns: how many nodes the tree has and how many were changed; zero nodes when `root`
    ///   does not exist.
    /// - Throws: ``ZooKeeperError/noAuth(_:)`` naming the first node this client may not read or
    ///   change, or any other failed call.
    public func protect(_ root: String, with auth: ZooKeeperAuth) throws(ZooKeeperError) -> ZooKeeperProtectResult {
        let wanted = auth.acl
        var result = ZooKeeperProtectResult(nodes: 0, changed: 0)
        var pending = [root]
        while let path = pending.popLast() {
            do {
                if try getACL(path).acl != wanted {
                    try setACL(path, wanted)
                    result.changed += 1
                }
                result.nodes += 1
                let children = try self.children(path)
                pending += children.sorted().reversed().map { path == "/" ? "/\($0)" : "\(path)/\($0)" }
            } catch .noNode {
                continue
            }
        }
        return result
    }
}

extension ClusterPaths {
    /// What nimbus and supervisors log at start when ``prepare(_:)`` finds the root open.
    public static let openRootWarning =
        "ZooKeeper ACLs are configured (zookeeper.auth.file) but \(root) is open to anyone: it was created "
        + "without them. Run `gale zookeeper set-acls` to protect the existing nodes (docs/security.md)"

    /// Checks that `zk` may use the Gale root, then creates the persistent ``parents`` that are
    /// missing: what nimbus and supervisors do at start.
    /// - Returns: `true` when `zk` authenticates but the root is open to anyone (a tree made
    ///   before ACLs were turned on: `gale zookeeper set-acls` protects it).
    /// - Throws: ``ZooKeeperError/authFailed(connectString:user:reason:)`` when `zk`
    ///   authenticates and its identity may not read the root (a wrong password, or nodes
    ///   created with other credentials); ``ZooKeeperError/noAuth(_:)`` when it does not
    ///   authenticate and the root has an ACL; any other failed call.
    @discardableResult
    public static func prepare(_ zk: ZooKeeperClient) throws(ZooKeeperError) -> Bool {
        do {
            _ = try zk.children(root)
        } catch .noNode {
            // A new cluster: created below.
        } catch .noAuth {
            guard let user = zk.digestUser else { throw .noAuth(root) }
            throw .authFailed(
                connectString: zk.connectString,
                user: user,
                reason: "it may not read \(root) (a wrong password, or \(root) was created with other credentials)"
            )
        }
        for path in parents { try zk.ensurePath(path) }
        guard zk.digestUser != nil else { return false }
        return try zk.getACL(root).acl.contains { $0.scheme == "world" && $0.id == "anyone" }
    }

    /// A daemon's ZooKeeper session: connects to `connectString` (with `auth`'s credentials
    /// when given) and ``prepare(_:)``s the root, logging ``openRootWarning`` when it is open.
    /// - Throws: what connecting or ``prepare(_:)`` throws; the session is closed then.
    public static func connect(
        _ connectString: String,
        sessionTimeout: Duration,
        auth: ZooKeeperAuth?,
        logger: Logger
    ) throws -> ZooKeeperClient {
        var config = ZooKeeperConfig(connectString: connectString, sessionTimeout: sessionTimeout)
        config.connectTimeout = .seconds(10)
        auth?.apply(to: &config)
        let zk = try ZooKeeperClient(config, logger: logger)
        do {
            if try prepare(zk) { logger.warning("\(openRootWarning)") }
        } catch {
            zk.close()
            throw error
        }
        return zk
    }
}
