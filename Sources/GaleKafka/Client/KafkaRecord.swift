/// A record read by a ``KafkaConsumer``. Its bytes are copied out of librdkafka's buffers.
public struct KafkaRecord: Hashable, Sendable {
    /// The topic it was read from.
    public var topic: String
    /// The partition it was read from.
    public var partition: Int32
    /// Its offset in the partition.
    public var offset: Int64
    /// Its key; `nil` for a record without key.
    public var key: [UInt8]?
    /// Its value; `nil` for a tombstone.
    public var value: [UInt8]?
    /// Its headers, in order.
    public var headers: [KafkaHeader]
    /// Its timestamp in milliseconds since the Unix epoch, if the broker reported one.
    public var timestamp: Int64?

    /// Creates a record.
    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}
