/// Connection settings of a ``ZooKeeperClient``.
public struct ZooKeeperConfig: Sendable {
    /// `host:port[,host:port...]`.
    public var connectString: String
    /// The session timeout asked of the server.
    public var sessionTimeout: Duration
    /// How long `init` waits for the first session.
    public var connectTimeout: Duration
    /// When set, the client authenticates with this digest identity (`init` fails when ZooKeeper
    /// refuses it) and creates nodes with ``ZooKeeperACL/creatorAll``: readable and writable by
    /// that identity only. Otherwise nodes are open (``ZooKeeperACL/anyone``).
    public var digest: (user: String, password: String)?

    public init(connectString: String, sessionTimeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(5))
    {
        self.connectString = connectString
        self.sessionTimeout = sessionTimeout
        self.connectTimeout = connectTimeout
    }
}

/// How a node is created.
public enum ZooKeeperCreateMode: Sendable {
    case persistent, ephemeral, persistentSequential, ephemeralSequential

    var flags: Int32 {
        switch self {
        case .persistent: 0
        case .ephemeral: 1
        case .persistentSequential: 2
        case .ephemeralSequential: 3
        }
    }
}

/// What an ACL entry allows (ZooKeeper's `ZOO_PERM_*` bits).
public struct ZooKeeperPermissions: OptionSet, Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let read = ZooKeeperPermissions(rawValue: 1)
    public static let write = ZooKeeperPermissions(rawValue: 2)
    public static let create = ZooKeeperPermissions(rawValue: 4)
    public static let delete = ZooKeeperPermissions(rawValue: 8)
    public static let admin = ZooKeeperPermissions(rawValue: 16)
    public static let all: ZooKeeperPermissions = [.read, .write, .create, .delete, .admin]
}

/// One entry of a node's access control list: the identity (`scheme` and `id`) and what it may do.
public struct ZooKeeperACL: Sendable, Hashable, CustomStringConvertible {
    /// `world`, `digest`, `ip`, `auth`, ...
    public var scheme: String
    /// The identity within the scheme: `anyone` for `world`, `USER:BASE64(SHA1(USER:PASSWORD))`
    /// for `digest`.
    public var id: String
    public var permissions: ZooKeeperPermissions

    public init(scheme: String, id: String, permissions: ZooKeeperPermissions) {
        self.scheme = scheme
        self.id = id
        self.permissions = permissions
    }

    /// Everything for everyone (`world:anyone`, all permissions): no protection.
    public static let anyone = ZooKeeperACL(scheme: "world", id: "anyone", permissions: .all)

    /// Everything for the identities the session authenticated as (`auth` with an empty id);
    /// ZooKeeper stores those identities in its place, so the node's ACL names its creator.
    public static let creatorAll = ZooKeeperACL(scheme: "auth", id: "", permissions: .all)

    /// `scheme:id:perms` as `zkCli.sh` shows it, perms in `cdrwa` letters.
    public var description: String {
        let letters: [(ZooKeeperPermissions, Character)] = [
            (.create, "c"), (.delete, "d"), (.read, "r"), (.write, "w"), (.admin, "a"),
        ]
        return "\(scheme):\(id):" + String(letters.filter { permissions.contains($0.0) }.map { $0.1 })
    }
}

/// A node's metadata.
public struct ZooKeeperStat: Sendable, Equatable {
    public var version: Int32
    public var czxid: Int64
    public var mzxid: Int64
    public var ephemeralOwner: Int64
    public var numChildren: Int32
    public var dataLength: Int32
}

/// What a one-shot watch saw.
public struct ZooKeeperWatchEvent: Sendable {
    public enum Kind: Sendable { case created, deleted, dataChanged, childrenChanged, session, notWatching }
    public var kind: Kind
    public var path: String
}

/// A watch callback; runs on the client's event queue, where calling the client is allowed.
public typealias ZooKeeperWatch = @Sendable (ZooKeeperWatchEvent) -> Void

/// Changes of the client's session.
public enum ZooKeeperSessionEvent: Sendable, Equatable {
    /// Connected (again) within the same session.
    case connected
    /// Connection lost; the client reconnects by itself while the session lives.
    case disconnected
    /// The server expired the session: its ephemeral nodes and watches are gone.
    case expired
    /// A new session replaced an expired one: this client's ephemeral nodes were re-created;
    /// owners re-arm their watches.
    case sessionReplaced
}

/// One operation of ``ZooKeeperClient/multi(_:)``.
public enum ZooKeeperOp: Sendable {
    case create(path: String, data: [UInt8], mode: ZooKeeperCreateMode)
    case set(path: String, data: [UInt8], version: Int32)
    case delete(path: String, version: Int32)
    case check(path: String, version: Int32)

    var path: String {
        switch self {
        case .create(let path, _, _), .set(let path, _, _), .delete(let path, _), .check(let path, _): path
        }
    }
}

/// A failed ZooKeeper call.
public enum ZooKeeperError: Error, Sendable, Equatable, CustomStringConvertible {
    case connectTimeout(connectString: String, seconds: Double)
    /// The servers refused the client's digest credentials, or the identity they name may not
    /// use the nodes it must (`reason` says which).
    case authFailed(connectString: String, user: String, reason: String)
    case noNode(String)
    case nodeExists(String)
    case badVersion(String)
    case notEmpty(String)
    case noAuth(String)
    case invalidPath(String)
    case connectionLoss(String)
    case sessionExpired
    case closed
    case other(code: Int32, message: String, path: String)

    public var description: String {
        switch self {
        case .connectTimeout(let s, let seconds): "ZooKeeper at \(s) did not answer within \(seconds) s"
        case .authFailed(let s, let user, let reason):
            "ZooKeeper at \(s) does not accept the digest credentials of user '\(user)': \(reason)"
        case .noNode(let p): "no ZooKeeper node \(p)"
        case .nodeExists(let p): "ZooKeeper node \(p) already exists"
        case .badVersion(let p): "ZooKeeper node \(p) changed meanwhile (version mismatch)"
        case .notEmpty(let p): "ZooKeeper node \(p) has children"
        case .noAuth(let p): "not authorized for ZooKeeper node \(p)"
        case .invalidPath(let p): "invalid ZooKeeper path '\(p)'"
        case .connectionLoss(let p): "ZooKeeper connection lost (at \(p))"
        case .sessionExpired: "ZooKeeper session expired"
        case .closed: "ZooKeeper client closed"
        case .other(let code, let message, let path): "ZooKeeper error \(code) (\(message)) at \(path)"
        }
    }
}
