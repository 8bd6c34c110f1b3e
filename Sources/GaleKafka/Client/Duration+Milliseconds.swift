extension Duration {
    /// The duration in whole milliseconds, rounded up so that a positive duration is never 0.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let fraction = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return seconds * 1_000 + fraction
    }

    /// The duration in milliseconds as librdkafka's `int timeout_ms`, clamped to `0...Int32.max`.
    var timeoutMilliseconds: Int32 {
        Int32(clamping: Swift.max(0, milliseconds))
    }
}
