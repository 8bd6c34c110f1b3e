public import GaleCoordination

/// A ``TransactionalStore`` in ZooKeeper: each path is a persistent znode under
/// `/gale/transactional/<topology>`, so that a topology's batch coordinator progress and emitter
/// metadata survive restarts of its workers, supervisors and nimbus.
///
/// Paths map one to one: `"emitters/words/0/17"` is the node
/// `/gale/transactional/<topology>/emitters/words/0/17`; empty components are ignored, as in
/// ``MemoryTransactionalStore`` (`"a//b/"` is `"a/b"`), and `""` is the topology's root. It plays
/// the same behaviour as the memory store:
/// - A parent that ``put(_:_:)`` created for a deeper path holds no value: ``get(_:)`` gives `nil`
///   for it (a node holds a value when its data is non-empty or it was ever written: a version
///   above 0; an empty value is created and written in one atomic call).
/// - ``delete(_:)`` removes the node and everything under it, then the parents left without a
///   value or a child (up to the topology's root), so ``children(_:)`` names only paths with a
///   value somewhere below. A `put` interrupted by a crash may leave such an empty parent until
///   a `delete` above it.
///
/// Values are limited to ``maxValueBytes`` (ZooKeeper refuses requests near 1 MB).
///
/// Threading: every call is synchronous and blocks its thread until ZooKeeper answers, at most
/// about the session timeout when the connection is lost (the call then throws an
/// ``TransactionalStoreError/Code/unreachable`` error; the client reconnects by itself). Call it
/// from the task's own queue or thread, never from Swift's cooperative pool. Calls may come from
/// any thread at once.
public final class ZooKeeperTransactionalStore: TransactionalStore {
    /// The largest value ``put(_:_:)`` accepts: 900 KiB, below ZooKeeper's default request
    /// limit (`jute.maxbuffer`, 1 MiB less one byte) with room for the path and headers.
    public static let maxValueBytes = 900 * 1024

    /// How often a write is tried again when another writer changed the node's parents meanwhile.
    static let attempts = 8

    /// The topology name the store belongs to.
    public let topology: String
    /// The store's root node, `/gale/transactional/<topology>`.
    public let root: String
    /// The ZooKeeper servers, for error messages.
    public let servers: String
    private let client: ZooKeeperClient

    /// Opens the store of `topology` over `client`, creating its root node (and parents) if
    /// missing.
    ///
    /// The store does not own the client: closing it is the caller's business.
    /// - Parameters:
    ///   - client: a connected ZooKeeper client.
    ///   - topology: the topology's name; it must be a single node name (no `/`, not `.` or `..`).
    ///     Pass the name rather than the id (`<name>-<n>`), which changes with every submission.
    /// - Throws: ``TransactionalStoreError`` with code
    ///   ``TransactionalStoreError/Code/invalidPath`` for a bad topology name, or the ZooKeeper
    ///   failure creating the root.
    public init(client: ZooKeeperClient, topology: String) throws(TransactionalStoreError) {
        let servers = client.connectString
        guard !topology.isEmpty, topology != ".", topology != "..", !topology.contains("/"),
            !topology.contains("\0")
        else {
            throw TransactionalStoreError(
                code: .invalidPath,
                operation: "open",
                path: ClusterPaths.transactional,
                servers: servers,
                message: "the topology name [\(topology.debugDescription)] cannot name a ZooKeeper node"
            )
        }
        self.client = client
        self.topology = topology
        self.root = ClusterPaths.transactionalStore(topology)
        self.servers = servers
        try zooKeeper("open", root) { () throws(ZooKeeperError) in try client.ensurePath(root) }
    }

    public func get(_ path: String) throws(TransactionalStoreError) -> [UInt8]? {
        let node = try node(for: path, "get")
        return try zooKeeper("get", node) { () throws(ZooKeeperError) -> [UInt8]? in
            do throws(ZooKeeperError) {
                let (data, stat) = try client.get(node)
                return Self.holdsValue(stat) ? data : nil
            } catch .noNode {
                return nil
            }
        }
    }

    public func put(_ path: String, _ value: [UInt8]) throws(TransactionalStoreError) {
        let node = try node(for: path, "put")
        guard value.count <= Self.maxValueBytes else {
            throw TransactionalStoreError(
                code: .valueTooLarge,
                operation: "put",
                path: node,
                servers: servers,
                message: "the value has \(value.count) bytes; at most \(Self.maxValueBytes) fit in a ZooKeeper node"
            )
        }
        for _ in 0..<Self.attempts {
            let written = try zooKeeper("put", node) { () throws(ZooKeeperError) -> Bool in
                try write(node, value)
            }
            if written { return }
        }
        throw conflict("put", node)
    }

