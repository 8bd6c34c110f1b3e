public import GaleCoordination

/// A failed ``TransactionalStore`` call: what kind of failure, the operation, the path and the
/// ZooKeeper servers at fault, and where it was raised.
///
/// Switch on ``code`` to handle a kind of failure; ``isRetriable`` says whether the same call may
/// succeed later (ZooKeeper unreachable or its session being replaced).
public struct TransactionalStoreError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. Extensible: new kinds may be added, so a `switch` needs a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: Hashable, Sendable {
            case unreachable
            case sessionExpired
            case valueTooLarge
            case invalidPath
            case invalidConfiguration
            case notAuthorized
            case concurrentModification
            case closed
            case other
        }

        private let kind: Kind

        private init(_ kind: Kind) {
            self.kind = kind
        }

        /// No ZooKeeper server answered within the client's timeout, or the connection was lost
        /// during the call (the client reconnects by itself).
        public static let unreachable = Code(.unreachable)
        /// The ZooKeeper session expired; the client is opening a new one.
        public static let sessionExpired = Code(.sessionExpired)
        /// The value is bigger than ``ZooKeeperTransactionalStore/maxValueBytes``.
        public static let valueTooLarge = Code(.valueTooLarge)
        /// The path (or the topology name it lives under) cannot name a ZooKeeper node.
        public static let invalidPath = Code(.invalidPath)
        /// A setting the store needs is missing or malformed (the ZooKeeper servers).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// ZooKeeper refused access to the node (its ACL).
        public static let notAuthorized = Code(.notAuthorized)
        /// Other writers kept changing the node's parents while this call retried.
        public static let concurrentModification = Code(.concurrentModification)
        /// The ZooKeeper client was closed.
        public static let closed = Code(.closed)
        /// Any other ZooKeeper error: see ``TransactionalStoreError/zooKeeperError``.
        public static let other = Code(.other)

        public var description: String {
            "\(kind)"
        }
    }

    /// The kind of failure.
    public var code: Code
    /// The call that failed: `get`, `put`, `delete`, `children`, or `open` (connecting).
    public var operation: String
    /// The ZooKeeper node at fault (for example `/gale/transactional/words/coordinator`).
    public var path: String
    /// The ZooKeeper servers (`host:port[,host:port...]`); empty when none were given.
    public var servers: String
    /// What went wrong, in words.
    public var message: String
    /// The ZooKeeper client's error, when the failure came from it.
    public var zooKeeperError: ZooKeeperError?
    /// Whether retrying the same call may succeed.
    public var isRetriable: Bool
    /// Source location that raised the error.
    public var file: String
    /// Source line that raised the error.
    public var line: Int

    /// Creates an error.
    public init(
        code: Code,
        operation: String,
        path: String,
        servers: String,
        message: String,
        zooKeeperError: ZooKeeperError? = nil,
        isRetriable: Bool = false,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.operation = operation
        self.path = path
        self.servers = servers
        self.message = message
        self.zooKeeperError = zooKeeperError
        self.isRetriable = isRetriable
        self.file = file
        self.line = line
    }

    /// The error for a failed ZooKeeper call of `operation` on `path`.
    package init(
        _ error: ZooKeeperError,
        operation: String,
        path: String,
        servers: String,
        file: String = #fileID,
        line: Int = #line
    ) {
        let code: Code
        let retriable: Bool
        switch error {
        case .connectTimeout, .connectionLoss: (code, retriable) = (.unreachable, true)
        case .sessionExpired: (code, retriable) = (.sessionExpired, true)
        case .invalidPath: (code, retriable) = (.invalidPath, false)
        case .noAuth, .authFailed: (code, retriable) = (.notAuthorized, false)
        case .closed: (code, retriable) = (.closed, false)
        case .noNode, .nodeExists, .badVersion, .notEmpty: (code, retriable) = (.concurrentModification, true)
        case .other: (code, retriable) = (.other, false)
        }
        self.init(
            code: code,
            operation: operation,
            path: path,
            servers: servers,
            message: error.description,
            zooKeeperError: error,
            isRetriable: retriable,
            file: file,
            line: line
        )
    }

    public var description: String {
        let at = servers.isEmpty ? "" : " at ZooKeeper [\(servers)]"
        return "TransactionalStoreError.\(code): \(operation) [\(path)]\(at) failed: \(message)"
            + (isRetriable ? " (retriable)" : "") + " at \(file):\(line)"
    }
}
