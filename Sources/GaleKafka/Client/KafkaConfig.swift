/// Settings of a Kafka client: typed common fields plus raw librdkafka properties.
///
/// ``KafkaProducer``, ``KafkaConsumer`` and ``KafkaAdmin`` each apply the fields that concern
/// their role, then ``properties``, which override typed fields of the same property name.
/// Every timeout bounds a call: a broker that is down yields retries and then an error, never a
/// hang.
public struct KafkaConfig: Sendable {
    /// `acks`: how many replicas must confirm a record before its delivery report succeeds.
    public enum Acks: String, Sendable {
        /// All in-sync replicas (`acks=all`).
        case all
        /// The leader only (`acks=1`).
        case leader = "1"
        /// No confirmation (`acks=0`).
        case none = "0"
    }

    /// `isolation.level` of a consumer.
    public enum IsolationLevel: String, Sendable {
        /// Only records of committed transactions (`read_committed`).
        case readCommitted = "read_committed"
        /// Every record (`read_uncommitted`).
        case readUncommitted = "read_uncommitted"
    }

    /// `auto.offset.reset`: where a consumer starts when it has no valid offset.
    public enum OffsetReset: String, Sendable {
        /// The first available record.
        case earliest
        /// The end of the partition.
        case latest
        /// Report an ``KafkaError/Code/offsetOutOfRange`` error.
        case error
    }

    /// `bootstrap.servers`: `host:port` of one or more brokers.
    public var bootstrapServers: [String]
    /// `client.id`.
    public var clientID: String = "gale"
    /// `socket.timeout.ms`: timeout of one network request.
    public var socketTimeout: Duration = .seconds(10)
    /// Bound of Gale's blocking calls to the broker (metadata, watermarks, offset fetch and
    /// commit, seek, admin requests, transaction calls) when the call is given no timeout.
    public var operationTimeout: Duration = .seconds(15)
    /// `message.timeout.ms` (producer): time a record may take from `produce` to its delivery
    /// report, retries included.
    public var messageTimeout: Duration = .seconds(30)
    /// `linger.ms` (producer): how long to wait to fill a batch.
    public var linger: Duration = .milliseconds(5)
    /// `acks` (producer).
    public var acks: Acks = .all
    /// `enable.idempotence` (producer); implied by ``transactionalID``.
    public var enableIdempotence: Bool = false
    /// `transactional.id` (producer): makes the producer transactional.
    public var transactionalID: String?
    /// `transaction.timeout.ms` (transactional producer); must be at least ``messageTimeout``.
    public var transactionTimeout: Duration = .seconds(60)
    /// `message.max.bytes`: the client's limit on a record (batch) size; `nil` for librdkafka's default.
    public var maxMessageBytes: Int?
    /// `group.id` (consumer): the group whose offsets the consumer commits and fetches. Gale
    /// never joins the group: partitions are assigned explicitly. Without it, the consumer can
    /// read but not commit or fetch committed offsets.
    public var groupID: String?
    /// `isolation.level` (consumer).
    public var isolationLevel: IsolationLevel = .readCommitted
    /// `auto.offset.reset` (consumer).
    public var offsetReset: OffsetReset = .earliest
    /// `allow.auto.create.topics`: whether producing to or reading from a missing topic may
    /// create it (if the broker allows it). Off by default: topics are created with ``KafkaAdmin``.
    public var allowAutoCreateTopics: Bool = false
    /// Raw librdkafka properties (see librdkafka's CONFIGURATION.md), applied last.
    public var properties: [String: String] = [:]

    /// Creates a configuration for the given brokers, with defaults for everything else.
    public init(bootstrapServers: [String]) {
        self.bootstrapServers = bootstrapServers
    }

    /// Checks the configuration as ``KafkaProducer``, ``KafkaConsumer`` and ``KafkaAdmin`` do when
    /// they are created, without creating a client: typed fields, and that librdkafka accepts
    /// every property.
    ///
    /// - Throws: ``KafkaError`` with code ``KafkaError/Code/invalidConfiguration`` naming the field
    ///   or property at fault.
    public func validate() throws(KafkaError) {
        for role in [Role.producer, .consumer, .admin] {
            try validate(for: role)
        }
    }

    /// The `group.id` of a consumer configured without ``groupID``.
    package static let placeholderGroupID = "gale-no-group"

