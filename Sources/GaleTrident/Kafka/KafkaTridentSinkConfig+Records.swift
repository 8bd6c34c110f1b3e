import Gale
import GaleKafka

extension KafkaTridentSinkConfig {
    /// The Kafka record for one record of a batch (`nil`: none), with the topic filled in.
    func record(for values: [GaleValue], fields: [String]) throws -> KafkaProducerRecord? {
        guard var record = try mapper(TridentTuple(fields: fields, values: values)) else { return nil }
        if record.topic.isEmpty { record.topic = topic }
        return record
    }
}

extension KafkaProducer {
    /// Produces `record`, waiting (flushing briefly) while the local queue is full, until
    /// `deadline`. *Blocking* while it waits.
    func produce(
        _ record: KafkaProducerRecord,
        waitingUntil deadline: ContinuousClock.Instant,
        completion: (@Sendable (Result<KafkaDelivery, KafkaError>) -> Void)? = nil
    ) throws(KafkaError) {
        while true {
            do throws(KafkaError) {
                try produce(record, completion: completion)
                return
            } catch {
                guard error.code == .queueFull, ContinuousClock.now < deadline else { throw error }
                // Room frees as the broker confirms; a flush that times out is fine here.
                try? flush(timeout: .milliseconds(50))
            }
        }
    }
}
