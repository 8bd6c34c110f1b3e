/// Settings of a transactional topology.
public struct TridentConfig: Sendable {
    /// Batches processed at once, at most (they commit one at a time, in order).
    public var maxBatchesInFlight: Int = 5
    /// The least time between opening two batches; zero opens them as fast as they commit.
    public var batchEmitInterval: Duration = .zero
    /// The most records one emitter task may put in one batch; more fails the batch with a clear error.
    public var maxBatchSize: Int = 100_000
    /// Where the coordinator's progress and the emitters' metadata live: in memory in local mode,
    /// in ZooKeeper in a cluster (see ``DefaultTransactionalStoreFactory``).
    public var storeFactory: any TransactionalStoreFactory = DefaultTransactionalStoreFactory()

    /// Default settings.
    public init() {}
}
