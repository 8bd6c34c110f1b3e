internal import CRdKafka

/// Conversions between ``KafkaTopicPartition`` arrays and librdkafka's
/// `rd_kafka_topic_partition_list_t`.
enum RDKafkaTopicPartitionList {
    typealias Pointer = UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    /// Runs `body` with a list holding `partitions`, destroyed when `body` returns or throws.
    static func with<Result>(
        _ partitions: [KafkaTopicPartition],
        context: String,
        _ body: (Pointer) throws(KafkaError) -> Result
    ) throws(KafkaError) -> Result {
        guard let list = rd_kafka_topic_partition_list_new(Int32(clamping: partitions.count)) else {
            throw KafkaError(code: .invalidArgument, message: "\(context): rd_kafka_topic_partition_list_new failed")
        }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions {
            guard !partition.topic.isEmpty, partition.partition >= 0 else {
                throw KafkaError(code: .invalidArgument, message: "\(context): invalid topic partition \(partition)")
            }
            guard let entry = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition) else {
                throw KafkaError(code: .invalidArgument, message: "\(context): cannot add \(partition)")
            }
            entry.pointee.offset = partition.offset.rawValue
        }
        return try body(list)
    }

    /// The entries of `list`, each with its per-partition error code.
    static func read(_ list: Pointer) -> [(partition: KafkaTopicPartition, error: rd_kafka_resp_err_t)] {
        var result: [(partition: KafkaTopicPartition, error: rd_kafka_resp_err_t)] = []
        let entries = UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt))
        result.reserveCapacity(entries.count)
        for entry in entries {
            let topic = entry.topic.map { String(cString: $0) } ?? ""
            let partition = KafkaTopicPartition(
                topic: topic,
                partition: entry.partition,
                offset: KafkaOffset(entry.offset)
            )
            result.append((partition, entry.err))
        }
        return result
    }

    /// Throws the first per-partition error in `list`, naming its partition; `inProgressIsDone`
    /// accepts `_IN_PROGRESS` (what an asynchronous seek leaves in each entry).
    static func checkEntries(_ list: Pointer, context: String, inProgressIsDone: Bool = false) throws(KafkaError) {
        for (partition, error) in read(list) where error != RD_KAFKA_RESP_ERR_NO_ERROR {
            if inProgressIsDone && error == RD_KAFKA_RESP_ERR__IN_PROGRESS { continue }
            throw KafkaError(error, context: "\(context) [\(partition.topic)][\(partition.partition)]")
        }
    }
}