    /// One try of a `put`: replaces the value, or creates the node (and missing parents).
    /// - Returns: `false` when another writer created or removed the node or a parent meanwhile.
    private func write(_ node: String, _ value: [UInt8]) throws(ZooKeeperError) -> Bool {
        do {
            try client.set(node, data: value)
            return true
        } catch .noNode {
            // Not there yet: created below.
        }
        do {
            if value.isEmpty {
                // Created and written at once: its version (1) marks it as holding a value.
                try client.multi([
                    .create(path: node, data: [], mode: .persistent), .set(path: node, data: [], version: -1),
                ])
            } else {
                try client.create(node, data: value)
            }
            return true
        } catch .noNode {
            try client.ensurePath(Self.parent(of: node))
            return false
        } catch .nodeExists {
            return false
        }
    }

    public func delete(_ path: String) throws(TransactionalStoreError) {
        let node = try node(for: path, "delete")
        var deleted = false
        for _ in 0..<Self.attempts where !deleted {
            deleted = try zooKeeper("delete", node) { () throws(ZooKeeperError) -> Bool in
                do throws(ZooKeeperError) {
                    try client.deleteRecursive(node)
                    return true
                } catch .notEmpty {
                    // A child was added while its siblings were removed: start again.
                    return false
                }
            }
        }
        guard deleted else { throw conflict("delete", node) }
        try zooKeeper("delete", node) { () throws(ZooKeeperError) in try prune(above: node) }
    }

    /// Removes the parents of `node` that hold no value and have no child left, deepest first,
    /// up to (not including) the store's root. A parent that gains a child or a value meanwhile
    /// stays (the conditional delete fails).
    private func prune(above node: String) throws(ZooKeeperError) {
        var current = Self.parent(of: node)
        while current.hasPrefix(root + "/") {
            guard let stat = try client.exists(current) else {
                current = Self.parent(of: current)
                continue
            }
            guard stat.numChildren == 0, !Self.holdsValue(stat) else { return }
            do {
                try client.delete(current, version: stat.version)
            } catch .notEmpty, .badVersion {
                return
            } catch .noNode {
                // Pruned by another caller.
            }
            current = Self.parent(of: current)
        }
    }

    public func children(_ path: String) throws(TransactionalStoreError) -> [String] {
        let node = try node(for: path, "children")
        return try zooKeeper("children", node) { () throws(ZooKeeperError) -> [String] in
            do throws(ZooKeeperError) {
                return try client.children(node).sorted()
            } catch .noNode {
                return []
            }
        }
    }

    // MARK: - Paths and errors

    /// The node of the relative `path`.
    private func node(for path: String, _ operation: String) throws(TransactionalStoreError) -> String {
        let parts = path.split(separator: "/")
        for part in parts where part == "." || part == ".." || part.contains("\0") {
            throw TransactionalStoreError(
                code: .invalidPath,
                operation: operation,
                path: path,
                servers: servers,
                message: "the path [\(path.debugDescription)] of topology [\(topology)] has the component "
                    + "[\(String(part).debugDescription)], which cannot name a ZooKeeper node"
            )
        }
        return parts.isEmpty ? root : root + "/" + parts.joined(separator: "/")
    }

    private static func parent(of node: String) -> String {
        guard let slash = node.lastIndex(of: "/"), slash != node.startIndex else { return "/" }
        return String(node[..<slash])
    }

    /// Whether a node holds a value rather than being only a parent: parents are created empty
    /// and never written, so their version stays 0.
    private static func holdsValue(_ stat: ZooKeeperStat) -> Bool {
        stat.dataLength > 0 || stat.version > 0
    }

    /// Runs ZooKeeper calls of `operation` on `node`, turning their error into a store error.
    private func zooKeeper<T>(
        _ operation: String,
        _ node: String,
        _ body: () throws(ZooKeeperError) -> T
    ) throws(TransactionalStoreError) -> T {
        do {
            return try body()
        } catch {
            throw TransactionalStoreError(error, operation: operation, path: node, servers: servers)
        }
    }

    private func conflict(_ operation: String, _ node: String) -> TransactionalStoreError {
        TransactionalStoreError(
            code: .concurrentModification,
            operation: operation,
            path: node,
            servers: servers,
            message: "other writers kept creating or removing the node or its parents (\(Self.attempts) attempts)",
            isRetriable: true
        )
    }
}
