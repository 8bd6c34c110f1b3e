import Gale
import GaleKafka
import Logging

/// One emitter task of a ``KafkaTridentSpout``: a consumer assigned this task's partitions, and
/// the bookkeeping that keeps it where each batch must read.
///
/// The consumer is sought only when a batch must start elsewhere than where it stands (a replay,
/// or the batch after one); otherwise it reads on. A partition whose start is not known yet
/// (first offset `earliest` or `latest`, no record so far) is never sought: its first record
/// tells where it started.
///
/// Threading: every method runs on the emitter task's serial queue and may block on the broker
/// (polls of up to ``KafkaTridentSpoutConfig/pollTimeout``, seeks, offset commits).
final class KafkaTridentEmitter: BatchEmitter {
    private let config: KafkaTridentSpoutConfig
    private let consumer: KafkaConsumer
    /// This task's partitions, ascending.
    let partitions: [Int32]
    /// Per partition, the offset the consumer stands at: the last record it returned + 1, or the
    /// offset it was sought to. Missing while it stands at its first (logical) offset.
    private var positions: [Int32: Int64] = [:]
    /// Per partition, the absolute offset of the first (logical) position, once known.
    private var origins: [Int32: Int64] = [:]
    /// The offsets last committed for the group, by partition.
    private var committedEnds: [Int32: Int64] = [:]
    private var logger = Logger(label: "gale.trident.kafka.emitter")

    /// Opens the consumer and assigns this task's partitions at their first offsets. *Blocking*
    /// (topic metadata, and the group's committed offsets for `committedOrEarliest`).
    init(config: KafkaTridentSpoutConfig, context: EmitterContext) throws {
        guard config.maxRecordsPerBatch >= 1 else {
            throw KafkaTridentError.invalidConfiguration(
                "stream [\(context.streamName)]: maxRecordsPerBatch \(config.maxRecordsPerBatch) must be at least 1"
            )
        }
        self.config = config
        logger[metadataKey: "stream"] = "\(context.streamName)"
        logger[metadataKey: "task"] = "\(context.taskIndex)"
        logger[metadataKey: "topic"] = "\(config.topic)"
        var client = config.client
        client.groupID = config.groupID
        // A partition read from its first record is assigned at offset 0 (``KafkaOffset/zero``):
        // a log that starts later resets to its real start.
        if config.firstOffset != .latest { client.offsetReset = .earliest }
        consumer = try KafkaConsumer(config: client, logger: logger)
        let tasks = max(1, context.tasks)
        partitions = try consumer.topicMetadata(config.topic).partitions.map(\.id)
            .filter { Int($0) % tasks == context.taskIndex }.sorted()
        guard !partitions.isEmpty else {
            logger.info("no partition of [\(config.topic)] for this task: its batches stay empty")
            return
        }
        var assignment: [KafkaTopicPartition] = []
        switch config.firstOffset {
        case .earliest:
            assignment = partitions.map { KafkaTopicPartition(topic: config.topic, partition: $0, offset: .zero) }
        case .latest:
            assignment = partitions.map { KafkaTopicPartition(topic: config.topic, partition: $0, offset: .end) }
        case .committedOrEarliest:
            let committed = try consumer.committed(
                partitions.map { KafkaTopicPartition(topic: config.topic, partition: $0) }
            )
            for entry in committed where !entry.offset.isLogical {
                origins[entry.partition] = entry.offset.rawValue
                positions[entry.partition] = entry.offset.rawValue
                committedEnds[entry.partition] = entry.offset.rawValue
            }
            assignment = partitions.map { partition in
                let offset = origins[partition].map { KafkaOffset($0) } ?? .zero
                return KafkaTopicPartition(topic: config.topic, partition: partition, offset: offset)
            }
        }
        try consumer.assign(assignment)
        logger.debug("assigned \(assignment)")
    }

