public import Gale
public import GaleKafka

/// Settings of a ``KafkaTridentSpout``.
///
/// ```swift
/// var config = KafkaTridentSpoutConfig(brokers: "127.0.0.1:9092", topic: "sentences", groupID: "word-count")
/// config.maxRecordsPerBatch = 5_000
/// config.outputFields = ["sentence"]
/// config.mapper = { record in record.value.map { [.string(String(decoding: $0, as: UTF8.self))] } }
/// topology.newStream("sentences", KafkaTridentSpout(config, parallelism: 2))
/// ```
public struct KafkaTridentSpoutConfig: Sendable {
    /// Where the first batch starts reading a partition when no earlier batch took anything of it.
    public enum FirstOffset: String, Sendable {
        /// The first record in the log.
        case earliest
        /// The end of the log when the emitter task starts: only records produced later.
        case latest
        /// The group's committed offset; the first record when the group has none.
        case committedOrEarliest
    }

    /// Turns a record into the values of a tuple (one per ``outputFields``); `nil` skips the
    /// record (its offset still belongs to the batch). A thrown error fails the batch, which is
    /// then tried again, so return `nil` for records that can never be mapped.
    public typealias Mapper = @Sendable (KafkaRecord) throws -> [GaleValue]?

    /// The client settings (brokers, timeouts, raw librdkafka properties); ``KafkaConfig/groupID``
    /// is set from ``groupID``. `fetch.wait.max.ms` defaults to 100 (librdkafka: 500), so that a
    /// batch that seeks (after a replay) finds records within about one ``pollTimeout``.
    public var client: KafkaConfig
    /// The topic to read. Emitter task `i` of `n` reads the partitions `p` with `p % n == i`,
    /// assigned explicitly (the consumer never joins the group); the partitions are those the
    /// topic has when the task starts.
    public var topic: String
    /// The consumer group whose committed offsets follow the committed batches, for monitoring
    /// and tools (and the first batch with ``FirstOffset/committedOrEarliest``). The
    /// ``TransactionalStore`` holds the authoritative offsets.
    public var groupID: String
    /// The most records one emitter task takes into one batch.
    public var maxRecordsPerBatch: Int = 10_000
    /// Where the first batch starts.
    public var firstOffset: FirstOffset = .committedOrEarliest
    /// ``TridentSpoutKind/transactional``: a replayed batch reads exactly its stored offset
    /// ranges again, and fails while it cannot. ``TridentSpoutKind/opaque`` (pair it with an opaque
    /// state): a batch starts where the previous batch ended; a replay whose start did not move
    /// reads its earlier ranges again, as far as it can within ``replayTimeout``, then goes on
    /// with fewer records rather than failing; a replay whose previous batch was replayed too
    /// starts over from that batch's new end and takes what is available. (An opaque state
    /// recomputes only the keys a replay touches, so the replay of a batch that some state
    /// partitions committed before it failed must touch every key its earlier attempt did.)
    public var kind: TridentSpoutKind = .transactional
    /// Whether records a ``KafkaTridentSink`` wrote again (a replayed batch, in idempotent mode)
    /// are dropped (see ``RepeatFilter``); records without its headers always pass.
    public var skipRepeats: Bool = true
    /// Whether each batch commits its end offsets for ``groupID`` when its commit phase reaches
    /// the emitter (possibly before another component's commit of the batch fails; the batch then
    /// replays over the same ranges). Turn it off when a ``KafkaTridentSink`` in
    /// ``KafkaTridentSinkConfig/Mode/transactional`` mode commits them with its Kafka
    /// transactions, so that they move only with those.
    public var commitGroupOffsets: Bool = true
    /// How long a new batch waits for its first record when none is fetched yet; after the first,
    /// it takes only what is already fetched.
    public var pollTimeout: Duration = .milliseconds(100)
    /// How long a new batch that had to seek (a batch after a replay) waits for its first record:
    /// the consumer fetches afresh after a seek.
    public var seekPollTimeout: Duration = .milliseconds(500)
    /// How long a replayed batch may take to read its ranges again before it fails.
    public var replayTimeout: Duration = .seconds(30)
    /// The fields of the emitted tuples; ``mapper`` must return one value per field.
    public var outputFields: [String] = KafkaTridentSpoutConfig.defaultFields
    /// Turns records into tuple values; the default gives ``defaultFields``.
    public var mapper: Mapper = KafkaTridentSpoutConfig.defaultMapper

    /// `partition`, `offset`, `key` (bytes or null), `value` (bytes or null).
    public static let defaultFields = ["partition", "offset", "key", "value"]

    /// The mapper for ``defaultFields``.
    public static let defaultMapper: Mapper = { record in
        [
            .int(Int64(record.partition)), .int(record.offset),
            record.key.map { .bytes($0) } ?? .null, record.value.map { .bytes($0) } ?? .null,
        ]
    }

    /// A configuration reading `topic` from `brokers` (`host:port[,host:port...]`) for `groupID`.
    public init(brokers: String, topic: String, groupID: String) {
        var client = KafkaConfig(bootstrapServers: brokers.split(separator: ",").map(String.init))
        client.groupID = groupID
        client.properties["fetch.wait.max.ms"] = "100"
        self.client = client
        self.topic = topic
        self.groupID = groupID
    }
}
