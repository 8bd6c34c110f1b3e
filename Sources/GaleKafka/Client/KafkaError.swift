/// An error from the Kafka client: what kind of failure it is, librdkafka's code and text, and
/// where it was raised.
///
/// Switch on ``code`` to handle a kind of failure (`case .unknownTopicOrPartition`); ``rdKafkaCode``
/// and ``rdKafkaName`` carry librdkafka's own code (`rd_kafka_resp_err_t`) for logs and for the rare
/// caller that needs the exact broker error.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. Extensible: new kinds may be added, so a `switch` needs a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: Hashable, Sendable {
            case invalidConfiguration
            case invalidArgument
            case unknownTopicOrPartition
            case timedOut
            case brokerUnreachable
            case messageTooLarge
            case queueFull
            case offsetOutOfRange
            case topicAlreadyExists
            case invalidState
            case fenced
            case transactionAborted
            case fatal
            case closed
            case other
        }

        private let kind: Kind

        private init(_ kind: Kind) {
            self.kind = kind
        }

        /// A configuration value is missing or rejected (by Gale or by librdkafka).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// An argument of a call is invalid (an empty topic name, a negative partition, ...).
        public static let invalidArgument = Code(.invalidArgument)
        /// The topic or partition does not exist on the broker.
        public static let unknownTopicOrPartition = Code(.unknownTopicOrPartition)
        /// The operation did not complete within its timeout (`message.timeout.ms` for a record,
        /// the operation timeout for metadata, offsets and admin calls).
        public static let timedOut = Code(.timedOut)
        /// No broker could be reached (connection refused, host not resolved, all brokers down).
        public static let brokerUnreachable = Code(.brokerUnreachable)
        /// A record (or batch) is bigger than the client's or the broker's size limit.
        public static let messageTooLarge = Code(.messageTooLarge)
        /// The producer's local queue is full: flush or wait for delivery reports, then retry.
        public static let queueFull = Code(.queueFull)
        /// The requested offset is outside the partition's log.
        public static let offsetOutOfRange = Code(.offsetOutOfRange)
        /// The topic to create exists already.
        public static let topicAlreadyExists = Code(.topicAlreadyExists)
        /// The call is not valid in the client's current state (for example a transaction call
        /// on a producer without a transactional id, or a commit without a group id).
        public static let invalidState = Code(.invalidState)
        /// Another producer with the same transactional id fenced this one: it must be recreated.
        public static let fenced = Code(.fenced)
        /// The current transaction failed and must be aborted (``KafkaError/requiresTransactionAbort``).
        public static let transactionAborted = Code(.transactionAborted)
        /// The client hit a fatal error and must be recreated (``KafkaError/isFatal``).
        public static let fatal = Code(.fatal)
        /// The client is closed or being destroyed; a pending record was purged.
        public static let closed = Code(.closed)
        /// Any other broker or client error: see ``KafkaError/rdKafkaName``.
        public static let other = Code(.other)

        public var description: String {
            "\(kind)"
        }
    }

    /// The kind of failure.
    public var code: Code
    /// librdkafka's error code (`rd_kafka_resp_err_t`): negative for client-side errors, positive
    /// for broker error codes of the Kafka protocol, 0 when the error is Gale's own.
    public var rdKafkaCode: Int32
    /// librdkafka's name for ``rdKafkaCode`` (for example `_MSG_TIMED_OUT`, `UNKNOWN_TOPIC_OR_PART`).
    public var rdKafkaName: String
    /// What failed, naming the topic, partition or setting at fault, and librdkafka's text.
    public var message: String
    /// Whether retrying the same operation may succeed.
    public var isRetriable: Bool
    /// Whether the client is unusable from now on and must be recreated.
    public var isFatal: Bool
    /// Whether the current transaction must be aborted (transactional producers only).
    public var requiresTransactionAbort: Bool
    /// Source location that raised the error.
    public var file: String
    /// Source line that raised the error.
    public var line: Int

    /// Creates an error; Gale's own errors use an ``rdKafkaCode`` of 0.
    public init(
        code: Code,
        message: String,
        rdKafkaCode: Int32 = 0,
        rdKafkaName: String = "",
        isRetriable: Bool = false,
        isFatal: Bool = false,
        requiresTransactionAbort: Bool = false,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.rdKafkaCode = rdKafkaCode
        self.rdKafkaName = rdKafkaName
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.requiresTransactionAbort = requiresTransactionAbort
        self.file = file
        self.line = line
    }

    public var description: String {
        let name = rdKafkaName.isEmpty ? "" : " [\(rdKafkaName) \(rdKafkaCode)]"
        var flags: [String] = []
        if isFatal { flags.append("fatal") }
        if isRetriable { flags.append("retriable") }
        if requiresTransactionAbort { flags.append("abort transaction") }
        let suffix = flags.isEmpty ? "" : " (\(flags.joined(separator: ", ")))"
        return "KafkaError.\(code)\(name): \(message)\(suffix) at \(file):\(line)"
    }
}