    func emitBatch(
        txid: Int64,
        stored: GaleValue?,
        previous: GaleValue?,
        emit: (_ values: [GaleValue]) -> Void
    ) throws -> GaleValue {
        let previous = try previous.map { value throws(KafkaTridentError) in try KafkaBatchMetadata(value: value) }
            .flatMap { $0.topic == config.topic ? $0 : nil }
        let stored = try stored.map { value throws(KafkaTridentError) in try KafkaBatchMetadata(value: value) }
            .flatMap { $0.topic == config.topic ? $0 : nil }
        var accepted: [Int32: [KafkaRecord]] = [:]
        let starts = startingPoints(after: previous)
        let metadata: KafkaBatchMetadata
        switch (config.kind, stored) {
        case (.transactional, let stored?):
            metadata = try replay(txid: txid, stored: stored, truncating: false, into: &accepted)
        case (.opaque, let stored?)
        where stored.partitions.allSatisfy({ partition, range in
            starts[partition]?.start.map { $0 == range.start } ?? true
        }):
            // A replay whose start did not move (the batch before it was not replayed) reads what
            // its earlier attempt read: that attempt may have been committed to some state
            // partitions, and an opaque state recomputes only the keys a replay touches.
            metadata = try replay(txid: txid, stored: stored, truncating: true, into: &accepted)
        default:
            metadata = try read(from: starts, into: &accepted)
        }
        for partition in accepted.keys.sorted() {
            for record in accepted[partition] ?? [] {
                if let values = try config.mapper(record) { emit(values) }
            }
        }
        return metadata.value
    }

    // MARK: - Reading

    /// Where a new batch starts each partition: where `previous` ended it, or at its first offset
    /// (`nil` while that is not known) when no batch took anything of it yet.
    private func startingPoints(after previous: KafkaBatchMetadata?) -> [Int32: (start: Int64?, filter: RepeatFilter)] {
        var starts: [Int32: (start: Int64?, filter: RepeatFilter)] = [:]
        for partition in partitions {
            if let range = previous?.partitions[partition] {
                starts[partition] = (range.end, range.filterAfter)
            } else {
                starts[partition] = (origins[partition], RepeatFilter())
            }
        }
        return starts
    }

    /// A new batch: from `starts` on, what is available, up to the limit.
    private func read(
        from starts: [Int32: (start: Int64?, filter: RepeatFilter)],
        into accepted: inout [Int32: [KafkaRecord]]
    ) throws -> KafkaBatchMetadata {
        var assembler = KafkaBatchAssembler(starts: starts, skipRepeats: config.skipRepeats)
        let sought = try position(at: starts.compactMapValues(\.start))
        var remaining = config.maxRecordsPerBatch
        var timeout = sought ? max(config.pollTimeout, config.seekPollTimeout) : config.pollTimeout
        while remaining > 0, !partitions.isEmpty {
            let records = try consumer.poll(maxRecords: remaining, timeout: timeout)
            if records.isEmpty { break }
            timeout = .zero
            remaining -= records.count
            take(records, into: &assembler, accepted: &accepted)
        }
        return KafkaBatchMetadata(topic: config.topic, groupID: config.groupID, partitions: assembler.ranges)
    }

    /// A replayed batch: exactly the stored ranges again. When `truncating` (opaque), a range that
    /// cannot be read in time ends where reading stopped; otherwise the batch fails.
    private func replay(
        txid: Int64,
        stored: KafkaBatchMetadata,
        truncating: Bool,
        into accepted: inout [Int32: [KafkaRecord]]
    ) throws -> KafkaBatchMetadata {
        var starts: [Int32: (start: Int64?, filter: RepeatFilter)] = [:]
        var bounds: [Int32: Int64] = [:]
        var seeks: [Int32: Int64] = [:]
        for (partition, range) in stored.partitions where partitions.contains(partition) {
            starts[partition] = (range.start, range.filterBefore)
            bounds[partition] = range.end
            if !range.isEmpty { seeks[partition] = range.start }
        }
        if !truncating {
            // Records gone from the log never come back: say so at once rather than after
            // `replayTimeout` of polling.
            var earliest: [Int32: Int64] = [:]
            for (partition, start) in seeks {
                // Unknown when the broker does not answer: the polling below decides then.
                guard let low = try? consumer.queryWatermarks(topic: config.topic, partition: partition).low else {
                    continue
                }
                // A reported start past the range's is checked by reading: the test broker was
                // seen to report one past records it holds.
                if start < low,
                    KafkaConsumer.logHoldsRecords(
                        topic: config.topic,
                        partition: partition,
                        from: start,
                        below: low,
                        config: config.client,
                        logger: logger
                    )
                {
                    logger.warning(
                        "the broker reports partition \(partition) of [\(config.topic)] starting at \(low), yet it holds offset \(start) of batch \(txid); replaying"
                    )
                    continue
                }
                earliest[partition] = low
            }
            if let deleted = Self.deletedRange(of: stored, earliest: earliest, partitions: seeks.keys, txid: txid) {
                throw deleted
            }
        }
        var assembler = KafkaBatchAssembler(starts: starts, bounds: bounds, skipRepeats: config.skipRepeats)
        try position(at: seeks)
        let deadline = ContinuousClock.now + config.replayTimeout
        while !assembler.isComplete {
            guard ContinuousClock.now < deadline else {
                guard truncating else {
                    let missing = assembler.incomplete
                    throw KafkaTridentError.replayIncomplete(
                        topic: config.topic,
                        partition: missing?.partition ?? -1,
                        start: missing?.cursor.start ?? -1,
                        end: missing?.cursor.bound ?? -1,
                        reached: missing?.cursor.reached,
                        txid: txid
                    )
                }
                logger.warning("replay of batch \(txid) could not read all its earlier records in time; it takes fewer")
                assembler.releaseIncompleteBounds()
                break
            }
            let records = try consumer.poll(maxRecords: config.maxRecordsPerBatch, timeout: config.pollTimeout)
            take(records, into: &assembler, accepted: &accepted)
        }
        var metadata = stored
        for (partition, range) in assembler.ranges where range != stored.partitions[partition] {
            metadata.partitions[partition] = range
        }
        return metadata
    }

