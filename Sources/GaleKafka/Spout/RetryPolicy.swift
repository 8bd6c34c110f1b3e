import Gale

/// When a failed Kafka record is emitted again: exponential backoff up to a number of retries.
///
/// Retry `n` (from 1) waits `initialDelay * multiplier^(n-1)`, at most `maxDelay`. After
/// `maxRetries` retries a record that fails again is exhausted: the spout dead-letters or drops it.
public struct RetryPolicy: Hashable, Sendable {
    /// The wait before the first retry.
    public var initialDelay: Duration
    /// The factor between consecutive waits (1 for a constant delay).
    public var multiplier: Double
    /// The longest wait.
    public var maxDelay: Duration
    /// The number of retries; 0 hands a record back as exhausted on its first failure.
    public var maxRetries: Int

    /// A policy from its four settings.
    ///
    /// - Parameters:
    ///   - initialDelay: The wait before the first retry (default 500 ms).
    ///   - multiplier: The factor between consecutive waits, at least 1 (default 2).
    ///   - maxDelay: The longest wait (default 60 s).
    ///   - maxRetries: The number of retries, at least 0 (default 5).
    public init(
        initialDelay: Duration = .milliseconds(500),
        multiplier: Double = 2,
        maxDelay: Duration = .seconds(60),
        maxRetries: Int = 5
    ) {
        self.initialDelay = max(.zero, initialDelay)
        self.multiplier = max(1, multiplier)
        self.maxDelay = max(self.initialDelay, maxDelay)
        self.maxRetries = max(0, maxRetries)
    }

    /// A policy that never retries: every failure is exhausted at once.
    public static let noRetries = RetryPolicy(initialDelay: .zero, maxDelay: .zero, maxRetries: 0)

    /// The wait before retry `retry` (1 for the first), or `nil` when the policy allows no such retry.
    public func delay(beforeRetry retry: Int) -> Duration? {
        guard retry >= 1, retry <= maxRetries else { return nil }
        let initial = initialDelay.inSeconds
        let cap = maxDelay.inSeconds
        var delay = initial
        for _ in 1..<retry {
            delay *= multiplier
            if delay >= cap { break }
        }
        return delay >= cap ? maxDelay : .nanoseconds(Int64((delay * 1e9).rounded()))
    }

    /// The waits before each retry, in order.
    public var schedule: [Duration] {
        var schedule: [Duration] = []
        for retry in stride(from: 1, through: maxRetries, by: 1) {
            if let delay = delay(beforeRetry: retry) { schedule.append(delay) }
        }
        return schedule
    }
}
