internal import CRdKafka

// Transactions need ``KafkaConfig/transactionalID``. Every call is *blocking* (for up to its
// timeout, default: the operation timeout) and must not run on a Swift-concurrency cooperative
// thread. On an error, check ``KafkaError/requiresTransactionAbort`` (abort, then start over),
// ``KafkaError/isRetriable`` (call again) and ``KafkaError/isFatal`` (recreate the producer).
extension KafkaProducer {
    /// Registers the transactional id with the transaction coordinator, fencing older producers
    /// with the same id and completing or aborting their open transaction. Call once, first.
    ///
    /// - Throws: ``KafkaError/Code/invalidState`` without a transactional id;
    ///   ``KafkaError/Code/timedOut`` (retriable) or ``KafkaError/Code/brokerUnreachable``.
    public func initTransactions(timeout: Duration? = nil) throws(KafkaError) {
        let timeout = client.timeout(timeout)
        try transactionCall("init transactions", timeout: timeout) {
            rd_kafka_init_transactions(client.handle, timeout.timeoutMilliseconds)
        }
    }

    /// Starts a transaction: records produced from now on belong to it.
    public func beginTransaction() throws(KafkaError) {
        try KafkaError.check(
            rd_kafka_begin_transaction(client.handle),
            context: transactionContext("begin transaction")
        )
    }

    /// Adds consumed offsets to the current transaction: they are committed for the group of
    /// `groupMetadata` if, and only if, the transaction commits. Each offset is the next one to
    /// read (last processed offset + 1).
    public func sendOffsetsToTransaction(
        _ offsets: [KafkaTopicPartition],
        groupMetadata: KafkaConsumerGroupMetadata,
        timeout: Duration? = nil
    ) throws(KafkaError) {
        let timeout = client.timeout(timeout)
        let context = transactionContext("send \(offsets.count) offsets to transaction")
        try RDKafkaTopicPartitionList.with(offsets, context: context) { list throws(KafkaError) in
            try transactionCall(context, timeout: timeout) {
                rd_kafka_send_offsets_to_transaction(
                    client.handle,
                    list,
                    groupMetadata.pointer,
                    timeout.timeoutMilliseconds
                )
            }
        }
    }

    /// Flushes the transaction's records and commits it. Delivery reports of its records run
    /// before this returns.
    ///
    /// - Throws: a retriable error (call again), one that requires an abort, or a fatal one.
    public func commitTransaction(timeout: Duration? = nil) throws(KafkaError) {
        let timeout = client.timeout(timeout)
        try transactionCall("commit transaction", timeout: timeout) {
            rd_kafka_commit_transaction(client.handle, timeout.timeoutMilliseconds)
        }
    }

    /// Aborts the current transaction: its records are marked aborted and its offsets dropped.
    /// Queued records of it fail with ``KafkaError/Code/closed`` (purged).
    public func abortTransaction(timeout: Duration? = nil) throws(KafkaError) {
        let timeout = client.timeout(timeout)
        try transactionCall("abort transaction", timeout: timeout) {
            rd_kafka_abort_transaction(client.handle, timeout.timeoutMilliseconds)
        }
    }

    private func transactionContext(_ operation: String) -> String {
        "\(operation) (transactional id [\(client.config.transactionalID ?? "none")])"
    }

    private func transactionCall(
        _ operation: String,
        timeout: Duration,
        _ call: () -> OpaquePointer?
    ) throws(KafkaError) {
        guard let error = call() else { return }
        throw client.explained(KafkaError(consuming: error, context: transactionContext(operation)), window: timeout)
    }
}
