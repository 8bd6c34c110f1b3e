/// A record to produce with a ``KafkaProducer``.
public struct KafkaProducerRecord: Hashable, Sendable {
    /// The topic to write to.
    public var topic: String
    /// The partition to write to; `nil` lets the partitioner choose from the key.
    public var partition: Int32?
    /// The key; `nil` for a record without key.
    public var key: [UInt8]?
    /// The value; `nil` for a tombstone.
    public var value: [UInt8]?
    /// Headers, in order.
    public var headers: [KafkaHeader]
    /// Timestamp in milliseconds since the Unix epoch; `nil` for the current time.
    public var timestamp: Int64?

    /// Creates a record.
    public init(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]? = nil,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}
