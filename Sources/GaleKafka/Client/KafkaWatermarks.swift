/// A partition's low and high watermarks as the broker reports them.
///
/// - Important: Brokers differ on the high watermark of the newest batch (Apache Kafka reports the
///   end offset, Tansu the last batch's base offset); do not rely on it as an exact end.
public struct KafkaWatermarks: Hashable, Sendable {
    /// The first offset in the partition.
    public var low: Int64
    /// The high watermark.
    public var high: Int64

    /// Creates watermarks.
    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}
