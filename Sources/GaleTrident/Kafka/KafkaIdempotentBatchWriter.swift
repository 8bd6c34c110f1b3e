import Gale
import GaleKafka
import Logging
import Synchronization

/// The writer of one task of a ``KafkaTridentSink`` in idempotent mode: an idempotent producer
/// (`enable.idempotence`, and `enable.gapless.guarantee` so that a failure that could leave a gap
/// in a partition stops the producer rather than letting later records through), whose records
/// carry their ``SinkRecordPosition`` (stage `<topology>/<sink>`, this task, the txid, the
/// record's index in the task's batch) in headers.
///
/// A write produces the batch's records in order and returns when the broker confirmed every
/// one; any failure throws, so the batch is replayed and written again from index 0, and readers
/// drop what they already saw (``RepeatFilter``). A producer left unusable (a fatal error) is
/// replaced at the next write.
///
/// Records never time out in the producer (`message.timeout.ms` 0 unless set in
/// ``KafkaConfig/properties``): the gapless guarantee does not cover timeouts, and a record timing
/// out while a later one of the same partition got through would leave a gap whose replay the
/// ``RepeatFilter`` takes for a repeat (a lost record). A write still gives up after
/// ``KafkaTridentSinkConfig/flushTimeout``; the records it left queued are delivered, in order,
/// before its replay's, which readers then drop as repeats.
///
/// Threading: every method runs on the sink task's serial queue and blocks on the broker.
final class KafkaIdempotentBatchWriter: BatchWriter {
    private let config: KafkaTridentSinkConfig
    private let context: SinkContext
    private let logger: Logger
    private var producer: KafkaProducer?
    private let stage: String

    init(config: KafkaTridentSinkConfig, context: SinkContext, logger: Logger) throws {
        self.config = config
        self.context = context
        self.logger = logger
        stage = "\(context.topologyName)/\(context.sinkName)"
        producer = try openProducer()
    }

    private func openProducer() throws -> KafkaProducer {
        if let producer { return producer }
        var client = config.client
        client.enableIdempotence = true
        client.properties["enable.gapless.guarantee"] = client.properties["enable.gapless.guarantee"] ?? "true"
        client.properties["message.timeout.ms"] = client.properties["message.timeout.ms"] ?? "0"
        let producer = try KafkaProducer(config: client, logger: logger)
        self.producer = producer
        return producer
    }

    func write(txid: Int64, records: [[GaleValue]]) throws {
        guard !records.isEmpty else { return }
        let producer = try openProducer()
        let failure = Mutex<KafkaError?>(nil)
        let report: @Sendable (Result<KafkaDelivery, KafkaError>) -> Void = { result in
            guard case .failure(let error) = result else { return }
            failure.withLock { if $0 == nil { $0 = error } }
        }
        let deadline = ContinuousClock.now + config.flushTimeout
        var thrown: (any Error)?
        do {
            for (index, values) in records.enumerated() {
                guard var record = try config.record(for: values, fields: context.fields) else { continue }
                let position = SinkRecordPosition(
                    stage: stage,
                    part: Int64(context.taskIndex),
                    txid: txid,
                    index: Int64(index)
                )
                record.headers += position.headers
                try producer.produce(record, waitingUntil: deadline, completion: report)
            }
            try config.beforeCommit?(txid, context.taskIndex)
        } catch {
            thrown = error
        }
        // Every record produced is settled before the write returns, even when it fails.
        let remaining = max(.milliseconds(1), deadline - ContinuousClock.now)
        do {
            try producer.flush(timeout: remaining)
        } catch {
            thrown = thrown ?? error
        }
        let error = thrown ?? failure.withLock { $0 }
        guard let error else { return }
        logger.warning("batch \(txid): \(error); it is written again when replayed")
        if let kafkaError = (error as? KafkaError) ?? failure.withLock({ $0 }), kafkaError.isFatal {
            logger.warning("idempotent producer replaced after a fatal error")
            self.producer = nil
        }
        throw error
    }

    func close() {
        guard let producer else { return }
        try? producer.close(timeout: .seconds(5))
    }
}
