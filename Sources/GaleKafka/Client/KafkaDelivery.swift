/// Where the broker stored a produced record: the confirmation a delivery report carries.
public struct KafkaDelivery: Hashable, Sendable {
    /// The record's topic.
    public var topic: String
    /// The partition the record was written to.
    public var partition: Int32
    /// The record's offset in the partition.
    public var offset: Int64
    /// The record's timestamp in milliseconds since the Unix epoch, if known.
    public var timestamp: Int64?

    /// Creates a delivery.
    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
    }
}
