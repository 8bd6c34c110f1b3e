extension Duration {
    /// The duration in seconds, as a `Double` (for rates, logs and C APIs taking seconds).
    package var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in whole milliseconds, rounded towards zero (window lengths and timestamps).
    package var inMilliseconds: Int64 {
        components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000
    }
}
