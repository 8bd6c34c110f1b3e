public import Gale
import Logging
import Synchronization

/// The message id of a tuple a ``KafkaSpout`` emitted: the partition and the offsets of its
/// record (several for a payload reassembled from chunks; the first is the id's offset).
public struct KafkaMessageId: Hashable, Sendable, CustomStringConvertible {
    /// The partition.
    public var partition: Int32
    /// The record's offset (a chunked payload's first offset).
    public var offset: Int64

    public var description: String { "\(partition)@\(offset)" }
}

/// An at-least-once spout over one Kafka topic.
///
/// Each task reads the partitions `p` with `p % tasks == taskIndex`, assigned explicitly (it
/// never joins the consumer group, so a restart or a rebalance resumes at once from the
/// group's committed offsets). A record becomes a tuple through ``KafkaSpoutConfig/mapper``
/// with a ``KafkaMessageId``. Offsets are committed every ``KafkaSpoutConfig/commitInterval``
/// up to the contiguous acked prefix of each partition (``PartitionOffsets``): nothing is
/// committed past a pending record, offsets the log no longer has (compaction, retention,
/// transaction markers) are skipped, and a partition with ``KafkaSpoutConfig/maxUncommittedOffsets``
/// records waiting pauses until commits catch up (records fetched past the limit are held back, not
/// emitted). Failed tuples are emitted again after the
/// ``KafkaSpoutConfig/retry`` backoff by seeking their partition back to the failed offset and
/// reading it again (as Storm's spout does): the spout keeps nothing of a record it emitted but
/// its offset's state in ``PartitionOffsets`` (a few words), and of the records read again it
/// emits only those due for a retry. After the last retry the record is dead-lettered (read
/// again the same way) or dropped (``KafkaSpoutConfig/afterRetries``), logged either way, so it
/// never holds its partition. Records carrying a `gale-chunk` header are reassembled
/// (``ChunkAssembler``) and emitted as one tuple whose offsets commit together; a payload keeps its
/// values in memory until acked (a retry emits them again), and a payload that cannot be
/// reassembled (corrupt, incomplete, over the memory budget) goes the way of an exhausted record.
///
/// Threading: like every spout, all of it runs on its task's serial queue.
public final class KafkaSpout: Spout {
    private let config: KafkaSpoutConfig
    private var logger = Logger(label: "gale.kafka.spout")
    private var collector: (any SpoutOutputCollector)?
    private var consumer: KafkaConsumer?
    private var deadLetters: KafkaProducer?
    private var partitions = PartitionTable()
    private var paused: Set<Int32> = []
    /// Payloads reassembled from chunks in flight (or waiting for a retry), by partition and first
    /// offset. Plain records are not kept: a retry reads them again (``replays``).
    private var inFlight = InFlightLog<InFlight>()
    /// Per partition, the offsets to read again after a seek back, and what to do with each
    /// record when it comes: emit it (a retry) or dead-letter it (retries exhausted).
    private var replays: [Int32: [Int64: Replay]] = [:]
    /// Partitions whose consumer was sought back to re-read ``replays``; their records below the
    /// read position are re-reads, not a reset of the position.
    private var rewound: Set<Int32> = []
    /// Partitions to seek back (to their lowest replay offset) before the next poll.
    private var mustRewind: Set<Int32> = []

    private enum Replay {
        case emit
        case deadLetter(reason: String)
    }
    private var assembler: ChunkAssembler
    private var lastCommit = ContinuousClock.now
    /// When each partition's committed offset last moved (or the partition was assigned).
    private var committedMoved: [Int32: ContinuousClock.Instant] = [:]
    /// The last commit's failure, until a commit succeeds.
    private var commitFailure: String?
    private var taskId = 0
    /// Offsets whose dead-letter write the broker confirmed (filled on the producer's thread).
    private let deadLettered = LockedList<KafkaMessageId>()
    private var deadLetterPending: [KafkaMessageId: [Int64]] = [:]
    /// First offset expected per partition right after assignment (a lower one means a reset).
    private var expectedStart: [Int32: Int64] = [:]
    /// Records the consumer returned but the spout has not taken yet, per partition in offset
    /// order: the partition reached ``KafkaSpoutConfig/maxUncommittedOffsets``, or its next payload
    /// waits for reassembly memory. The partition is paused meanwhile; the consumer's position is
    /// already past these records, so they are taken from here, first, once the partition may go on.
    private var held: [Int32: [KafkaRecord]] = [:]

