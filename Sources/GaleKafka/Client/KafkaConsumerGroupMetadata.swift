internal import CRdKafka

/// A consumer group's metadata, which ties offsets sent to a transaction to the group
/// (``KafkaProducer/sendOffsetsToTransaction(_:groupMetadata:timeout:)``).
///
/// Immutable after creation; owns its librdkafka object and destroys it on deinit.
public final class KafkaConsumerGroupMetadata: @unchecked Sendable {
    /// The `rd_kafka_consumer_group_metadata_t`, owned by this object and never mutated.
    let pointer: OpaquePointer

    /// Takes over a `rd_kafka_consumer_group_metadata_t`.
    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
    }

    /// Metadata naming only the group, as for a consumer that assigns its partitions itself.
    ///
    /// - Throws: ``KafkaError/Code/invalidArgument`` if `groupID` is empty.
    public convenience init(groupID: String) throws(KafkaError) {
        guard !groupID.isEmpty, let pointer = rd_kafka_consumer_group_metadata_new(groupID) else {
            throw KafkaError(code: .invalidArgument, message: "consumer group metadata for group [\(groupID)]")
        }
        self.init(owning: pointer)
    }

    deinit {
        rd_kafka_consumer_group_metadata_destroy(pointer)
    }
}
