/// A topic's metadata: its partitions, sorted by index.
public struct KafkaTopicMetadata: Hashable, Sendable {
    /// The topic's name.
    public var name: String
    /// Its partitions, sorted by ``KafkaPartitionMetadata/id``.
    public var partitions: [KafkaPartitionMetadata]

    /// Creates topic metadata.
    public init(name: String, partitions: [KafkaPartitionMetadata]) {
        self.name = name
        self.partitions = partitions
    }
}
