/// A partition of a topic, with an offset where one applies (assignment, seek, commit, committed
/// offsets).
public struct KafkaTopicPartition: Hashable, Sendable, CustomStringConvertible {
    /// The topic's name.
    public var topic: String
    /// The partition's index.
    public var partition: Int32
    /// The offset; ``KafkaOffset/invalid`` where none applies or none is committed.
    public var offset: KafkaOffset

    /// Creates a topic partition.
    public init(topic: String, partition: Int32, offset: KafkaOffset = .invalid) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public var description: String {
        "\(topic)[\(partition)]@\(offset)"
    }
}