    /// The error for the first of `partitions` (ascending) whose non-empty range in `stored`
    /// starts before the partition's `earliest` offset, or `nil` when the log still holds every
    /// range's start (or its earliest offset is unknown).
    static func deletedRange(
        of stored: KafkaBatchMetadata,
        earliest: [Int32: Int64],
        partitions: some Sequence<Int32>,
        txid: Int64
    ) -> KafkaTridentError? {
        for partition in partitions.sorted() {
            guard let range = stored.partitions[partition], !range.isEmpty, let low = earliest[partition],
                range.start < low
            else { continue }
            return .replayRecordsDeleted(
                topic: stored.topic,
                partition: partition,
                start: range.start,
                end: range.end,
                earliest: low,
                txid: txid
            )
        }
        return nil
    }

    /// Seeks the partitions in `offsets` that do not stand there already; returns whether it did.
    @discardableResult
    private func position(at offsets: [Int32: Int64]) throws -> Bool {
        var seeks: [KafkaTopicPartition] = []
        for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) where positions[partition] != offset {
            seeks.append(KafkaTopicPartition(topic: config.topic, partition: partition, offset: KafkaOffset(offset)))
        }
        guard !seeks.isEmpty else { return false }
        try consumer.seek(seeks)
        for seek in seeks { positions[seek.partition] = seek.offset.rawValue }
        return true
    }

    /// Tracks where the consumer stands and hands the records to the assembler.
    private func take(
        _ records: [KafkaRecord],
        into assembler: inout KafkaBatchAssembler,
        accepted: inout [Int32: [KafkaRecord]]
    ) {
        for record in records {
            if let position = positions[record.partition] {
                // Fetched before a seek: stale.
                if record.offset < position { continue }
            } else {
                origins[record.partition] = record.offset
            }
            positions[record.partition] = record.offset + 1
            if assembler.offer(record) == .accept { accepted[record.partition, default: []].append(record) }
        }
    }

    // MARK: - Commit

    func committed(txid: Int64, metadata: GaleValue) {
        guard config.commitGroupOffsets,
            let batch = try? KafkaBatchMetadata(value: metadata), batch.topic == config.topic
        else { return }
        var offsets: [KafkaTopicPartition] = []
        for (partition, range) in batch.partitions.sorted(by: { $0.key < $1.key })
        where committedEnds[partition] != range.end && partitions.contains(partition) {
            offsets.append(
                KafkaTopicPartition(topic: config.topic, partition: partition, offset: KafkaOffset(range.end))
            )
        }
        guard !offsets.isEmpty else { return }
        do {
            try consumer.commit(offsets)
            for offset in offsets { committedEnds[offset.partition] = offset.offset.rawValue }
        } catch {
            // Monitoring only: the store holds the batches' offsets.
            logger.warning("cannot commit the offsets of batch \(txid) for group [\(config.groupID)]: \(error)")
        }
    }

    func close() {
        consumer.close()
    }
}
