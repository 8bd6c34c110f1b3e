internal import CRdKafka
import Logging

/// Owns one librdkafka client handle (`rd_kafka_t`) and the calls every role shares: metadata
/// and watermarks.
///
/// librdkafka handles are thread-safe; this class adds no state of its own beyond immutable
/// properties, hence `@unchecked Sendable`. The handle is destroyed in `deinit`, which for a
/// producer first purges unsent records and serves their delivery reports, so that every
/// completion runs once and every per-record box is released.
final class RDKafkaClient: @unchecked Sendable {
    let handle: OpaquePointer
    let role: KafkaConfig.Role
    let config: KafkaConfig
    let callbacks: RDKafkaClientCallbacks

    var logger: Logger {
        callbacks.logger
    }

    private init(handle: OpaquePointer, role: KafkaConfig.Role, config: KafkaConfig, callbacks: RDKafkaClientCallbacks)
    {
        self.handle = handle
        self.role = role
        self.config = config
        self.callbacks = callbacks
    }

    /// Validates `config`, and creates a client for `role`. `configure` may install more
    /// callbacks on the conf before the handle is created.
    static func make(
        role: KafkaConfig.Role,
        config: KafkaConfig,
        logger: Logger,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) -> RDKafkaClient {
        try config.validate(for: role)
        let callbacks = RDKafkaClientCallbacks(logger: logger, servers: config.bootstrapServers.joined(separator: ","))
        let conf = try RDKafkaConfiguration.make(config.librdkafkaProperties(for: role))
        callbacks.install(on: conf)
        configure(conf)
        var errorText = [CChar](repeating: 0, count: 512)
        let type = role == .consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER
        // On success the handle owns `conf`; on failure it is still ours to destroy. `callbacks`
        // stays alive through this scope, covering log calls made while creating the handle.
        let handle = withExtendedLifetime(callbacks) { rd_kafka_new(type, conf, &errorText, errorText.count) }
        guard let handle else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(
                code: .invalidConfiguration,
                message: "cannot create a Kafka \(role): \(RDKafkaConfiguration.string(fromCBuffer: errorText))"
            )
        }
        return RDKafkaClient(handle: handle, role: role, config: config, callbacks: callbacks)
    }

    deinit {
        if role == .producer {
            // Fail what is still queued or in flight (its completions get a `.closed` error) and
            // serve those delivery reports here: after rd_kafka_destroy nobody would.
            _ = rd_kafka_purge(handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
            var rounds = 0
            while rd_kafka_outq_len(handle) > 0, rounds < 50 {
                rd_kafka_poll(handle, 100)
                rounds += 1
            }
            rd_kafka_poll(handle, 0)
        }
        rd_kafka_destroy(handle)
    }

    /// `timeout`, or the configured operation timeout.
    func timeout(_ timeout: Duration?) -> Duration {
        timeout ?? config.operationTimeout
    }

    /// `error`, with the cause named when it is a timeout and the client could not reach any
    /// broker within `window`: the code becomes ``KafkaError/Code/brokerUnreachable``.
    func explained(_ error: KafkaError, window: Duration) -> KafkaError {
        callbacks.explained(error, window: window)
    }

    // MARK: - Metadata

    /// The metadata of `topic`. Blocks for up to `timeout`.
    func topicMetadata(_ topic: String, timeout: Duration?) throws(KafkaError) -> KafkaTopicMetadata {
        guard !topic.isEmpty else {
            throw KafkaError(code: .invalidArgument, message: "topic metadata: the topic name is empty")
        }
        let timeout = self.timeout(timeout)
        guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else {
            throw KafkaError(rd_kafka_last_error(), context: "rd_kafka_topic_new([\(topic)])")
        }
        defer { rd_kafka_topic_destroy(topicHandle) }
        var result: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(handle, 0, topicHandle, &result, timeout.timeoutMilliseconds)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata = result else {
            throw explained(
                KafkaError(code, context: "metadata of topic [\(topic)] within \(timeout)"),
                window: timeout
            )
        }
        defer { rd_kafka_metadata_destroy(metadata) }

        let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
        for entry in topics where entry.topic.map({ String(cString: $0) }) == topic {
            guard entry.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(entry.err, context: "metadata of topic [\(topic)]")
            }
            var partitions: [KafkaPartitionMetadata] = []
            let entries = UnsafeBufferPointer(start: entry.partitions, count: Int(entry.partition_cnt))
            for partition in entries {
                partitions.append(
                    KafkaPartitionMetadata(
                        id: partition.id,
                        leader: partition.leader,
                        replicas: Array(
                            UnsafeBufferPointer(start: partition.replicas, count: Int(partition.replica_cnt))
                        ),
                        inSyncReplicas: Array(UnsafeBufferPointer(start: partition.isrs, count: Int(partition.isr_cnt)))
                    )
                )
            }
            partitions.sort { $0.id < $1.id }
            return KafkaTopicMetadata(name: topic, partitions: partitions)
        }
        throw KafkaError(
            rdKafkaCode: RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue,
            context: "metadata of topic [\(topic)]",
            detail: "the broker returned no metadata for the topic"
        )
    }

    /// The low and high watermarks of a partition, asked of its leader. Blocks for up to `timeout`.
    func queryWatermarks(topic: String, partition: Int32, timeout: Duration?) throws(KafkaError) -> KafkaWatermarks {
        let timeout = self.timeout(timeout)
        var low: Int64 = -1
        var high: Int64 = -1
        let code = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, timeout.timeoutMilliseconds)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw explained(
                KafkaError(code, context: "watermarks of [\(topic)][\(partition)] within \(timeout)"),
                window: timeout
            )
        }
        return KafkaWatermarks(low: low, high: high)
    }

    /// The watermarks librdkafka last saw for a partition this consumer fetches (from fetch
    /// responses), without asking the broker; `nil` until a fetch has returned some.
    func cachedWatermarks(topic: String, partition: Int32) -> KafkaWatermarks? {
        var low: Int64 = -1
        var high: Int64 = -1
        let code = rd_kafka_get_watermark_offsets(handle, topic, partition, &low, &high)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return KafkaWatermarks(low: low, high: high)
    }
}
