/// A transactional or opaque spout over a Kafka topic (Storm's `KafkaTridentSpoutTransactional`
/// and `KafkaTridentSpoutOpaque`).
///
/// Each emitter task reads its partitions (partition `p` goes to task `p % tasks`) and stores,
/// per batch, the offset range it took of each (``KafkaBatchMetadata``). A new batch starts where
/// the previous one ended and takes what is available, up to ``KafkaTridentSpoutConfig/maxRecordsPerBatch``
/// records per task (possibly none). A replayed batch of a ``TridentSpoutKind/transactional``
/// spout reads exactly its stored ranges again: the same records, emitted in the same order
/// (by partition, then offset); an ``TridentSpoutKind/opaque`` one reads them again as far as it
/// can, or starts over from the previous batch's end when that moved (see
/// ``KafkaTridentSpoutConfig/kind``). Records written again by a ``KafkaTridentSink`` are dropped
/// (``KafkaTridentSpoutConfig/skipRepeats``).
///
/// The stored metadata is authoritative: the group's committed offsets follow the committed
/// batches for monitoring only (``KafkaTridentSpoutConfig/commitGroupOffsets``), and are read
/// only for the very first batch (``KafkaTridentSpoutConfig/FirstOffset/committedOrEarliest``).
public struct KafkaTridentSpout: TridentSpout {
    /// The settings.
    public let config: KafkaTridentSpoutConfig
    public let parallelism: Int

    /// A spout reading as `config` says with `parallelism` emitter tasks.
    public init(_ config: KafkaTridentSpoutConfig, parallelism: Int = 1) {
        self.config = config
        self.parallelism = max(1, parallelism)
    }

    public var outputFields: [String] { config.outputFields }
    public var kind: TridentSpoutKind { config.kind }
    public var maxBatchSize: Int { config.maxRecordsPerBatch }

    /// A batch may always open: a batch with no new records is fine.
    public func isReady(txid: Int64) -> Bool { true }

    public func makeEmitter(context: EmitterContext) throws -> any BatchEmitter {
        try KafkaTridentEmitter(config: config, context: context)
    }
}
