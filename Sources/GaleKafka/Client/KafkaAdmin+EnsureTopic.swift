public import Logging
import Synchronization

extension KafkaAdmin {
    /// Topics this process created or found, by bootstrap servers and name.
    private static let ensured = Mutex<Set<String>>([])

    /// Creates `topic` with `partitions` partitions unless this process already did (or found it):
    /// the tasks of a component that all declare their topic ask the broker once per process.
    ///
    /// *Blocking* on the first call for a topic, like ``createTopic(_:partitions:replicationFactor:config:ignoreIfExists:timeout:)``.
    public static func ensureTopic(
        _ topic: String,
        partitions: Int32,
        config: KafkaConfig,
        logger: Logger
    ) throws(KafkaError) {
        let key = config.bootstrapServers.joined(separator: ",") + "/" + topic
        guard !ensured.withLock({ $0.contains(key) }) else { return }
        try KafkaAdmin(config: config, logger: logger).createTopic(topic, partitions: partitions)
        ensured.withLock { _ = $0.insert(key) }
    }
}
