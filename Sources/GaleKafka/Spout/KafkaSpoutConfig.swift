public import Gale

/// Settings of a ``KafkaSpout``.
///
/// ```swift
/// var config = KafkaSpoutConfig(brokers: "127.0.0.1:9092", topic: "input", groupID: "parse")
/// config.retry = RetryPolicy(initialDelay: .milliseconds(200), maxRetries: 3)
/// config.afterRetries = .deadLetter(topic: "input-dlq")
/// builder.setSpout("input", parallelism: 2) { KafkaSpout(config) }
/// ```
public struct KafkaSpoutConfig: Sendable {
    /// Where a spout task starts reading a partition.
    public enum FirstPollOffset: String, Sendable {
        /// The first record in the log, whatever the group committed.
        case earliest
        /// The end of the log, whatever the group committed.
        case latest
        /// The group's committed offset; the first record when there is none or it is out of range.
        case committedOrEarliest
        /// The group's committed offset; the end of the log when there is none or it is out of range.
        case committedOrLatest
    }

    /// What happens to a record that failed after its last retry, or that ``mapper`` rejects.
    public enum AfterRetries: Sendable, Equatable {
        /// Written as-is (key, value, headers plus `gale-error`, `gale-source`) to this topic;
        /// its offset is committed once the broker confirms.
        case deadLetter(topic: String)
        /// Logged and skipped.
        case drop
    }

    /// Turns a record into the values of a tuple; `nil` skips the record (it counts as done).
    /// A thrown error is logged and reported, and the record goes to ``afterRetries``.
    public typealias Mapper = @Sendable (KafkaRecord) throws -> [GaleValue]?

    /// The client settings (brokers, timeouts, raw librdkafka properties). ``KafkaConfig/groupID``
    /// is set from ``groupID``.
    public var client: KafkaConfig
    /// The topic to read.
    public var topic: String
    /// The consumer group whose offsets this spout commits. The spout never joins the group:
    /// partition `p` is read by the spout task whose index is `p % tasks`.
    public var groupID: String
    /// When set, the topic is created with this many partitions if it does not exist yet (by
    /// the first task to open); otherwise a missing topic fails the spout's `open`.
    public var createTopicPartitions: Int32?
    /// Where to start each partition.
    public var firstPollOffset: FirstPollOffset = .committedOrEarliest
    /// Records per partition emitted but not yet committable before that partition pauses: the
    /// in-flight window, what a crash may replay. Records a poll returned beyond it are held back
    /// (not emitted) until commits catch up; the paused partition fetches again once half of its
    /// window is committed. Only the remaining chunks of a payload being reassembled go past it,
    /// so that the payload completes.
    public var maxUncommittedOffsets: Int = 10_000
    /// How often acked offsets are committed (and once more on close).
    public var commitInterval: Duration = .seconds(1)
    /// Records taken per `nextTuple` call.
    public var maxPollRecords: Int = 512
    /// Retries of failed tuples.
    public var retry: RetryPolicy = RetryPolicy()
    /// What becomes of a record whose retries are exhausted or that the mapper rejects.
    public var afterRetries: AfterRetries = .drop
    /// Memory budget for reassembling chunked payloads (see ``ChunkEncoder``), across partitions.
    ///
    /// A payload larger than this is rejected (dead-lettered or dropped as ``afterRetries`` says,
    /// the dead-letter record naming its offsets; its chunks stay in the topic). A payload that
    /// fits alone but not beside other partitions' payloads waits: its partition pauses until
    /// memory frees. On one partition, a payload that begins while another is half reassembled
    /// and does not fit beside it is rejected, as its partition cannot wait without starving the other.
    public var chunkMemoryBudget: Int = 512 * 1024 * 1024
    /// The fields of the emitted tuples; ``mapper`` must return one value per field.
    public var outputFields: [String] = KafkaSpoutConfig.defaultFields
    /// Turns records into tuple values; the default gives ``defaultFields``.
    public var mapper: Mapper = KafkaSpoutConfig.defaultMapper

    /// `topic`, `partition`, `offset`, `key` (bytes or null), `value` (bytes or null).
    public static let defaultFields = ["topic", "partition", "offset", "key", "value"]

    /// The mapper for ``defaultFields``.
    public static let defaultMapper: Mapper = { record in
        [
            .string(record.topic), .int(Int64(record.partition)), .int(record.offset),
            record.key.map { .bytes($0) } ?? .null, record.value.map { .bytes($0) } ?? .null,
        ]
    }

    /// A configuration reading `topic` from `brokers` (`host:port[,host:port...]`) for `groupID`.
    public init(brokers: String, topic: String, groupID: String) {
        var client = KafkaConfig(bootstrapServers: brokers.split(separator: ",").map(String.init))
        client.groupID = groupID
        self.client = client
        self.topic = topic
        self.groupID = groupID
    }
}
