internal import CRdKafka
public import Logging
import Synchronization

/// A Kafka consumer with manual partition assignment, and committed offsets for a group.
///
/// The consumer never joins its group: ``assign(_:)`` sets the partitions it reads, and
/// ``KafkaConfig/groupID`` only names whose offsets ``commit(_:timeout:)`` and
/// ``committed(_:timeout:)`` write and read. Automatic commits and offset stores are off.
///
/// Threading: every method may be called from any thread, but ``poll(maxRecords:timeout:)`` is
/// meant for one owner that calls it in a loop; it also serves the consumer's error events.
/// Calls marked *blocking* wait on the broker and must not run on a Swift-concurrency
/// cooperative thread. Deinitializing the consumer closes it and destroys the librdkafka handle.
public final class KafkaConsumer: Sendable {
    let client: RDKafkaClient
    /// The consumer queue (the one ``poll(maxRecords:timeout:)`` serves), for batch consumption.
    private nonisolated(unsafe) let queue: OpaquePointer
    private let closed = Atomic<Bool>(false)
    /// An error met by a poll that had already collected records, thrown by the next poll.
    private let pendingError = Mutex<KafkaError?>(nil)

    /// Creates a consumer. Nothing is assigned until ``assign(_:)``.
    ///
    /// - Throws: ``KafkaError/Code/invalidConfiguration`` if `config` is invalid.
    public init(config: KafkaConfig, logger: Logger = Logger(label: "gale.kafka.consumer")) throws(KafkaError) {
        client = try RDKafkaClient.make(role: .consumer, config: config, logger: logger)
        // Error events and logs go to the consumer queue, served by poll().
        _ = rd_kafka_poll_set_consumer(client.handle)
        // Every consumer has a group id (a placeholder without ``KafkaConfig/groupID``), so
        // librdkafka has a consumer queue.
        guard let queue = rd_kafka_queue_get_consumer(client.handle) else {
            throw KafkaError(code: .invalidState, message: "consumer: librdkafka has no consumer queue")
        }
        self.queue = queue
    }

    deinit {
        close()
        rd_kafka_queue_destroy(queue)
    }

