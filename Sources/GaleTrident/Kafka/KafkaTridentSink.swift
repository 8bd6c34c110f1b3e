import GaleKafka
import Logging

/// Writes each batch of a stream to a Kafka topic at commit, so that a replayed batch shows in
/// the topic once for its readers (``Stream/sink(_:_:)``), in one of two ways
/// (``KafkaTridentSinkConfig/Mode``):
///
/// - **transactional**: a Kafka transaction per batch and task, which also commits the batch's
///   input offsets for the upstream ``KafkaTridentSpout``'s consumer group; needs a broker with
///   transactions, and read-committed readers.
/// - **idempotent**: an idempotent producer and records that carry their batch and position
///   (``SinkRecordPosition``), so that a downstream ``KafkaTridentSpout`` drops the repeats
///   (``RepeatFilter``); needs a transactional upstream (a replayed batch must carry the same
///   records) and works with any broker.
///
/// ```swift
/// var config = KafkaTridentSinkConfig(brokers: brokers, topic: "words-out", mode: .idempotent)
/// config.mapper = KafkaTridentSinkConfig.fields(key: "word", value: "sentence")
/// topology.newStream("sentences", KafkaTridentSpout(input, parallelism: 2))
///     .each(["value"], output: ["word", "sentence"]) { ... }
///     .sink("words", KafkaTridentSink(config))
/// ```
public struct KafkaTridentSink: TridentSink {
    /// The settings.
    public let config: KafkaTridentSinkConfig

    /// A sink writing as `config` says.
    public init(_ config: KafkaTridentSinkConfig) {
        self.config = config
    }

    public func makeWriter(context: SinkContext) throws -> any BatchWriter {
        var logger = Logger(label: "gale.trident.kafka.sink")
        logger[metadataKey: "sink"] = "\(context.sinkName)"
        logger[metadataKey: "task"] = "\(context.taskIndex)"
        logger[metadataKey: "topic"] = "\(config.topic)"
        if let partitions = config.createTopicPartitions {
            try KafkaAdmin.ensureTopic(config.topic, partitions: partitions, config: config.client, logger: logger)
        }
        switch config.mode {
        case .transactional:
            return try KafkaTransactionalBatchWriter(config: config, context: context, logger: logger)
        case .idempotent:
            return try KafkaIdempotentBatchWriter(config: config, context: context, logger: logger)
        }
    }
}
