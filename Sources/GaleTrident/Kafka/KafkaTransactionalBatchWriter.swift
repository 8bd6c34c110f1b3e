import Gale
import GaleKafka
import Logging

/// The writer of one task of a ``KafkaTridentSink`` in transactional mode: one transactional
/// producer (transactional id `<topology>-<sink>-<task>`, initialised once; a later producer with
/// the same id fences it and aborts what it left open) and one Kafka transaction per batch.
///
/// A write begins a transaction, produces the task's records, sends the batch's input offsets
/// (task 0 only; see below), and commits; on any error it aborts and throws, so the batch fails
/// and is replayed. A producer left unusable (fenced, fatal, or an abort that failed) is replaced
/// at the next write.
///
/// **Input offsets.** For every upstream ``KafkaTridentSpout`` stream, the emitters' metadata of
/// the batch in the store (`emitters/<stream>/<task>/<txid>`) gives each partition's end offset;
/// task 0 sends them to its transaction for the spout's consumer group, so the group's committed
/// offsets move exactly with task 0's committed transactions. Only one task sends them: offsets
/// sent by several tasks would be committed by whichever transaction commits first, even when
/// another task's transaction of the same batch aborted. Task 0 writes every batch (each sink
/// task gets every commit), so the offsets follow every batch.
///
/// **Replays.** Each task skips a replay of a txid whose transaction it committed (the batch
/// failed elsewhere after this task committed its share, or the task's worker died after Kafka's
/// commit and before the coordinator's). It knows them from Kafka itself: every transaction also
/// commits, for the consumer group `<transactional id>.progress`, the txid as the "offset" of
/// partition 0 of the output topic (``progressGroup``), atomically with the records. A new writer
/// reads it back before its first write, so no crash window remains in which a committed batch
/// could be written again. (This used to be a record in the transactional store written after
/// Kafka's commit: a crash between the two showed the batch twice.)
///
/// Threading: every method runs on the sink task's serial queue and blocks on the broker.
final class KafkaTransactionalBatchWriter: BatchWriter {
    private let config: KafkaTridentSinkConfig
    private let context: SinkContext
    private var logger: Logger
    private var producer: KafkaProducer?
    private var groupMetadata: [String: KafkaConsumerGroupMetadata] = [:]
    /// The last txid whose transaction this task committed.
    private var lastCommitted: Int64?
    /// The offsets the last committed transaction sent, to skip empty transactions.
    private var lastOffsets: [String: [KafkaTopicPartition]] = [:]
    /// Whether ``lastCommitted`` was read back from Kafka (before the first write).
    private var progressRead = false

    init(config: KafkaTridentSinkConfig, context: SinkContext, logger: Logger) throws {
        self.config = config
        self.context = context
        self.logger = logger
        producer = try openProducer()
    }

    /// The transactional id of this task.
    var transactionalID: String { "\(context.topologyName)-\(context.sinkName)-\(context.taskIndex)" }

    /// The consumer group whose committed offset of ``progressPartition`` is the last txid this
    /// task committed (nobody consumes with it).
    var progressGroup: String { "\(transactionalID).progress" }

    /// Partition 0 of the output topic: an offset is committed for a partition that exists.
    private var progressPartition: KafkaTopicPartition { KafkaTopicPartition(topic: config.topic, partition: 0) }

    /// The last txid committed by this task's transactions, from Kafka (`nil` before the first).
    private func readProgress() throws -> Int64? {
        var client = config.client
        client.groupID = progressGroup
        let consumer = try KafkaConsumer(config: client, logger: logger)
        defer { consumer.close() }
        guard let committed = try consumer.committed([progressPartition]).first?.offset.rawValue, committed > 0 else {
            return nil
        }
        return committed
    }

    private func openProducer() throws -> KafkaProducer {
        if let producer { return producer }
        var client = config.client
        client.transactionalID = transactionalID
        let producer = try KafkaProducer(config: client, logger: logger)
        try producer.initTransactions()
        self.producer = producer
        return producer
    }

    func write(txid: Int64, records: [[GaleValue]]) throws {
        if !progressRead {
            if let committed = try readProgress() { lastCommitted = max(lastCommitted ?? 0, committed) }
            progressRead = true
        }
        if let lastCommitted, txid <= lastCommitted {
            logger.info("batch \(txid) was committed to Kafka before (up to \(lastCommitted)): skipped")
            return
        }
        let offsets = context.taskIndex == 0 ? try inputOffsets(txid: txid) : [:]
        if records.isEmpty && (offsets.isEmpty || offsets == lastOffsets) { return }
        let producer = try openProducer()
        do {
            try producer.beginTransaction()
        } catch {
            discardProducer(after: error)
            throw error
        }
        do {
            let deadline = ContinuousClock.now + config.flushTimeout
            for values in records {
                guard let record = try config.record(for: values, fields: context.fields) else { continue }
                try producer.produce(record, waitingUntil: deadline)
            }
            for (group, partitions) in offsets.sorted(by: { $0.key < $1.key }) {
                try producer.sendOffsetsToTransaction(partitions, groupMetadata: try metadata(group: group))
            }
            var progress = progressPartition
            progress.offset = KafkaOffset(txid)
            try producer.sendOffsetsToTransaction([progress], groupMetadata: try metadata(group: progressGroup))
            try config.beforeCommit?(txid, context.taskIndex)
            try producer.commitTransaction()
        } catch {
            logger.warning("batch \(txid): \(error); aborting its transaction")
            do {
                try producer.abortTransaction()
                if let kafkaError = error as? KafkaError, kafkaError.isFatal || kafkaError.code == .fenced {
                    discardProducer(after: kafkaError)
                }
            } catch {
                discardProducer(after: error)
            }
            throw error
        }
        lastCommitted = txid
        lastOffsets = offsets
    }

    /// Forgets the producer; the next write opens a new one (which fences the old).
    private func discardProducer(after error: any Error) {
        logger.warning("transactional producer [\(transactionalID)] replaced after: \(error)")
        producer = nil
    }

    private func metadata(group: String) throws -> KafkaConsumerGroupMetadata {
        if let metadata = groupMetadata[group] { return metadata }
        let metadata = try KafkaConsumerGroupMetadata(groupID: group)
        groupMetadata[group] = metadata
        return metadata
    }

    /// The end offsets of batch `txid` of every upstream Kafka spout stream, by consumer group.
    private func inputOffsets(txid: Int64) throws -> [String: [KafkaTopicPartition]] {
        var offsets: [String: [KafkaTopicPartition]] = [:]
        for stream in context.upstreamStreams {
            let directory = "emitters/\(stream)"
            for task in try context.store.children(directory).sorted() {
                guard let bytes = try context.store.get("\(directory)/\(task)/\(txid)"),
                    let metadata = try KafkaBatchMetadata.decodeIfKafka(try GaleValue(canonicalBytes: bytes))
                else { continue }
                for (partition, range) in metadata.partitions.sorted(by: { $0.key < $1.key }) {
                    offsets[metadata.groupID, default: []].append(
                        KafkaTopicPartition(topic: metadata.topic, partition: partition, offset: KafkaOffset(range.end))
                    )
                }
            }
        }
        return offsets
    }

    func close() {
        guard let producer else { return }
        try? producer.close(timeout: .seconds(5))
    }
}