    /// Leaves the assignment and stops fetching; later calls fail. Idempotent. Resources are
    /// released when the consumer is deinitialized.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let code = rd_kafka_consumer_close(client.handle)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            client.logger.debug(
                "consumer close",
                metadata: ["kafka.error": "\(KafkaError.rdKafkaName(of: code.rawValue))"]
            )
        }
    }

    // MARK: - Assignment

    /// Replaces the assignment with `partitions`, each read from its ``KafkaTopicPartition/offset``
    /// (an absolute offset, ``KafkaOffset/beginning``, ``KafkaOffset/end``, or
    /// ``KafkaOffset/stored`` for the group's committed offset).
    public func assign(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try checkOpen("assign")
        try RDKafkaTopicPartitionList.with(partitions, context: "assign") { list throws(KafkaError) in
            try KafkaError.check(rd_kafka_assign(client.handle, list), context: "assign \(partitions)")
        }
    }

    /// Removes every partition from the assignment.
    public func unassign() throws(KafkaError) {
        try checkOpen("unassign")
        try KafkaError.check(rd_kafka_assign(client.handle, nil), context: "unassign")
    }

    /// The current assignment (offsets are ``KafkaOffset/invalid``).
    public func assignment() throws(KafkaError) -> [KafkaTopicPartition] {
        try checkOpen("assignment")
        var list: RDKafkaTopicPartitionList.Pointer?
        try KafkaError.check(rd_kafka_assignment(client.handle, &list), context: "assignment")
        guard let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        var result: [KafkaTopicPartition] = []
        for entry in RDKafkaTopicPartitionList.read(list) {
            result.append(KafkaTopicPartition(topic: entry.partition.topic, partition: entry.partition.partition))
        }
        return result
    }

    /// Moves assigned partitions to their ``KafkaTopicPartition/offset``; records fetched before
    /// are dropped. *Blocking*, for up to `timeout` (default: the operation timeout); a `timeout`
    /// of zero seeks asynchronously (records polled afterwards come from the new offset).
    ///
    /// - Important: Only assigned partitions can be sought.
    public func seek(_ partitions: [KafkaTopicPartition], timeout: Duration? = nil) throws(KafkaError) {
        try checkOpen("seek")
        let timeout = client.timeout(timeout)
        try RDKafkaTopicPartitionList.with(partitions, context: "seek") { list throws(KafkaError) in
            try KafkaError.check(
                rd_kafka_seek_partitions(client.handle, list, timeout.timeoutMilliseconds),
                context: "seek \(partitions)"
            )
            try RDKafkaTopicPartitionList.checkEntries(list, context: "seek", inProgressIsDone: timeout == .zero)
        }
    }

    /// Stops fetching from `partitions` (offsets ignored) until ``resume(_:)``; records already
    /// fetched may still be returned by the next poll.
    public func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try checkOpen("pause")
        try RDKafkaTopicPartitionList.with(partitions, context: "pause") { list throws(KafkaError) in
            try KafkaError.check(rd_kafka_pause_partitions(client.handle, list), context: "pause \(partitions)")
            try RDKafkaTopicPartitionList.checkEntries(list, context: "pause")
        }
    }

    /// Resumes fetching from paused `partitions` (offsets ignored).
    public func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try checkOpen("resume")
        try RDKafkaTopicPartitionList.with(partitions, context: "resume") { list throws(KafkaError) in
            try KafkaError.check(rd_kafka_resume_partitions(client.handle, list), context: "resume \(partitions)")
            try RDKafkaTopicPartitionList.checkEntries(list, context: "resume")
        }
    }

    // MARK: - Polling

    /// Returns up to `maxRecords` records of the assigned partitions. *Blocking*: waits up to
    /// `timeout` for the first record, then takes only what is already fetched.
    ///
    /// - Returns: the records, in order per partition; empty if none arrived within `timeout`.
    /// - Throws: a ``KafkaError`` the consumer reported (for example
    ///   ``KafkaError/Code/unknownTopicOrPartition`` for an assigned partition that does not
    ///   exist, or ``KafkaError/Code/brokerUnreachable``). Unless it ``KafkaError/isFatal``, the
    ///   consumer keeps its assignment and the next poll continues. An error met by a poll that
    ///   also took records (messages are taken in batches, and records after the error come with
    ///   those before it) is thrown by the next call, so no record is lost; of several errors in
    ///   one poll, the first is reported.
    public func poll(maxRecords: Int, timeout: Duration) throws(KafkaError) -> [KafkaRecord] {
        try checkOpen("poll")
        let pending = pendingError.withLock { error in
            let pending = error
            error = nil
            return pending
        }
        if let pending {
            throw pending
        }
        var state = PollState()
        state.records.reserveCapacity(Swift.min(Swift.max(maxRecords, 0), 1_024))
        // The first message may wait up to `timeout`; the rest are taken in batches without
        // waiting: one queue lock and one clock read per batch rather than per message.
        let wait = timeout.timeoutMilliseconds
        if wait != 0, maxRecords > 0 {
            guard let message = rd_kafka_consumer_poll(client.handle, wait) else { return [] }
            take(message, into: &state)
            rd_kafka_message_destroy(message)
        }
        while state.records.count < maxRecords {
            let room = Swift.min(maxRecords - state.records.count, Self.batchSize)
            let count = withUnsafeTemporaryAllocation(
                of: UnsafeMutablePointer<rd_kafka_message_t>?.self,
                capacity: room
            ) { messages -> Int in
                let count = rd_kafka_consume_batch_queue(queue, 0, messages.baseAddress, room)
                for index in 0..<Swift.max(count, 0) {
                    guard let message = messages[index] else { continue }
                    take(message, into: &state)
                    rd_kafka_message_destroy(message)
                }
                return count
            }
            if count < room { break }
        }
        if let failure = state.failure {
            // Records taken in the same batch as the error are returned; the error waits for the
            // next call. Alone, it is thrown now.
            guard !state.records.isEmpty else { throw failure }
            pendingError.withLock { $0 = failure }
        }
        return state.records
    }

    /// Messages taken per ``rd_kafka_consume_batch_queue`` call.
    private static let batchSize = 256

    /// What one ``poll(maxRecords:timeout:)`` collected.
    private struct PollState {
        var records: [KafkaRecord] = []
        var failure: KafkaError?
        /// The topic name of the last message's topic handle: one String per poll, not per record.
        var topicHandle: OpaquePointer?
        var topic = ""
    }

    /// Adds a message's record to `state`, or notes its error (the first one).
    private func take(_ message: UnsafeMutablePointer<rd_kafka_message_t>, into state: inout PollState) {
        let error = message.pointee.err
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            if message.pointee.rkt != state.topicHandle {
                state.topicHandle = message.pointee.rkt
                state.topic = state.topicHandle.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
            }
            state.records.append(Self.record(from: message, topic: state.topic))
        } else if error != RD_KAFKA_RESP_ERR__PARTITION_EOF, state.failure == nil {
            state.failure = Self.error(from: message)
        }
    }

    /// A record copied out of a message librdkafka owns.
    private static func record(from message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) -> KafkaRecord {
        let raw = message.pointee
        let key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
        let value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) }
        var headers: [KafkaHeader] = []
        var headerList: OpaquePointer?
        if rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            var index = 0
            while true {
                var name: UnsafePointer<CChar>?
                var headerValue: UnsafeRawPointer?
                var size = 0
                guard
                    rd_kafka_header_get_all(headerList, index, &name, &headerValue, &size) == RD_KAFKA_RESP_ERR_NO_ERROR
                else { break }
                headers.append(
                    KafkaHeader(
                        name: name.map { String(cString: $0) } ?? "",
                        value: headerValue.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                    )
                )
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return KafkaRecord(
            topic: topic,
            partition: raw.partition,
            offset: raw.offset,
            key: key,
            value: value,
            headers: headers,
            timestamp: timestamp >= 0 ? timestamp : nil
        )
    }

    /// The error an errored consumer message carries.
    private static func error(from message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaError {
        let raw = message.pointee
        let topic = raw.rkt.map { "[\(String(cString: rd_kafka_topic_name($0)))][\(raw.partition)]" } ?? "consumer"
        let detail = rd_kafka_message_errstr(message).map { String(cString: $0) }
        return KafkaError(raw.err, context: "poll \(topic)", detail: detail)
    }

    // MARK: - Committed offsets

    /// Commits `offsets` for ``KafkaConfig/groupID``: each offset is the next one to read (last
    /// processed offset + 1). *Blocking* until the group coordinator confirms, for up to
    /// `timeout` (default: the operation timeout).
    ///
    /// - Throws: ``KafkaError/Code/invalidState`` without a group id; a per-partition error
    ///   naming the partition; ``KafkaError/Code/timedOut`` if unconfirmed within `timeout` (the
    ///   commit may still happen).
    public func commit(_ offsets: [KafkaTopicPartition], timeout: Duration? = nil) throws(KafkaError) {
        try checkOpen("commit")
        let group = try groupID("commit")
        let timeout = client.timeout(timeout)
        guard !offsets.isEmpty else { return }
        for offset in offsets where offset.offset.isLogical {
            throw KafkaError(code: .invalidArgument, message: "commit for group [\(group)]: \(offset) is not absolute")
        }
        guard let queue = rd_kafka_queue_new(client.handle) else {
            throw KafkaError(code: .invalidState, message: "commit for group [\(group)]: rd_kafka_queue_new failed")
        }
        defer { rd_kafka_queue_destroy(queue) }
        try RDKafkaTopicPartitionList.with(offsets, context: "commit") { list throws(KafkaError) in
            try KafkaError.check(
                rd_kafka_commit_queue(client.handle, list, queue, nil, nil),
                context: "commit for group [\(group)]"
            )
        }
        // The result arrives as an RD_KAFKA_EVENT_OFFSET_COMMIT event on `queue`.
        guard let event = rd_kafka_queue_poll(queue, timeout.timeoutMilliseconds) else {
            throw client.explained(
                KafkaError(
                    rdKafkaCode: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue,
                    context: "commit of \(offsets.count) offsets for group [\(group)]",
                    detail: "not confirmed within \(timeout)"
                ),
                window: timeout
            )
        }
        defer { rd_kafka_event_destroy(event) }
        let code = rd_kafka_event_error(event)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let detail = rd_kafka_event_error_string(event).map { String(cString: $0) }
            throw KafkaError(code, context: "commit for group [\(group)]", detail: detail)
        }
        if let committed = rd_kafka_event_topic_partition_list(event) {
            try RDKafkaTopicPartitionList.checkEntries(committed, context: "commit for group [\(group)]")
        }
    }

    /// The committed offsets of ``KafkaConfig/groupID`` for `partitions` (their offsets are
    /// ignored); a partition without a committed offset gets ``KafkaOffset/invalid``. *Blocking*,
    /// for up to `timeout` (default: the operation timeout).
    public func committed(
        _ partitions: [KafkaTopicPartition],
        timeout: Duration? = nil
    ) throws(KafkaError)
        -> [KafkaTopicPartition]
    {
        try checkOpen("committed")
        let group = try groupID("committed offsets")
        let timeout = client.timeout(timeout)
        return try RDKafkaTopicPartitionList.with(partitions, context: "committed") { list throws(KafkaError) in
            let code = rd_kafka_committed(client.handle, list, timeout.timeoutMilliseconds)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw client.explained(
                    KafkaError(code, context: "committed offsets of group [\(group)] within \(timeout)"),
                    window: timeout
                )
            }
            try RDKafkaTopicPartitionList.checkEntries(list, context: "committed offsets of group [\(group)]")
            var result: [KafkaTopicPartition] = []
            for entry in RDKafkaTopicPartitionList.read(list) {
                result.append(entry.partition)
            }
            return result
        }
    }

    /// The consumer's group metadata, for ``KafkaProducer/sendOffsetsToTransaction(_:groupMetadata:timeout:)``.
    /// Since the consumer never joins its group, this carries the group id without a generation.
    public func groupMetadata() throws(KafkaError) -> KafkaConsumerGroupMetadata {
        try checkOpen("group metadata")
        _ = try groupID("group metadata")
        guard let metadata = rd_kafka_consumer_group_metadata(client.handle) else {
            throw KafkaError(code: .invalidState, message: "group metadata: the consumer has none")
        }
        return KafkaConsumerGroupMetadata(owning: metadata)
    }

    // MARK: - Metadata

    /// The metadata of `topic`. *Blocking*, for up to `timeout` (default: the operation timeout).
    ///
    /// - Throws: ``KafkaError/Code/unknownTopicOrPartition`` if the topic does not exist,
    ///   ``KafkaError/Code/timedOut`` or ``KafkaError/Code/brokerUnreachable``.
    public func topicMetadata(_ topic: String, timeout: Duration? = nil) throws(KafkaError) -> KafkaTopicMetadata {
        try checkOpen("topic metadata")
        return try client.topicMetadata(topic, timeout: timeout)
    }

    /// The watermarks of a partition. *Blocking*, for up to `timeout` (default: the operation timeout).
    public func queryWatermarks(
        topic: String,
        partition: Int32,
        timeout: Duration? = nil
    ) throws(KafkaError)
        -> KafkaWatermarks
    {
        try checkOpen("watermarks")
        return try client.queryWatermarks(topic: topic, partition: partition, timeout: timeout)
    }

    /// The watermarks of a partition this consumer fetches, as its last fetch response reported
    /// them; `nil` until one has. *Non-blocking* (no request to the broker).
    public func cachedWatermarks(topic: String, partition: Int32) -> KafkaWatermarks? {
        guard !closed.load(ordering: .acquiring) else { return nil }
        return client.cachedWatermarks(topic: topic, partition: partition)
    }

    // MARK: - Helpers

    private func checkOpen(_ operation: String) throws(KafkaError) {
        guard !closed.load(ordering: .acquiring) else {
            throw KafkaError(code: .closed, message: "\(operation): the consumer is closed")
        }
    }

    private func groupID(_ operation: String) throws(KafkaError) -> String {
        guard let group = client.config.groupID else {
            throw KafkaError(code: .invalidState, message: "\(operation): the consumer has no groupID configured")
        }
        return group
    }
}
