public import Gale

/// The metadata a ``KafkaTridentSpout`` emitter task stores for each batch (txid): its topic and
/// consumer group, and per partition it reads the offset range the batch took
/// (``KafkaPartitionBatch``).
///
/// A partition is missing while the task has not yet found where it starts (a first offset of
/// ``KafkaTridentSpoutConfig/FirstOffset/earliest`` or ``KafkaTridentSpoutConfig/FirstOffset/latest``
/// before its first record): no batch has taken anything of it.
///
/// Stored as a ``GaleValue`` map (canonical bytes in the ``TransactionalStore`` at
/// `emitters/<stream>/<task>/<txid>`):
/// `["topic": topic, "group": group, "partitions": ["0": range, "2": range, ...]]`.
/// A ``KafkaTridentSink`` reads it to commit the input offsets of a batch with its Kafka transaction.
public struct KafkaBatchMetadata: Hashable, Sendable {
    /// The topic read.
    public var topic: String
    /// The consumer group whose offsets follow the batches.
    public var groupID: String
    /// The range of each partition, by partition id.
    public var partitions: [Int32: KafkaPartitionBatch]

    /// Metadata from its parts.
    public init(topic: String, groupID: String, partitions: [Int32: KafkaPartitionBatch]) {
        self.topic = topic
        self.groupID = groupID
        self.partitions = partitions
    }

    /// The metadata as a value.
    public var value: GaleValue {
        var ranges: [String: GaleValue] = [:]
        for (partition, range) in partitions { ranges[String(partition)] = range.value }
        return .map(["topic": .string(topic), "group": .string(groupID), "partitions": .map(ranges)])
    }

    /// Decodes ``value``.
    ///
    /// - Throws: ``KafkaTridentError/corruptMetadata(_:)`` naming what does not decode.
    public init(value: GaleValue) throws(KafkaTridentError) {
        guard let map = value.mapValue, let topic = map["topic"]?.stringValue, let group = map["group"]?.stringValue,
            let ranges = map["partitions"]?.mapValue
        else {
            throw .corruptMetadata("a \(value.typeName), not a map with topic, group and partitions")
        }
        var partitions: [Int32: KafkaPartitionBatch] = [:]
        for (key, range) in ranges {
            guard let partition = Int32(key), partition >= 0 else {
                throw .corruptMetadata("topic [\(topic)]: partition [\(key)] is not a partition id")
            }
            do {
                partitions[partition] = try KafkaPartitionBatch(value: range)
            } catch {
                throw .corruptMetadata("topic [\(topic)] partition \(partition): \(error)")
            }
        }
        self.init(topic: topic, groupID: group, partitions: partitions)
    }

    /// The metadata in `value` when it is a Kafka spout's (a map with a `topic`), `nil` for the
    /// metadata of other spouts.
    ///
    /// - Throws: ``KafkaTridentError/corruptMetadata(_:)`` when it looks like a Kafka spout's but
    ///   does not decode.
    public static func decodeIfKafka(_ value: GaleValue) throws(KafkaTridentError) -> KafkaBatchMetadata? {
        guard let map = value.mapValue, map["topic"] != nil, map["partitions"] != nil else { return nil }
        return try KafkaBatchMetadata(value: value)
    }
}
