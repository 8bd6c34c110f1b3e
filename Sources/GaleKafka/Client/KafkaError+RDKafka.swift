internal import CRdKafka

// MARK: - Mapping librdkafka's codes to kinds

extension KafkaError.Code {
    /// The kind of failure librdkafka's `code` (`rd_kafka_resp_err_t`) stands for.
    package init(rdKafkaCode code: Int32) {
        switch rd_kafka_resp_err_t(rawValue: code) {
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_ID:
            self = .unknownTopicOrPartition
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
            self = .timedOut
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__RESOLVE, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
            RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
            self = .brokerUnreachable
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
            self = .messageTooLarge
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
            self = .queueFull
        case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
            self = .offsetOutOfRange
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
            self = .topicAlreadyExists
        case RD_KAFKA_RESP_ERR__INVALID_ARG, RD_KAFKA_RESP_ERR__INVALID_TYPE, RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
            self = .invalidArgument
        case RD_KAFKA_RESP_ERR__STATE, RD_KAFKA_RESP_ERR__NOT_CONFIGURED, RD_KAFKA_RESP_ERR_INVALID_TXN_STATE,
            RD_KAFKA_RESP_ERR_INVALID_GROUP_ID:
            self = .invalidState
        case RD_KAFKA_RESP_ERR__FENCED, RD_KAFKA_RESP_ERR_PRODUCER_FENCED, RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH,
            RD_KAFKA_RESP_ERR_TRANSACTION_COORDINATOR_FENCED:
            self = .fenced
        case RD_KAFKA_RESP_ERR__FATAL:
            self = .fatal
        case RD_KAFKA_RESP_ERR__DESTROY, RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
            self = .closed
        default:
            self = .other
        }
    }
}

extension KafkaError {
    /// Whether librdkafka's `code` is one that a retry may overcome, for errors that do not come
    /// with librdkafka's own verdict (`rd_kafka_error_is_retriable`).
    package static func isRetriable(rdKafkaCode code: Int32) -> Bool {
        switch rd_kafka_resp_err_t(rawValue: code) {
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__RESOLVE,
            RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR__QUEUE_FULL,
            RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
            true
        default:
            false
        }
    }

    /// librdkafka's name for `code` (`rd_kafka_err2name`), such as `_MSG_TIMED_OUT`.
    package static func rdKafkaName(of code: Int32) -> String {
        String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: code)))
    }

    /// librdkafka's description of `code` (`rd_kafka_err2str`).
    package static func rdKafkaText(of code: Int32) -> String {
        String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(rawValue: code)))
    }

    /// An error for librdkafka's `code`; `context` says what was being done, and librdkafka's
    /// text for the code (or `detail`, when given) follows it.
    package init(
        rdKafkaCode code: Int32,
        context: String,
        detail: String? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        let text = detail.flatMap { $0.isEmpty ? nil : $0 } ?? KafkaError.rdKafkaText(of: code)
        let kind = KafkaError.Code(rdKafkaCode: code)
        self.init(
            code: kind,
            message: "\(context): \(text)",
            rdKafkaCode: code,
            rdKafkaName: KafkaError.rdKafkaName(of: code),
            isRetriable: KafkaError.isRetriable(rdKafkaCode: code),
            isFatal: kind == .fatal,
            file: file,
            line: line
        )
    }

    /// An error for a `rd_kafka_resp_err_t`.
    init(_ code: rd_kafka_resp_err_t, context: String, detail: String? = nil, file: String = #fileID, line: Int = #line)
    {
        self.init(rdKafkaCode: code.rawValue, context: context, detail: detail, file: file, line: line)
    }

    /// An error from an `rd_kafka_error_t`, which this initializer destroys.
    init(consuming error: OpaquePointer, context: String, file: String = #fileID, line: Int = #line) {
        defer { rd_kafka_error_destroy(error) }
        let code = rd_kafka_error_code(error).rawValue
        let isFatal = rd_kafka_error_is_fatal(error) != 0
        let requiresAbort = rd_kafka_error_txn_requires_abort(error) != 0
        var kind = KafkaError.Code(rdKafkaCode: code)
        if isFatal, kind != .fenced {
            kind = .fatal
        } else if requiresAbort, kind == .other {
            kind = .transactionAborted
        }
        let text = rd_kafka_error_string(error).map { String(cString: $0) } ?? KafkaError.rdKafkaText(of: code)
        self.init(
            code: kind,
            message: "\(context): \(text)",
            rdKafkaCode: code,
            rdKafkaName: rd_kafka_error_name(error).map { String(cString: $0) } ?? KafkaError.rdKafkaName(of: code),
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            isFatal: isFatal,
            requiresTransactionAbort: requiresAbort,
            file: file,
            line: line
        )
    }

    /// Throws the error an `rd_kafka_error_t *` result stands for (destroying it), if any.
    static func check(
        _ error: OpaquePointer?,
        context: @autoclosure () -> String,
        file: String = #fileID,
        line: Int = #line
    )
        throws(KafkaError)
    {
        guard let error else { return }
        throw KafkaError(consuming: error, context: context(), file: file, line: line)
    }

    /// Throws unless `code` is `RD_KAFKA_RESP_ERR_NO_ERROR`.
    static func check(
        _ code: rd_kafka_resp_err_t,
        context: @autoclosure () -> String,
        file: String = #fileID,
        line: Int = #line
    ) throws(KafkaError) {
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        throw KafkaError(code, context: context(), file: file, line: line)
    }
}
