public import Logging

extension KafkaConsumer {
    /// Reads `partition` of `topic` from `offset` with a consumer of its own (no group,
    /// `auto.offset.reset` `error`, so it never jumps elsewhere), handing each record to `body`
    /// until `body` returns `false` or `timeout` passes. For checks of what a log holds that must
    /// not disturb a consumer's position. *Blocking.*
    ///
    /// - Throws: what creating, assigning or polling the probe throws (for example
    ///   ``KafkaError/Code/offsetOutOfRange`` for an offset the log does not hold).
    public static func probe(
        topic: String,
        partition: Int32,
        from offset: Int64,
        config: KafkaConfig,
        timeout: Duration,
        logger: Logger,
        _ body: (KafkaRecord) -> Bool
    ) throws(KafkaError) {
        var probeConfig = config
        probeConfig.groupID = nil
        probeConfig.offsetReset = .error
        let probe = try KafkaConsumer(config: probeConfig, logger: logger)
        defer { probe.close() }
        try probe.assign([KafkaTopicPartition(topic: topic, partition: partition, offset: KafkaOffset(offset))])
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for record in try probe.poll(maxRecords: 1_024, timeout: .milliseconds(100))
            where record.topic == topic && record.partition == partition {
                guard body(record) else { return }
            }
        }
    }

    /// Whether `partition` of `topic` holds a record from `offset` on below `reportedStart`, the
    /// log's first offset as the broker reports it (``queryWatermarks(topic:partition:timeout:)``'s
    /// `low`): that is, whether the report is wrong for `offset`.
    ///
    /// A ``probe(topic:partition:from:config:timeout:logger:_:)`` reads from `offset`. A broker
    /// whose log does start at `reportedStart` answers OFFSET_OUT_OF_RANGE, or returns records
    /// from `reportedStart` on: `false`. The test broker, Tansu 0.6, was seen to report a log
    /// start past records it holds (after the first two batches of a partition were written at
    /// once); the records come back then: `true`. Nothing read in time, or an error, answers
    /// `false`. *Blocking.*
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
        var holds = false
        do {
            try probe(
                topic: topic,
                partition: partition,
                from: offset,
                config: config,
                timeout: timeout,
                logger: logger
            ) {
                record in
                holds = record.offset < reportedStart
                return false
            }
        } catch {
            logger.debug("probe of \(topic)[\(partition)]@\(offset): \(error)")
        }
        return holds
    }
}
