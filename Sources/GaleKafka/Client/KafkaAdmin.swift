internal import CRdKafka
public import Logging

/// Administrative calls: topic creation, metadata and watermarks.
///
/// Threading: every method may be called from any thread. Every method is *blocking* (it waits
/// on the broker, for up to its timeout) and must not run on a Swift-concurrency cooperative
/// thread. A poll thread serves the client's error events.
public final class KafkaAdmin: Sendable {
    let client: RDKafkaClient
    private let pollThread: RDKafkaPollThread

    /// Creates an admin client. It connects lazily.
    ///
    /// - Throws: ``KafkaError/Code/invalidConfiguration`` if `config` is invalid.
    public init(config: KafkaConfig, logger: Logger = Logger(label: "gale.kafka.admin")) throws(KafkaError) {
        client = try RDKafkaClient.make(role: .admin, config: config, logger: logger)
        pollThread = RDKafkaPollThread(client: client, name: "gale-kafka-admin-poll")
    }

    deinit {
        pollThread.stop()
    }

    /// Creates a topic with the CreateTopics admin API. *Blocking*, for up to `timeout` (default:
    /// the operation timeout).
    ///
    /// - Parameters:
    ///   - name: the topic's name.
    ///   - partitions: its number of partitions (at least 1).
    ///   - replicationFactor: replicas per partition (at least 1).
    ///   - config: topic-level settings (for example `retention.ms`).
    ///   - ignoreIfExists: whether an existing topic of that name is success rather than
    ///     ``KafkaError/Code/topicAlreadyExists``. Its partitions are not checked.
    ///   - timeout: bound of the request, and of the wait for the broker to create the topic.
    /// - Returns: `true` if the topic was created, `false` if it existed already.
    /// - Throws: ``KafkaError`` naming the topic: ``KafkaError/Code/topicAlreadyExists``,
    ///   ``KafkaError/Code/invalidArgument``, ``KafkaError/Code/timedOut`` or
    ///   ``KafkaError/Code/brokerUnreachable``, or the broker's error.
    @discardableResult
    public func createTopic(
        _ name: String,
        partitions: Int32,
        replicationFactor: Int32 = 1,
        config: [String: String] = [:],
        ignoreIfExists: Bool = true,
        timeout: Duration? = nil
    ) throws(KafkaError) -> Bool {
        let timeout = client.timeout(timeout)
        let context = "create topic [\(name)] (\(partitions) partitions, replication \(replicationFactor))"
        guard !name.isEmpty, partitions >= 1, replicationFactor >= 1 else {
            throw KafkaError(code: .invalidArgument, message: "\(context): invalid arguments")
        }
        var errorText = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(name, partitions, replicationFactor, &errorText, errorText.count)
        else {
            throw KafkaError(
                code: .invalidArgument,
                message: "\(context): \(RDKafkaConfiguration.string(fromCBuffer: errorText))"
            )
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        for key in config.keys.sorted() {
            guard let value = config[key] else { continue }
            try KafkaError.check(rd_kafka_NewTopic_set_config(newTopic, key, value), context: "\(context): [\(key)]")
        }

        guard let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS) else {
            throw KafkaError(code: .invalidState, message: "\(context): rd_kafka_AdminOptions_new failed")
        }
        defer { rd_kafka_AdminOptions_destroy(options) }
        let milliseconds = timeout.timeoutMilliseconds
        for (setting, code) in [
            ("request timeout", rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, &errorText, 512)),
            ("operation timeout", rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, &errorText, 512)),
        ] where code != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(
                code,
                context: "\(context): \(setting)",
                detail: RDKafkaConfiguration.string(fromCBuffer: errorText)
            )
        }

        guard let queue = rd_kafka_queue_new(client.handle) else {
            throw KafkaError(code: .invalidState, message: "\(context): rd_kafka_queue_new failed")
        }
        defer { rd_kafka_queue_destroy(queue) }
        var newTopics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(client.handle, &newTopics, newTopics.count, options, queue)

        // librdkafka answers within the request timeout; the margin covers its own scheduling.
        let wait = timeout + .seconds(5)
        guard let event = rd_kafka_queue_poll(queue, wait.timeoutMilliseconds) else {
            throw client.explained(
                KafkaError(
                    rdKafkaCode: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue,
                    context: context,
                    detail: "no answer within \(wait)"
                ),
                window: wait
            )
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let detail = rd_kafka_event_error_string(event).map { String(cString: $0) }
            throw client.explained(KafkaError(eventError, context: context, detail: detail), window: wait)
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(code: .other, message: "\(context): unexpected event type \(rd_kafka_event_type(event))")
        }
        var count = 0
        guard let topicResults = rd_kafka_CreateTopics_result_topics(result, &count), count == 1,
            let topicResult = topicResults[0]
        else {
            throw KafkaError(code: .other, message: "\(context): \(count) topic results, expected 1")
        }
        let topicError = rd_kafka_topic_result_error(topicResult)
        if topicError == RD_KAFKA_RESP_ERR_NO_ERROR {
            return true
        }
        if topicError == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, ignoreIfExists {
            return false
        }
        let detail = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) }
        throw KafkaError(topicError, context: context, detail: detail)
    }

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
}
