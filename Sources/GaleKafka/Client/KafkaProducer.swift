internal import CRdKafka
public import Logging
import Synchronization

/// A Kafka producer with delivery reports.
///
/// Threading: every method may be called from any thread. A dedicated poll thread serves
/// librdkafka's delivery reports, so completions passed to
/// ``produce(_:completion:)`` run on that thread: keep them short and never block in them.
/// ``send(_:)`` is the async convenience; the batch-friendly path is ``produce(_:completion:)``
/// followed by ``flush(timeout:)``. Calls marked *blocking* wait on the broker and must not run
/// on a Swift-concurrency cooperative thread (use a dedicated thread or `DispatchQueue`).
///
/// Deinitializing the producer fails still-pending records with ``KafkaError/Code/closed`` (their
/// completions run), stops the poll thread and destroys the librdkafka handle. Call
/// ``flush(timeout:)`` first to deliver them.
public final class KafkaProducer: Sendable {
    /// The per-record state a delivery report needs, passed to librdkafka as the record's opaque.
    ///
    /// Ownership: ``produce(_:completion:)`` passes a *retained* pointer; the delivery-report
    /// callback takes it back (`takeRetainedValue`) exactly once. If `rd_kafka_produceva` fails,
    /// no report will come and `produce` releases it instead. The client's `deinit` purges and
    /// serves pending reports before destroying the handle, so no pointer is left unreleased.
    private final class DeliveryContext: Sendable {
        let topic: String
        let window: Duration
        let completion: @Sendable (Result<KafkaDelivery, KafkaError>) -> Void

        init(
            topic: String,
            window: Duration,
            completion: @escaping @Sendable (Result<KafkaDelivery, KafkaError>) -> Void
        ) {
            self.topic = topic
            self.window = window
            self.completion = completion
        }
    }

    let client: RDKafkaClient
    private let pollThread: RDKafkaPollThread
    private let closed = Atomic<Bool>(false)