    /// The role whose properties ``librdkafkaProperties(for:)`` lists.
    package enum Role: Sendable {
        case producer
        case consumer
        case admin
    }

    /// Checks the typed fields, and that librdkafka accepts every property for `role`.
    ///
    /// - Throws: ``KafkaError`` with code ``KafkaError/Code/invalidConfiguration`` naming the field
    ///   or property at fault.
    package func validate(for role: Role) throws(KafkaError) {
        guard !bootstrapServers.isEmpty else {
            throw KafkaError(code: .invalidConfiguration, message: "bootstrapServers is empty")
        }
        for server in bootstrapServers {
            guard let colon = server.lastIndex(of: ":"), colon != server.startIndex,
                let port = Int(server[server.index(after: colon)...]), (1...65_535).contains(port)
            else {
                throw KafkaError(
                    code: .invalidConfiguration,
                    message: "bootstrap server [\(server)] is not host:port with a port in 1...65535"
                )
            }
        }
        let timeouts: [(String, Duration)] = [
            ("socketTimeout", socketTimeout), ("operationTimeout", operationTimeout),
            ("messageTimeout", messageTimeout), ("transactionTimeout", transactionTimeout),
        ]
        for (name, timeout) in timeouts {
            guard timeout > .zero, timeout.milliseconds <= Int64(Int32.max) else {
                throw KafkaError(
                    code: .invalidConfiguration,
                    message: "\(name) \(timeout) must be positive and below \(Int32.max) ms"
                )
            }
        }
        guard linger >= .zero else {
            throw KafkaError(code: .invalidConfiguration, message: "linger \(linger) is negative")
        }
        if let maxMessageBytes, maxMessageBytes <= 0 {
            throw KafkaError(
                code: .invalidConfiguration,
                message: "maxMessageBytes \(maxMessageBytes) must be positive"
            )
        }
        if let transactionalID {
            guard !transactionalID.isEmpty else {
                throw KafkaError(code: .invalidConfiguration, message: "transactionalID is empty")
            }
            guard role != .producer || messageTimeout <= transactionTimeout else {
                throw KafkaError(
                    code: .invalidConfiguration,
                    message: "messageTimeout \(messageTimeout) exceeds transactionTimeout \(transactionTimeout)"
                )
            }
        }
        if let groupID, groupID.isEmpty {
            throw KafkaError(code: .invalidConfiguration, message: "groupID is empty")
        }
        try RDKafkaConfiguration.check(librdkafkaProperties(for: role))
    }

    /// The librdkafka properties of `role`, in the order they are set: typed fields, then
    /// ``properties``.
    package func librdkafkaProperties(for role: Role) -> [(key: String, value: String)] {
        var result: [(key: String, value: String)] = [
            ("bootstrap.servers", bootstrapServers.joined(separator: ",")),
            ("client.id", clientID),
            ("socket.timeout.ms", "\(socketTimeout.milliseconds)"),
            ("allow.auto.create.topics", "\(allowAutoCreateTopics)"),
        ]
        if let maxMessageBytes {
            result.append(("message.max.bytes", "\(maxMessageBytes)"))
        }
        switch role {
        case .producer:
            result += [
                ("message.timeout.ms", "\(messageTimeout.milliseconds)"),
                ("linger.ms", "\(linger.milliseconds)"),
                ("acks", acks.rawValue),
            ]
            if let transactionalID {
                result += [
                    ("transactional.id", transactionalID),
                    ("transaction.timeout.ms", "\(transactionTimeout.milliseconds)"),
                    ("enable.idempotence", "true"),
                ]
            } else if enableIdempotence {
                result.append(("enable.idempotence", "true"))
            }
        case .consumer:
            // librdkafka refuses an assignment without a group id. Gale never joins nor commits for
            // the placeholder (commits need `groupID`), so consumers may share it.
            result.append(("group.id", groupID ?? KafkaConfig.placeholderGroupID))
            result += [
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("isolation.level", isolationLevel.rawValue),
                ("auto.offset.reset", offsetReset.rawValue),
            ]
        case .admin:
            break
        }
        for key in properties.keys.sorted() {
            if let value = properties[key] {
                result.append((key, value))
            }
        }
        return result
    }
}