    /// A payload reassembled from chunks, in flight.
    private struct InFlight {
        var values: [GaleValue]
        /// The payload's offsets.
        var offsets: [Int64]
        /// The record, for its dead-letter copy; `nil` unless exhausted records are dead-lettered.
        var record: KafkaRecord?
    }

    /// Whether in-flight payloads keep their record (for ``KafkaSpoutConfig/afterRetries`` `.deadLetter`).
    private let keepsRecords: Bool

    /// A spout reading as `config` says.
    public init(_ config: KafkaSpoutConfig) {
        self.config = config
        if case .deadLetter = config.afterRetries { keepsRecords = true } else { keepsRecords = false }
        self.assembler = ChunkAssembler(configuration: .init(memoryBudget: config.chunkMemoryBudget))
    }

    public func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(Fields(config.outputFields))
    }

    public func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {
        self.collector = collector
        logger[metadataKey: "component"] = "\(context.componentId)"
        logger[metadataKey: "task"] = "\(context.taskId)"
        taskId = context.taskId
        logger[metadataKey: "topic"] = "\(config.topic)"
        var client = config.client
        client.groupID = config.groupID
        // librdkafka waits this long before fetching again once its local queue held
        // queued.min.messages (default 1 s): a spout that drains the queue in a fraction of that
        // would sit idle. Set it in `client.properties` to override.
        if client.properties["fetch.queue.backoff.ms"] == nil { client.properties["fetch.queue.backoff.ms"] = "10" }
        // A fetch holding only partitions with nothing to read waits this long at the broker (default
        // 500 ms), and the task's other partitions wait behind it: at start, one empty partition
        // delayed the first records by half a second.
        if client.properties["fetch.wait.max.ms"] == nil { client.properties["fetch.wait.max.ms"] = "100" }
        switch config.firstPollOffset {
        case .earliest, .committedOrEarliest: client.offsetReset = .earliest
        case .latest, .committedOrLatest: client.offsetReset = .latest
        }
        if let partitions = config.createTopicPartitions {
            try KafkaAdmin.ensureTopic(config.topic, partitions: partitions, config: config.client, logger: logger)
        }
        let consumer = try KafkaConsumer(config: client, logger: logger)
        self.consumer = consumer
        let metadata = try consumer.topicMetadata(config.topic)
        let tasks = max(1, context.componentTasks.count)
        let mine = metadata.partitions.map(\.id).filter { Int($0) % tasks == context.taskIndex }.sorted()
        guard !mine.isEmpty else {
            logger.info("no partition for this task (\(metadata.partitions.count) partitions, \(tasks) tasks)")
            return
        }
        let committed = try consumer.committed(mine.map { KafkaTopicPartition(topic: config.topic, partition: $0) })
        var assignment: [KafkaTopicPartition] = []
        for entry in committed {
            var stored = entry.offset.isLogical ? nil : entry.offset.rawValue
            if let offset = stored,
                config.firstPollOffset == .committedOrEarliest || config.firstPollOffset == .committedOrLatest,
                isBeyondEnd(offset, partition: entry.partition, consumer: consumer)
            {
                logger.warning(
                    "committed offset \(offset) of partition \(entry.partition) is beyond the end of the log; reset (\(config.firstPollOffset.rawValue))"
                )
                stored = nil
            }
            let start: KafkaOffset
            switch config.firstPollOffset {
            case .earliest: start = .zero
            case .latest: start = .end
            case .committedOrEarliest: start = stored.map { KafkaOffset($0) } ?? .zero
            case .committedOrLatest: start = stored.map { KafkaOffset($0) } ?? .end
            }
            let first = start.isLogical ? 0 : start.rawValue
            partitions.set(
                entry.partition,
                PartitionOffsets(
                    partition: entry.partition,
                    committed: first,
                    maxUncommitted: config.maxUncommittedOffsets,
                    retryPolicy: config.retry
                )
            )
            if !start.isLogical { expectedStart[entry.partition] = first }
            committedMoved[entry.partition] = .now
            assignment.append(KafkaTopicPartition(topic: config.topic, partition: entry.partition, offset: start))
        }
        try consumer.assign(assignment)
        logger.info("reading partitions \(assignment.map(\.description).joined(separator: ", "))")
        if case .deadLetter = config.afterRetries {
            var producerConfig = config.client
            producerConfig.groupID = nil
            deadLetters = try KafkaProducer(config: producerConfig, logger: logger)
        }
    }

    /// How long ``isBeyondEnd(_:partition:consumer:)`` reads the log's last records at most.
    private static let endProbeTimeout: Duration = .seconds(2)

    /// Whether a committed `offset` lies beyond the end of `partition`'s log.
    ///
    /// A standard broker answers a fetch at such an offset with OFFSET_OUT_OF_RANGE, librdkafka
    /// resets to `auto.offset.reset`, and ``take(_:now:)`` sees a record below its position. Tansu
    /// 0.6 answers with no records instead, so the spout would wait there forever. The high
    /// watermark decides; as Tansu reports the base offset of the last batch as the high
    /// watermark, an offset above it is declared out of range only when reading the records from
    /// it on (for up to ``endProbeTimeout``) does not reach `offset`. Errors answer `false`: the
    /// committed offset is used as it is.
    private func isBeyondEnd(_ offset: Int64, partition: Int32, consumer: KafkaConsumer) -> Bool {
        do {
            let high = max(0, try consumer.queryWatermarks(topic: config.topic, partition: partition).high)
            guard offset > high else { return false }
            var end = high
            try KafkaConsumer.probe(
                topic: config.topic,
                partition: partition,
                from: high,
                config: config.client,
                timeout: Self.endProbeTimeout,
                logger: logger
            ) { record in
                end = max(end, record.offset + 1)
                return end < offset
            }
            return end < offset
        } catch {
            logger.warning(
                "cannot check committed offset \(offset) of partition \(partition) against the log's end: \(error)"
            )
            return false
        }
    }

    public func nextTuple() {
        guard let consumer, let collector else { return }
        let now = ContinuousClock.now
        finishDeadLetters()
        // Retries that fell due go first: payloads from memory, records by reading them again.
        for partition in partitions.ids {
            guard let due = partitions[partition]?.dueRetries(now: now), !due.isEmpty else { continue }
            for offset in due {
                let id = KafkaMessageId(partition: partition, offset: offset)
                if let entry = inFlight[partition, offset] {
                    collector.emit(entry.values, messageId: id)
                } else {
                    replays[partition, default: [:]][offset] = .emit
                    mustRewind.insert(partition)
                }
            }
        }
        rewind(consumer)
        releaseHeld(now: now)
        let records: [KafkaRecord]
        do {
            records = try consumer.poll(maxRecords: config.maxPollRecords, timeout: .zero)
        } catch {
            logger.warning("poll failed: \(error)")
            collector.reportError(error)
            return
        }
        for record in records {
            if rewound.contains(record.partition), replay(record) { continue }
            if held[record.partition] != nil || mustHold(record) {
                held[record.partition, default: []].append(record)
            } else {
                take(record, now: now)
            }
        }
        for event in assembler.expire(now: now) { handle(event) }
        // Commit early, too (at most every 10 ms), once a partition's window is half taken (so
        // that it does not fill and pause), or when that would let a paused partition go on.
        if now - lastCommit >= config.commitInterval
            || (now - lastCommit >= .milliseconds(10)
                && (partitions.contains(where: \.wantsCommitNow)
                    || paused.contains(where: { partitions[$0]?.needsCommit == true })))
        {
            commit()
        }
        updatePauses()
    }

    /// Seeks each partition in ``mustRewind`` back to its lowest offset to read again; a
    /// partition whose seek fails is tried again on the next call.
    private func rewind(_ consumer: KafkaConsumer) {
        guard !mustRewind.isEmpty else { return }
        for partition in mustRewind.sorted() {
            guard let offset = replays[partition]?.keys.min() else {
                mustRewind.remove(partition)
                continue
            }
            do {
                // Asynchronous (timeout 0): records fetched before the seek are dropped by librdkafka.
                try consumer.seek(
                    [KafkaTopicPartition(topic: config.topic, partition: partition, offset: KafkaOffset(offset))],
                    timeout: .zero
                )
            } catch {
                logger.warning("cannot seek partition \(partition) back to \(offset) for a retry: \(error)")
                collector?.reportError(error)
                continue
            }
            mustRewind.remove(partition)
            rewound.insert(partition)
            // Held records come again after the seek.
            held[partition] = nil
        }
    }

    /// Handles a record of a partition read again after a seek back: emits or dead-letters it if
    /// ``replays`` names it, skips it otherwise (it is in flight or done). Offsets to replay that
    /// the log no longer has are given up. Returns `false` for a record at or past the read
    /// position, which ends the re-read and is taken as new.
    private func replay(_ record: KafkaRecord) -> Bool {
        let partition = record.partition
        guard let position = partitions[partition]?.position else { return true }
        if record.offset >= position {
            finishRewind(partition, before: position)
            return false
        }
        if let missing = replays[partition]?.keys.filter({ $0 < record.offset }), !missing.isEmpty {
            giveUpMissing(partition: partition, offsets: missing)
        }
        if let action = replays[partition]?.removeValue(forKey: record.offset) {
            let id = KafkaMessageId(partition: partition, offset: record.offset)
            switch action {
            case .emit:
                emit(record, payloadOffsets: nil)
            case .deadLetter(let reason):
                deadLetter(record, offsets: [record.offset], id: id, reason: reason)
            }
        }
        if record.offset >= position - 1 { finishRewind(partition, before: position) }
        return true
    }

    /// Ends the re-read of `partition`: offsets to replay below `position` that did not come
    /// again are no longer in the log.
    private func finishRewind(_ partition: Int32, before position: Int64) {
        rewound.remove(partition)
        guard let left = replays[partition] else { return }
        let missing = left.keys.filter { $0 < position }
        if !missing.isEmpty { giveUpMissing(partition: partition, offsets: missing) }
        if replays[partition]?.isEmpty == true { replays[partition] = nil }
    }

    /// Marks offsets to replay that the log no longer has as done (logged and reported).
    private func giveUpMissing(partition: Int32, offsets: [Int64]) {
        for offset in offsets.sorted() {
            replays[partition]?.removeValue(forKey: offset)
            let error = KafkaError(
                code: .invalidState,
                message: "record \(partition)@\(offset) of \(config.topic) is no longer in the log; not retried"
            )
            logger.warning("\(error)")
            collector?.reportError(error)
            _ = partitions[partition]?.markDone(offset)
        }
    }

    /// Whether `record` must wait: its partition has ``KafkaSpoutConfig/maxUncommittedOffsets``
    /// records uncommitted (unless a payload of the partition is half reassembled: its remaining
    /// chunks must still come), or it opens a payload that does not fit in the reassembly memory
    /// until other partitions' payloads complete.
    private func mustHold(_ record: KafkaRecord, releasing: Bool = false) -> Bool {
        let partition = record.partition
        if (partitions[partition]?.uncommittedCount ?? 0) >= config.maxUncommittedOffsets
            && assembler.openPayloads(partition: partition) == 0
        {
            return true
        }
        if let chunk = record.chunkHeader, assembler.mustWaitForMemory(partition: partition, chunkHeader: chunk) {
            if !releasing && held[partition] == nil {
                logger.info(
                    "partition \(partition) waits at offset \(record.offset) for reassembly memory (\(assembler.bytesInProgress) of \(config.chunkMemoryBudget) bytes in use)"
                )
            }
            return true
        }
        return false
    }

    /// Takes held records of partitions that may go on, in offset order, until one must wait again.
    private func releaseHeld(now: ContinuousClock.Instant) {
        guard !held.isEmpty else { return }
        for partition in held.keys.sorted() {
            guard let records = held.removeValue(forKey: partition) else { continue }
            var taken = 0
            while taken < records.count, !mustHold(records[taken], releasing: true) {
                take(records[taken], now: now)
                taken += 1
            }
            if taken < records.count { held[partition] = Array(records[taken...]) }
        }
    }

    /// Tracks a fetched record and emits it (or hands it to the chunk assembler).
    private func take(_ record: KafkaRecord, now: ContinuousClock.Instant) {
        let partition = record.partition
        // Read without copying: a `var` copy of the state would copy its storage on every write.
        guard let position = partitions[partition]?.position else { return }
        if record.offset < position {
            // Below what was already read: the consumer reset the position (a committed offset
            // out of the log's range, as after retention) to the configured end of the log.
            guard partitions[partition]?.pendingCount == 0 && partitions[partition]?.retryingCount == 0 else {
                logger.warning("record \(partition)@\(record.offset) is below the read position \(position); skipped")
                return
            }
            if let expected = expectedStart[partition], record.offset < expected {
                logger.warning(
                    "committed offset \(expected) of partition \(partition) is out of range; reset to \(record.offset) (\(config.firstPollOffset.rawValue))"
                )
            }
            partitions.set(
                partition,
                PartitionOffsets(
                    partition: partition,
                    committed: record.offset,
                    maxUncommitted: config.maxUncommittedOffsets,
                    retryPolicy: config.retry
                )
            )
            committedMoved[partition] = .now
        }
        expectedStart[partition] = nil
        _ = partitions[partition]?.emitted(record.offset)
        if let chunkHeader = record.chunkHeader {
            let events = assembler.add(
                partition: partition,
                offset: record.offset,
                value: record.value ?? [],
                chunkHeader: chunkHeader,
                now: now
            )
            for event in events { handle(event, template: record) }
        } else {
            emit(record, payloadOffsets: nil)
        }
    }

    private func handle(_ event: ChunkAssemblyEvent, template: KafkaRecord? = nil) {
        switch event {
        case .payload(let payload):
            var record =
                template
                ?? KafkaRecord(
                    topic: config.topic,
                    partition: payload.partition,
                    offset: payload.firstOffset,
                    key: nil,
                    value: nil
                )
            record.offset = payload.firstOffset
            record.value = payload.value
            record.headers.removeAll { $0.name == ChunkHeader.recordHeaderKey }
            emit(record, payloadOffsets: payload.offsets.isEmpty ? [payload.firstOffset] : payload.offsets)
        case .failed(let error):
            // Nothing of the payload is kept: the dead-letter record names it (topic, partition,
            // offsets, why) and carries the key; the chunks themselves stay in the source topic.
            collector?.reportError(error)
            let first = error.offsets.first ?? template?.offset ?? 0
            var record = KafkaRecord(
                topic: config.topic,
                partition: error.partition,
                offset: first,
                key: template?.key,
                value: nil
            )
            record.headers = (template?.headers ?? []).filter { $0.name != ChunkHeader.recordHeaderKey }
            giveUp(
                record,
                offsets: error.offsets.isEmpty ? [first] : error.offsets,
                id: KafkaMessageId(partition: error.partition, offset: first),
                reason: error.description
            )
        case .skipped(let partition, let offset, _):
            _ = partitions[partition]?.markDone(offset)
        }
    }

    /// Maps `record` and emits its tuple; `payloadOffsets` are the offsets of a payload
    /// reassembled from chunks (kept in ``inFlight`` with its values), `nil` for a plain record.
    private func emit(_ record: KafkaRecord, payloadOffsets: [Int64]?) {
        let id = KafkaMessageId(partition: record.partition, offset: payloadOffsets?.first ?? record.offset)
        let values: [GaleValue]
        do {
            guard let mapped = try config.mapper(record) else {
                for offset in payloadOffsets ?? [id.offset] { _ = partitions[record.partition]?.markDone(offset) }
                return
            }
            values = mapped
        } catch {
            logger.warning("record \(id) cannot become a tuple: \(error)")
            collector?.reportError(error)
            giveUp(record, offsets: payloadOffsets ?? [id.offset], id: id, reason: "mapper: \(error)")
            return
        }
        if let payloadOffsets {
            inFlight.insert(
                InFlight(values: values, offsets: payloadOffsets, record: keepsRecords ? record : nil),
                partition: id.partition,
                offset: id.offset
            )
        }
        collector?.emit(values, messageId: id)
    }

    public func ack(_ messageId: any Sendable) {
        guard let id = messageId as? KafkaMessageId else { return }
        if let entry = inFlight.remove(partition: id.partition, offset: id.offset) {
            for offset in entry.offsets { _ = partitions[id.partition]?.acked(offset) }
        } else {
            _ = partitions[id.partition]?.acked(id.offset)
        }
    }

    public func fail(_ messageId: any Sendable) {
        guard let id = messageId as? KafkaMessageId else { return }
        switch partitions[id.partition]?.failed(id.offset, now: .now) {
        case .exhausted(let retries):
            let reason = "failed after \(retries) retries"
            if let entry = inFlight.remove(partition: id.partition, offset: id.offset) {
                giveUp(entry.record, offsets: entry.offsets, id: id, reason: reason)
            } else if case .deadLetter = config.afterRetries {
                // The record is read again to be dead-lettered.
                replays[id.partition, default: [:]][id.offset] = .deadLetter(reason: reason)
                mustRewind.insert(id.partition)
            } else {
                giveUp(nil, offsets: [id.offset], id: id, reason: reason)
            }
        case .retryScheduled, .ignored, nil:
            break
        }
    }

    /// Dead-letters or drops a record (or payload) that will not be retried; its offsets become
    /// done once that is settled.
    private func giveUp(_ record: KafkaRecord?, offsets: [Int64], id: KafkaMessageId, reason: String) {
        switch config.afterRetries {
        case .drop:
            logger.warning("record \(id) dropped: \(reason)")
            for offset in offsets { _ = partitions[id.partition]?.markDone(offset) }
        case .deadLetter:
            deadLetter(record, offsets: offsets, id: id, reason: reason)
        }
    }

    /// Writes `record` (its key, value and headers) to the dead-letter topic; its offsets become
    /// done once the broker confirms.
    private func deadLetter(_ record: KafkaRecord?, offsets: [Int64], id: KafkaMessageId, reason: String) {
        guard case .deadLetter(let topic) = config.afterRetries, let deadLetters else { return }
        deadLetterPending[id] = offsets
        let letter = KafkaProducerRecord(
            topic: topic,
            key: record?.key,
            value: record?.value,
            headers: (record?.headers ?? []) + [
                KafkaHeader(name: "gale-error", value: Array(reason.utf8)),
                KafkaHeader(name: "gale-source", value: Array("\(config.topic)/\(id)".utf8)),
            ]
        )
        let done = deadLettered
        let logger = logger
        do {
            try deadLetters.produce(letter) { result in
                switch result {
                case .success:
                    logger.warning("record \(id) dead-lettered to \(topic): \(reason)")
                    done.append(id)
                case .failure(let error):
                    // Left pending: the partition does not commit past it, so it is read again after a restart.
                    logger.error("record \(id) could not be dead-lettered to \(topic): \(error)")
                }
            }
        } catch {
            logger.error("record \(id) could not be dead-lettered to \(topic): \(error)")
        }
    }

    private func finishDeadLetters() {
        let done = deadLettered.take()
        for id in done {
            for offset in deadLetterPending.removeValue(forKey: id) ?? [] {
                _ = partitions[id.partition]?.markDone(offset)
            }
        }
    }

    /// Commits every partition's committable offset.
    private func commit() {
        lastCommit = .now
        guard let consumer else { return }
        var offsets: [KafkaTopicPartition] = []
        for partition in partitions.ids {
            guard let state = partitions[partition], state.needsCommit else { continue }
            offsets.append(
                KafkaTopicPartition(topic: config.topic, partition: partition, offset: KafkaOffset(state.committable))
            )
        }
        guard !offsets.isEmpty else { return }
        do {
            try consumer.commit(offsets)
            let now = ContinuousClock.now
            for offset in offsets {
                partitions[offset.partition]?.markCommitted(offset.offset.rawValue)
                committedMoved[offset.partition] = now
            }
            commitFailure = nil
        } catch {
            logger.warning("commit failed: \(error)")
            commitFailure = "\(error)"
            collector?.reportError(error)
        }
    }

    /// Pauses partitions holding records back or with too many uncommitted records (unless a
    /// chunked payload is half read: its remaining chunks must still come) and resumes them once
    /// they drained.
    private func updatePauses() {
        guard let consumer else { return }
        for partition in partitions.ids {
            guard let state = partitions[partition] else { continue }
            let isPaused = paused.contains(partition)
            let full = state.shouldPause && assembler.openPayloads(partition: partition) == 0
            // Hysteresis: a paused partition resumes only once its window is half empty, so that
            // it does not flip between paused and fetching with every ack and commit (each flip is
            // a librdkafka op with a version barrier; rapid flips are where consumers were seen to
            // stay paused for good).
            let drained = state.uncommittedCount <= state.maxUncommitted / 2
            // A partition sought back fetches until it has read its retries again, full window or
            // not: the record it waits for may be the one to retry.
            let wantPause = !rewound.contains(partition) && (held[partition] != nil || full || (isPaused && !drained))
            guard wantPause != isPaused else { continue }
            let topicPartition = [KafkaTopicPartition(topic: config.topic, partition: partition)]
            do {
                if wantPause {
                    try consumer.pause(topicPartition)
                    paused.insert(partition)
                } else {
                    try consumer.resume(topicPartition)
                    paused.remove(partition)
                }
            } catch {
                logger.warning("cannot \(wantPause ? "pause" : "resume") partition \(partition): \(error)")
            }
        }
    }

    /// Per partition: committed offset, the oldest pending offset and its retries. Read it on the
    /// spout's queue; other threads see it through ``statusLines()`` in the topology's statistics.
    public var partitionStatistics: [PartitionOffsets.Statistics] {
        partitions.ids.compactMap { partitions[$0]?.statistics }
    }

    public func close() {
        commit()
        if let deadLetters { try? deadLetters.flush(timeout: .seconds(5)) }
        finishDeadLetters()
        commit()
        consumer?.close()
        consumer = nil
    }
}

