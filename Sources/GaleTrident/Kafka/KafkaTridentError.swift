/// Errors of the Kafka spout and sink of the transactional layer, each naming the topic,
/// partition or setting at fault. Errors of the Kafka client itself come as `KafkaError`.
public enum KafkaTridentError: Error, CustomStringConvertible, Equatable {
    /// Stored batch metadata does not decode (the message says where).
    case corruptMetadata(String)
    /// A replayed batch could not read its whole offset range within the timeout (records gone
    /// from the log, or the broker unreachable); the batch fails and is tried again.
    case replayIncomplete(topic: String, partition: Int32, start: Int64, end: Int64, reached: Int64?, txid: Int64)
    /// A transactional replay needs records the log no longer holds: the partition now starts at
    /// `earliest`, after the batch's first offset (retention or a deletion removed them). A
    /// transactional batch can only run again with exactly its records, so it fails every time it
    /// is tried; an opaque spout (``TridentSpoutKind/opaque``) goes on with what is left instead.
    case replayRecordsDeleted(topic: String, partition: Int32, start: Int64, end: Int64, earliest: Int64, txid: Int64)
    /// A setting is invalid.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .corruptMetadata(let detail):
            "corrupt Kafka batch metadata: \(detail)"
        case .replayIncomplete(let topic, let partition, let start, let end, let reached, let txid):
            "replay of batch \(txid): [\(topic)][\(partition)] offsets \(start)..<\(end) not read in time "
                + "(reached \(reached.map(String.init) ?? "nothing")); the batch fails and is tried again"
        case .replayRecordsDeleted(let topic, let partition, let start, let end, let earliest, let txid):
            "replay of batch \(txid): [\(topic)][\(partition)] offsets \(start)..<\(end) are no longer in the log "
                + "(it starts at offset \(earliest) now: retention or a deletion removed them); a transactional "
                + "batch runs again only with exactly its records, so it fails each time it is tried. Restore "
                + "the records, or read such topics with an opaque spout (kind .opaque, with an opaque state)"
        case .invalidConfiguration(let detail):
            "invalid Kafka transactional configuration: \(detail)"
        }
    }
}
