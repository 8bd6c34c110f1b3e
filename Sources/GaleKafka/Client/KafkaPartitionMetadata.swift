/// A partition in a ``KafkaTopicMetadata``.
public struct KafkaPartitionMetadata: Hashable, Sendable {
    /// The partition's index.
    public var id: Int32
    /// The broker id of its leader (-1 when it has none).
    public var leader: Int32
    /// Broker ids of its replicas.
    public var replicas: [Int32]
    /// Broker ids of its in-sync replicas.
    public var inSyncReplicas: [Int32]

    /// Creates partition metadata.
    public init(id: Int32, leader: Int32, replicas: [Int32] = [], inSyncReplicas: [Int32] = []) {
        self.id = id
        self.leader = leader
        self.replicas = replicas
        self.inSyncReplicas = inSyncReplicas
    }
}
