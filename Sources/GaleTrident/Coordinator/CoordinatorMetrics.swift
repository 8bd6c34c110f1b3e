import Synchronization

/// What a batch coordinator measured, kept per topology in this process: how long commits took
/// (commit tuple emitted to its tree acked) and how long batches took (opened to committed).
public final class CoordinatorMetrics: Sendable {
    private struct Samples {
        var commits: [Duration] = []
        var batches: [Duration] = []
        var committed: Int64 = 0
        var replays = 0
        var lastFailure: String?
    }

    /// Samples kept per kind, at most (the newest).
    static let limit = 100_000
    private let samples = Mutex(Samples())
    private static let registry = Mutex<[String: CoordinatorMetrics]>([:])

    /// The metrics of the coordinator of `topology` in this process.
    public static func of(_ topology: String) -> CoordinatorMetrics {
        registry.withLock { metrics in
            if let existing = metrics[topology] { return existing }
            let created = CoordinatorMetrics()
            metrics[topology] = created
            return created
        }
    }

    func recordCommit(txid: Int64, commit: Duration, batch: Duration) {
        samples.withLock { samples in
            samples.commits.append(commit)
            samples.batches.append(batch)
            if samples.commits.count > Self.limit { samples.commits.removeFirst(samples.commits.count - Self.limit) }
            if samples.batches.count > Self.limit { samples.batches.removeFirst(samples.batches.count - Self.limit) }
            samples.committed = txid
        }
    }

    func recordReplay(failure: String, repeated: Int) {
        samples.withLock {
            $0.replays += 1
            $0.lastFailure = "\(failure) (\(repeated) in a row)"
        }
    }

    /// The last batch failure this process saw, if any.
    public var lastFailure: String? { samples.withLock { $0.lastFailure } }

    /// The last committed txid this process saw.
    public var lastCommitted: Int64 { samples.withLock { $0.committed } }

    /// Batches started again after a failure.
    public var replays: Int { samples.withLock { $0.replays } }

    /// The `quantile` (0...1) of commit durations, or `nil` before the first commit.
    public func commitLatency(quantile: Double) -> Duration? {
        Self.quantile(samples.withLock { $0.commits }, quantile)
    }

    /// The `quantile` (0...1) of batch durations (opened to committed), or `nil` before the first.
    public func batchLatency(quantile: Double) -> Duration? {
        Self.quantile(samples.withLock { $0.batches }, quantile)
    }

    private static func quantile(_ values: [Duration], _ quantile: Double) -> Duration? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let index = min(sorted.count - 1, max(0, Int((Double(sorted.count) * quantile).rounded(.up)) - 1))
        return sorted[index]
    }
}
