/// Settings of a transactional topology.
public struct TridentConfig: Sendable {
    /// Batches processed at once, at most (they commit one at a time, in order).
    public var maxBatchesInFlight: Int = 5
    /// The least time between opening two batches; zero opens them as fast as they commit.
    public var batchEmitInterval: Duration = .zero
    /// The most records one emitter task may put in one batch; more fails the batch with a clear error.
    public var maxBatchSize: Int = 100_000
    /// How long the coordinator waits before running a batch that failed twice in a row again;
    /// each further failure of that batch doubles the wait, up to ``maxRetryDelay``. (A first
    /// failure runs again at once.) A batch that cannot succeed (its records deleted from a
    /// Kafka log, an aggregator that keeps throwing) is then retried a few times a minute, not in
    /// a tight loop.
    public var retryDelay: Duration = .milliseconds(100)
    /// The longest wait between two tries of a failing batch.
    public var maxRetryDelay: Duration = .seconds(10)
    /// Where the coordinator's progress and the emitters' metadata live: in memory in local mode,
    /// in ZooKeeper in a cluster (see ``DefaultTransactionalStoreFactory``).
    public var storeFactory: any TransactionalStoreFactory = DefaultTransactionalStoreFactory()

    /// Default settings.
    public init() {}

    /// The wait before the next try of a batch that failed `failures` times in a row.
    func retryDelay(afterFailures failures: Int) -> Duration {
        guard failures > 1 else { return .zero }
        var delay = max(retryDelay, .zero)
        for _ in 2..<min(failures, 40) {
            delay *= 2
            if delay >= maxRetryDelay { return maxRetryDelay }
        }
        return min(delay, maxRetryDelay)
    }
}