    /// Creates a producer. It connects lazily: a broker that is down is reported by delivery
    /// reports (after ``KafkaConfig/messageTimeout``) and by blocking calls (after their timeout).
    ///
    /// - Throws: ``KafkaError/Code/invalidConfiguration`` if `config` is invalid.
    public init(config: KafkaConfig, logger: Logger = Logger(label: "gale.kafka.producer")) throws(KafkaError) {
        client = try RDKafkaClient.make(role: .producer, config: config, logger: logger) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let recordOpaque = message.pointee._private else { return }
                // A token (odd, never a pointer to a context): one report for the owner to take.
                let bits = UInt(bitPattern: recordOpaque)
                if bits & 1 == 1, let opaque {
                    let callbacks = Unmanaged<RDKafkaClientCallbacks>.fromOpaque(opaque).takeUnretainedValue()
                    let record = message.pointee
                    var error: KafkaError?
                    if record.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                        let topic = record.rkt.flatMap { rd_kafka_topic_name($0) }.map { String(cString: $0) } ?? "?"
                        error = callbacks.explained(
                            KafkaError(record.err, context: "delivery to [\(topic)][\(record.partition)]"),
                            window: .seconds(10)
                        )
                    }
                    callbacks.tokenReports.withLock {
                        $0.append(DeliveryReport(token: UInt64(bits >> 1), error: error))
                    }
                    return
                }
                let context = Unmanaged<DeliveryContext>.fromOpaque(recordOpaque).takeRetainedValue()
                let record = message.pointee
                guard record.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    var error = KafkaError(record.err, context: "delivery to [\(context.topic)][\(record.partition)]")
                    if let opaque {
                        let callbacks = Unmanaged<RDKafkaClientCallbacks>.fromOpaque(opaque).takeUnretainedValue()
                        error = callbacks.explained(error, window: context.window)
                    }
                    context.completion(.failure(error))
                    return
                }
                var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
                let timestamp = rd_kafka_message_timestamp(message, &timestampType)
                context.completion(
                    .success(
                        KafkaDelivery(
                            topic: context.topic,
                            partition: record.partition,
                            offset: record.offset,
                            timestamp: timestamp >= 0 ? timestamp : nil
                        )
                    )
                )
            }
        }
        pollThread = RDKafkaPollThread(client: client, name: "gale-kafka-producer-poll")
    }

    /// The outcome of a record produced with ``produce(_:token:)``: its token and, if it failed, why.
    public struct DeliveryReport: Sendable {
        /// The token the record was produced with.
        public var token: UInt64
        /// `nil` when the broker confirmed the record.
        public var error: KafkaError?
    }

    deinit {
        pollThread.stop()
    }

    // MARK: - Producing

    /// Queues `record` for delivery and returns at once; `completion`, if given, runs on the
    /// poll thread when the broker confirms the record or it fails (for example after
    /// ``KafkaConfig/messageTimeout``).
    ///
    /// - Throws: ``KafkaError`` if the record cannot be queued: ``KafkaError/Code/queueFull``
    ///   (retriable: flush or wait for completions), ``KafkaError/Code/messageTooLarge``,
    ///   ``KafkaError/Code/unknownTopicOrPartition``, ``KafkaError/Code/closed``, fatal errors.
    ///   `completion` is not called then.
    public func produce(
        _ record: KafkaProducerRecord,
        completion: (@Sendable (Result<KafkaDelivery, KafkaError>) -> Void)? = nil
    ) throws(KafkaError) {
        let context = completion.map {
            Unmanaged.passRetained(
                DeliveryContext(topic: record.topic, window: client.config.messageTimeout, completion: $0)
            )
            .toOpaque()
        }
        try enqueue(record, opaque: context, releaseOnFailure: true)
    }

    /// Validates and hands `record` to librdkafka with `opaque` (a retained context or a token).
    private func enqueue(
        _ record: KafkaProducerRecord,
        opaque context: UnsafeMutableRawPointer?,
        releaseOnFailure: Bool
    ) throws(KafkaError) {
        guard !closed.load(ordering: .acquiring) else {
            if releaseOnFailure, let context { Unmanaged<DeliveryContext>.fromOpaque(context).release() }
            throw KafkaError(code: .closed, message: "produce to [\(record.topic)]: the producer is closed")
        }
        guard !record.topic.isEmpty else {
            if releaseOnFailure, let context { Unmanaged<DeliveryContext>.fromOpaque(context).release() }
            throw KafkaError(code: .invalidArgument, message: "produce: the topic name is empty")
        }
        if let partition = record.partition, partition < 0 {
            if releaseOnFailure, let context { Unmanaged<DeliveryContext>.fromOpaque(context).release() }
            throw KafkaError(code: .invalidArgument, message: "produce to [\(record.topic)]: partition \(partition)")
        }

        // Headers: a list librdkafka takes over when rd_kafka_produceva succeeds; ours to
        // destroy if it fails.
        var headers: OpaquePointer?
        if !record.headers.isEmpty {
            headers = rd_kafka_headers_new(record.headers.count)
            for header in record.headers {
                let code = Self.withBytes(header.value) { value in
                    rd_kafka_header_add(headers, header.name, -1, value?.baseAddress, value?.count ?? 0)
                }
                guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    rd_kafka_headers_destroy(headers)
                    if releaseOnFailure, let context { Unmanaged<DeliveryContext>.fromOpaque(context).release() }
                    throw KafkaError(code, context: "produce to [\(record.topic)]: header [\(header.name)]")
                }
            }
        }

        let failure: OpaquePointer? = record.topic.withCString { topic in
            Self.withBytes(record.key) { key in
                Self.withBytes(record.value) { value in
                    // On the stack: at most 8 fields.
                    withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 8) { storage in
                        var count = 0
                        func append(_ field: rd_kafka_vu_t) {
                            storage.initializeElement(at: count, to: field)
                            count += 1
                        }
                        var field = rd_kafka_vu_t()
                        field.vtype = RD_KAFKA_VTYPE_TOPIC
                        field.u.cstr = topic
                        append(field)
                        field = rd_kafka_vu_t()
                        field.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                        field.u.i = RD_KAFKA_MSG_F_COPY
                        append(field)
                        if let partition = record.partition {
                            field = rd_kafka_vu_t()
                            field.vtype = RD_KAFKA_VTYPE_PARTITION
                            field.u.i32 = partition
                            append(field)
                        }
                        if let key {
                            field = rd_kafka_vu_t()
                            field.vtype = RD_KAFKA_VTYPE_KEY
                            field.u.mem.ptr = key.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) }
                            field.u.mem.size = key.count
                            append(field)
                        }
                        if let value {
                            field = rd_kafka_vu_t()
                            field.vtype = RD_KAFKA_VTYPE_VALUE
                            field.u.mem.ptr = value.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) }
                            field.u.mem.size = value.count
                            append(field)
                        }
                        if let timestamp = record.timestamp {
                            field = rd_kafka_vu_t()
                            field.vtype = RD_KAFKA_VTYPE_TIMESTAMP
                            field.u.i64 = timestamp
                            append(field)
                        }
                        if let headers {
                            field = rd_kafka_vu_t()
                            field.vtype = RD_KAFKA_VTYPE_HEADERS
                            field.u.headers = headers
                            append(field)
                        }
                        if let context {
                            field = rd_kafka_vu_t()
                            field.vtype = RD_KAFKA_VTYPE_OPAQUE
                            field.u.ptr = context
                            append(field)
                        }
                        defer { storage.baseAddress?.deinitialize(count: count) }
                        return rd_kafka_produceva(client.handle, storage.baseAddress, count)
                    }
                }
            }
        }
        if let failure {
            if let headers {
                rd_kafka_headers_destroy(headers)
            }
            if releaseOnFailure, let context {
                Unmanaged<DeliveryContext>.fromOpaque(context).release()
            }
            let partition = record.partition.map { "[\($0)]" } ?? ""
            throw KafkaError(consuming: failure, context: "produce to [\(record.topic)]\(partition)")
        }
    }

    /// Queues `record` for delivery with a `token` (below 2^62) instead of a completion: its
    /// ``DeliveryReport`` is kept until ``takeDeliveryReports()``. No allocation per record, for
    /// writers that produce many records and settle them in batches (``KafkaBolt``).
    ///
    /// - Throws: as ``produce(_:completion:)``; no report comes then.
    public func produce(_ record: KafkaProducerRecord, token: UInt64) throws(KafkaError) {
        guard let opaque = UnsafeMutableRawPointer(bitPattern: UInt(truncatingIfNeeded: token << 1 | 1)) else {
            throw KafkaError(code: .invalidArgument, message: "produce: token \(token) out of range")
        }
        try enqueue(record, opaque: opaque, releaseOnFailure: false)
    }

    /// The delivery reports of records produced with a token since the last call, in the order
    /// the broker settled them (reports run on the poll thread).
    public func takeDeliveryReports() -> [DeliveryReport] {
        client.callbacks.tokenReports.withLock { reports in
            let taken = reports
            reports.removeAll(keepingCapacity: false)
            return taken
        }
    }

    /// Queues a record; see ``produce(_:completion:)``.
    public func produce(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]? = nil,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        completion: (@Sendable (Result<KafkaDelivery, KafkaError>) -> Void)? = nil
    ) throws(KafkaError) {
        try produce(
            KafkaProducerRecord(topic: topic, partition: partition, key: key, value: value, headers: headers),
            completion: completion
        )
    }

    /// Produces `record` and returns when the broker confirmed it.
    ///
    /// Does not block a thread while waiting. Cancelling the task does not withdraw the record.
    ///
    /// - Throws: ``KafkaError`` if the record cannot be queued or its delivery fails.
    public func send(_ record: KafkaProducerRecord) async throws(KafkaError) -> KafkaDelivery {
        let result: Result<KafkaDelivery, KafkaError> = await withCheckedContinuation { continuation in
            do throws(KafkaError) {
                try produce(record) { continuation.resume(returning: $0) }
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// Produces a record and returns when the broker confirmed it; see ``send(_:)``.
    public func send(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]? = nil,
        value: [UInt8]?,
        headers: [KafkaHeader] = []
    ) async throws(KafkaError) -> KafkaDelivery {
        try await send(
            KafkaProducerRecord(topic: topic, partition: partition, key: key, value: value, headers: headers)
        )
    }

    /// The number of records (and requests) not yet confirmed or failed.
    public var outstandingCount: Int {
        Int(rd_kafka_outq_len(client.handle))
    }

    /// Waits until every queued record has been confirmed or has failed, and its completion ran.
    /// *Blocking*, for up to `timeout`.
    ///
    /// - Throws: ``KafkaError/Code/timedOut`` (or ``KafkaError/Code/brokerUnreachable``) if records
    ///   are still outstanding after `timeout`.
    /// - Important: Never call it (nor ``close(timeout:)`` or ``commitTransaction(timeout:)``, which
    ///   flush) from a completion: completions run on the poll thread that flushing waits for.
    public func flush(timeout: Duration) throws(KafkaError) {
        let code = rd_kafka_flush(client.handle, timeout.timeoutMilliseconds)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw client.explained(
                KafkaError(code, context: "flush: \(outstandingCount) records outstanding after \(timeout)"),
                window: client.config.messageTimeout
            )
        }
    }

    /// Flushes, then refuses further records (``KafkaError/Code/closed``). *Blocking*, for up to
    /// `timeout`. Resources are released when the producer is deinitialized.
    ///
    /// - Throws: the error of ``flush(timeout:)``; the producer is closed anyway.
    public func close(timeout: Duration) throws(KafkaError) {
        defer { closed.store(true, ordering: .releasing) }
        try flush(timeout: timeout)
    }

    // MARK: - Metadata

    /// The metadata of `topic`. *Blocking*, for up to `timeout` (default: the operation timeout).
    ///
    /// - Throws: ``KafkaError/Code/unknownTopicOrPartition`` if the topic does not exist,
    ///   ``KafkaError/Code/timedOut`` or ``KafkaError/Code/brokerUnreachable``.
    public func topicMetadata(_ topic: String, timeout: Duration? = nil) throws(KafkaError) -> KafkaTopicMetadata {
        try client.topicMetadata(topic, timeout: timeout)
    }

    /// The watermarks of a partition. *Blocking*, for up to `timeout` (default: the operation timeout).
    public func queryWatermarks(
        topic: String,
        partition: Int32,
        timeout: Duration? = nil
    ) throws(KafkaError)
        -> KafkaWatermarks
    {
        try client.queryWatermarks(topic: topic, partition: partition, timeout: timeout)
    }

    // MARK: - Bytes

    /// A non-null pointer for empty values, which Kafka distinguishes from null ones. Never
    /// written: librdkafka copies 0 bytes from it.
    nonisolated(unsafe) private static let emptyBytes = UnsafeRawPointer(
        UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
    )

    /// Runs `body` with `bytes` (`nil` for `nil`; a non-null empty buffer for `[]`).
    private static func withBytes<Result>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> Result) -> Result {
        guard let bytes else { return body(nil) }
        guard !bytes.isEmpty else { return body(UnsafeRawBufferPointer(start: emptyBytes, count: 0)) }
        return bytes.withUnsafeBytes { body($0) }
    }
}
