/// Where the transactional layer keeps what must survive a restart: the batch coordinator's
/// progress and each spout emitter's batch metadata.
///
/// A small tree of byte values under slash-separated relative paths (`"coordinator"`,
/// `"emitters/words/0/17"`), so that a ZooKeeper implementation maps each path to a znode under
/// `/gale/transactional/<topology>`. Values stay small (well under ZooKeeper's 1 MB limit).
///
/// Empty path components are ignored (`"a//b/"` is `"a/b"`) and `""` is the store's root.
/// ``DefaultTransactionalStoreFactory`` picks ``ZooKeeperTransactionalStore`` in a cluster and
/// ``MemoryTransactionalStore`` in local mode; both play the same behaviour.
///
/// Threading: every method may be called from any thread and may block (a ZooKeeper store waits
/// for the server); callers are spout and bolt tasks on their own queues, never Swift's
/// cooperative pool.
public protocol TransactionalStore: AnyObject, Sendable {
    /// The value at `path`, or `nil` when there is none (a parent that only leads to deeper
    /// paths holds none).
    func get(_ path: String) throws -> [UInt8]?
    /// Creates or replaces the value at `path` (and any missing parents).
    func put(_ path: String, _ value: [UInt8]) throws
    /// Removes `path` and everything under it; nothing happens when it does not exist.
    func delete(_ path: String) throws
    /// The names of the direct children of `path` (empty when it has none or does not exist).
    func children(_ path: String) throws -> [String]
}

/// Opens the ``TransactionalStore`` of a topology: in memory in local mode, in ZooKeeper in a
/// cluster (when the worker's configuration names the servers).
public protocol TransactionalStoreFactory: Sendable {
    /// The store of the topology named `topology`.
    func makeStore(topology: String, settings: [String: String]) throws -> any TransactionalStore
}
