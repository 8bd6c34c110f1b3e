public import Gale
public import GaleKafka

/// Settings of a ``KafkaTridentSink``.
///
/// ```swift
/// var config = KafkaTridentSinkConfig(brokers: "127.0.0.1:9092", topic: "counts", mode: .transactional)
/// config.mapper = KafkaTridentSinkConfig.fields(key: "word", value: "count")
/// stream.sink("counts-out", KafkaTridentSink(config))
/// ```
public struct KafkaTridentSinkConfig: Sendable {
    /// How a replayed batch is kept from showing twice in the topic.
    public enum Mode: String, Sendable {
        /// Each task writes each batch in one Kafka transaction (transactional id
        /// `<topology>-<sink>-<task>`), which also commits the batch's input offsets for the
        /// upstream ``KafkaTridentSpout``'s group (task 0 only). Read-committed consumers see each
        /// batch once; a replay of a batch a task already committed is skipped.
        case transactional
        /// An idempotent producer; every record carries its ``SinkRecordPosition`` in headers, so
        /// that a ``KafkaTridentSpout`` with ``KafkaTridentSpoutConfig/skipRepeats`` (or any reader
        /// applying ``RepeatFilter``) drops the records of a replayed batch written again. Works
        /// with any broker, no transactions needed.
        case idempotent
    }

    /// Turns one record of a batch (its values, named by the sink's input fields) into the record
    /// to write; topic and partition are filled in when empty or `nil`. `nil` writes nothing for
    /// it; a thrown error fails the batch.
    public typealias Mapper = @Sendable (TridentTuple) throws -> KafkaProducerRecord?

    /// The client settings (brokers, acks, timeouts, raw librdkafka properties).
    public var client: KafkaConfig
    /// The topic written.
    public var topic: String
    /// How replays are made harmless.
    public var mode: Mode
    /// When set, the topic is created with this many partitions if it does not exist yet.
    public var createTopicPartitions: Int32?
    /// How long a write may wait for the broker to confirm its records (idempotent mode) before it
    /// fails the batch.
    public var flushTimeout: Duration = .seconds(30)
    /// Turns records into Kafka records; the default writes field `key` (if there is one) as the
    /// key and field `value` (or the last field) as the value (``fields(key:value:)``).
    public var mapper: Mapper = KafkaTridentSinkConfig.fields(key: "key", value: "value")
    /// Called by each write after the batch's records were produced (and, in transactional mode,
    /// its offsets sent) and before the write completes (the transaction commits, or the
    /// deliveries are awaited); a thrown error fails the write as a broker error would (the
    /// transaction aborts). For fault injection in tests, and checks.
    public var beforeCommit: (@Sendable (_ txid: Int64, _ taskIndex: Int) throws -> Void)?

    /// A configuration writing to `topic` on `brokers` (`host:port[,host:port...]`) in `mode`.
    public init(brokers: String, topic: String, mode: Mode) {
        self.client = KafkaConfig(bootstrapServers: brokers.split(separator: ",").map(String.init))
        self.topic = topic
        self.mode = mode
    }

    /// A mapper writing field `key` (when given and present) as the key and field `value` as the
    /// value (the last field when `value` is `nil` or absent); see ``bytes(_:)``.
    public static func fields(key: String?, value: String?) -> Mapper {
        { tuple in
            let keyValue = key.flatMap { tuple.fields.contains($0) ? tuple[$0] : nil }
            let valueValue = value.flatMap { tuple.fields.contains($0) ? tuple[$0] : nil } ?? tuple.values.last ?? .null
            return KafkaProducerRecord(topic: "", key: keyValue.flatMap(bytes), value: bytes(valueValue))
        }
    }

    /// The bytes written for a value: strings as UTF-8, bytes as they are, `nil` for null, other
    /// values as their text.
    public static func bytes(_ value: GaleValue) -> [UInt8]? {
        switch value {
        case .null: nil
        case .string(let string): Array(string.utf8)
        case .bytes(let bytes): bytes
        default: Array(value.description.utf8)
        }
    }
}
