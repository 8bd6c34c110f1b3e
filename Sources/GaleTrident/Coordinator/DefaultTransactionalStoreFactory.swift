import GaleCoordination

/// Opens a topology's ``TransactionalStore`` where it belongs: in ZooKeeper when the settings
/// name servers (`gale.zookeeper.servers`, which every cluster worker sets), in this process's
/// memory otherwise (local mode: ``MemoryTransactionalStore/named(_:)``).
///
/// Threading: opening a ZooKeeper store blocks while it connects; see
/// ``ZooKeeperTransactionalStoreFactory``.
public struct DefaultTransactionalStoreFactory: TransactionalStoreFactory {
    /// The factory used when the settings name ZooKeeper servers.
    public var zooKeeper: ZooKeeperTransactionalStoreFactory

    /// - Parameter zooKeeper: opens the stores in ZooKeeper (its timeouts).
    public init(zooKeeper: ZooKeeperTransactionalStoreFactory = ZooKeeperTransactionalStoreFactory()) {
        self.zooKeeper = zooKeeper
    }

    /// The store of the topology named `topology`.
    /// - Throws: ``TransactionalStoreError`` from ``ZooKeeperTransactionalStoreFactory`` when
    ///   ZooKeeper is named but cannot be used; a memory store never fails.
    public func makeStore(
        topology: String,
        settings: [String: String]
    ) throws(TransactionalStoreError) -> any TransactionalStore {
        guard ZooKeeperTransactionalStoreFactory.servers(in: settings) != nil else {
            return MemoryTransactionalStore.named(topology)
        }
        return try zooKeeper.makeStore(topology: topology, settings: settings)
    }
}
