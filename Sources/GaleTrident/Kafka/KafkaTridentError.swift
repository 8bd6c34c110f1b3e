/// Errors of the Kafka spout and sink of the transactional layer, each naming the topic,
/// partition or setting at fault. Errors of the Kafka client itself come as `KafkaError`.
public enum KafkaTridentError: Error, CustomStringConvertible, Equatable {
    /// Stored batch metadata does not decode (the message says where).
    case corruptMetadata(String)
    /// A replayed batch could not read its whole offset range within the timeout (records gone
    /// from the log, or the broker unreachable); the batch fails and is tried again.
    case replayIncomplete(topic: String, partition: Int32, start: Int64, end: Int64, reached: Int64?, txid: Int64)
    /// A setting is invalid.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .corruptMetadata(let detail):
            "corrupt Kafka batch metadata: \(detail)"
        case .replayIncomplete(let topic, let partition, let start, let end, let reached, let txid):
            "replay of batch \(txid): [\(topic)][\(partition)] offsets \(start)..<\(end) not read in time "
                + "(reached \(reached.map(String.init) ?? "nothing")); the batch fails and is tried again"
        case .invalidConfiguration(let detail):
            "invalid Kafka transactional configuration: \(detail)"
        }
    }
}
