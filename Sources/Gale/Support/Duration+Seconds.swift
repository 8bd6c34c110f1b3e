extension Duration {
    /// The duration in seconds, as a `Double` (for rates, logs and C APIs taking seconds).
    package var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
