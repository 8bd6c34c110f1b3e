public import Logging

extension KafkaConsumer {
    /// Whether `partition` of `topic` holds a record from `offset` on below `reportedStart`, the
    /// log's first offset as the broker reports it (``queryWatermarks(topic:partition:timeout:)``'s
    /// `low`): that is, whether the report is wrong for `offset`.
    ///
    /// A probe consumer (no group, `auto.offset.reset` `error`) reads from `offset` for up to
    /// `timeout`. A broker whose log does start at `reportedStart` answers OFFSET_OUT_OF_RANGE,
    /// or returns records from `reportedStart` on: `false`. The test broker, Tansu 0.6, was seen
    /// to report a log start past records it holds (after the first two batches of a partition
    /// were written at once); the records come back then: `true`. Nothing read in time, or an
    /// error, answers `false`.
    ///
    /// *Blocking.*
    public static func logHoldsRecords(
        topic: String,
        partition: Int32,
        from offset: Int64,
        below reportedStart: Int64,
        config: KafkaConfig,
        timeout: Duration = .seconds(2),
        logger: Logger = Logger(label: "gale.kafka.consumer")
    ) -> Bool {
        guard offset >= 0, offset < reportedStart else { return false }
        var probeConfig = config
        probeConfig.groupID = nil
        probeConfig.offsetReset = .error
        do {
            let probe = try KafkaConsumer(config: probeConfig, logger: logger)
            defer { probe.close() }
            try probe.assign([KafkaTopicPartition(topic: topic, partition: partition, offset: KafkaOffset(offset))])
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let records = try probe.poll(maxRecords: 16, timeout: .milliseconds(100))
                if let first = records.first(where: { $0.topic == topic && $0.partition == partition }) {
                    return first.offset < reportedStart
                }
            }
        } catch {
            logger.debug("probe of \(topic)[\(partition)]@\(offset): \(error)")
        }
        return false
    }
}