extension KafkaSpout: StatusReporting {
    /// One line per partition: its committed offset, read position, and the record holding it
    /// back (offset, state and retries), if any.
    public func statusLines() -> [String] {
        partitionStatistics.map { s in
            var line =
                "\(config.topic)[\(s.partition)] committed \(s.committed), position \(s.position), pending \(s.pendingCount)"
            if let oldest = s.oldestPending {
                line +=
                    ", oldest pending \(oldest) (\(s.oldestPendingState?.rawValue ?? "?"), \(s.oldestPendingRetries ?? 0) retries)"
            }
            if let waiting = held[s.partition]?.first {
                line += ", \(held[s.partition]?.count ?? 0) records held from \(waiting.offset)"
            }
            if paused.contains(s.partition) { line += ", paused" }
            return line
        }
    }

    /// The partitions as the table `kafka-partitions`: offsets, lag (from the high watermark of
    /// the last fetch), the record holding the partition back, how long the committed offset has
    /// not moved and why.
    public func statusTable() -> StatusTable? {
        let now = ContinuousClock.now
        let rows = partitionStatistics.map { s -> [String] in
            let high = consumer?.cachedWatermarks(topic: config.topic, partition: s.partition)?.high
            let lag = high.map { max(0, $0 - s.committed) }
            let moved = committedMoved[s.partition]
            let age = moved.map { (now - $0).inSeconds } ?? 0
            return [
                "\(taskId)", config.topic, "\(s.partition)", "\(s.committed)", "\(s.position)",
                high.map(String.init) ?? "", lag.map(String.init) ?? "", "\(s.pendingCount)",
                s.oldestPending.map(String.init) ?? "", s.oldestPendingState?.rawValue ?? "",
                s.oldestPendingRetries.map(String.init) ?? "", paused.contains(s.partition) ? "true" : "false",
                notCommittingReason(s), "\((age * 10).rounded() / 10)",
            ]
        }
        return StatusTable(name: "kafka-partitions", columns: Self.partitionColumns, rows: rows)
    }

    /// The columns of the `kafka-partitions` table.
    public static let partitionColumns = [
        "task", "topic", "partition", "committed", "position", "highWatermark", "lag", "pending",
        "oldestPending", "oldestPendingState", "retries", "paused", "notCommittingBecause",
        "committedAgeSeconds",
    ]

    /// Why the partition's committed offset cannot move now; empty when nothing holds it.
    private func notCommittingReason(_ s: PartitionOffsets.Statistics) -> String {
        if let commitFailure { return "commit failed: \(commitFailure)" }
        if let oldest = s.oldestPending, s.committable <= oldest {
            let state = s.oldestPendingState?.rawValue ?? "pending"
            return "waiting for offset \(oldest) (\(state), \(s.oldestPendingRetries ?? 0) retries)"
        }
        if paused.contains(s.partition) { return "paused: \(s.uncommittedCount) uncommitted records fill its window" }
        return ""
    }
}
