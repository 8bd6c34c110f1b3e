import GaleKafka
import Synchronization
import Testing

/// Handles created and destroyed without a broker, and a broker that cannot be reached: a
/// loopback port nothing listens on.
@Suite(.timeLimit(.minutes(1)))
struct KafkaClientLifecycleTests {
    private func unreachableConfig() -> KafkaConfig {
        var config = KafkaConfig(bootstrapServers: ["127.0.0.1:\(closedLoopbackPort())"])
        config.messageTimeout = .seconds(2)
        config.operationTimeout = .seconds(2)
        config.socketTimeout = .seconds(2)
        config.groupID = "gale-unit"
        return config
    }

    @Test func handlesAreCreatedAndDestroyedWithoutABroker() throws {
        let config = unreachableConfig()
        for _ in 0..<3 {
            _ = try KafkaProducer(config: config)
            let consumer = try KafkaConsumer(config: config)
            consumer.close()
            consumer.close()
            _ = try KafkaAdmin(config: config)
        }
    }

    @Test func invalidConfigurationFailsAtCreation() {
        var config = unreachableConfig()
        config.properties["bogus.property"] = "x"
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(config: config) }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test func recordPendingWhenTheProducerIsDestroyedFailsAsClosed() throws {
        var config = unreachableConfig()
        config.messageTimeout = .seconds(30)
        let results = Mutex<[Result<KafkaDelivery, KafkaError>]>([])
        do {
            let producer = try KafkaProducer(config: config)
            try producer.produce(topic: "pending", value: Array("value".utf8)) { result in
                results.withLock { $0.append(result) }
            }
        }
        let delivered = results.withLock { $0 }
        #expect(delivered.count == 1, "the completion runs once, before the producer is gone")
        if case .failure(let error) = delivered.first {
            #expect(error.code == .closed)
        } else {
            Issue.record("expected a failure, got \(delivered)")
        }
    }

    @Test func sendToUnreachableBrokerFailsWithinTheMessageTimeout() async throws {
        let producer = try KafkaProducer(config: unreachableConfig())
        let start = ContinuousClock.now
        // When the delivery report arrived (on the producer's poll thread): the resumption of
        // the awaiting task can lag behind it when other tests keep the cooperative threads busy.
        let reported = Mutex<ContinuousClock.Instant?>(nil)
        try producer.produce(topic: "unreachable", value: Array("report".utf8)) { _ in
            reported.withLock { $0 = .now }
        }
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(topic: "unreachable", value: Array("value".utf8))
        }
        try producer.flush(timeout: .seconds(10))
        let elapsed = try #require(reported.withLock { $0 }) - start
        #expect(elapsed < .seconds(6), "message timeout is 2 s")
        #expect(error?.code == .brokerUnreachable, "\(String(describing: error))")
        #expect(error?.rdKafkaName == "_MSG_TIMED_OUT")
        #expect(error?.message.contains("127.0.0.1") == true)
    }

    @Test func metadataFromUnreachableBrokerFailsWithinTheOperationTimeout() throws {
        let admin = try KafkaAdmin(config: unreachableConfig())
        let start = ContinuousClock.now
        let error = #expect(throws: KafkaError.self) { try admin.topicMetadata("unreachable") }
        #expect(ContinuousClock.now - start < .seconds(6))
        #expect(error?.code == .brokerUnreachable || error?.code == .timedOut, "\(String(describing: error))")
    }

    @Test func createTopicOnUnreachableBrokerFailsWithinTheTimeout() throws {
        let admin = try KafkaAdmin(config: unreachableConfig())
        let start = ContinuousClock.now
        let error = #expect(throws: KafkaError.self) {
            try admin.createTopic("unreachable", partitions: 1, timeout: .seconds(2))
        }
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(error?.code == .brokerUnreachable || error?.code == .timedOut, "\(String(describing: error))")
    }

    @Test func committedOffsetsFromUnreachableBrokerFailWithinTheTimeout() throws {
        let consumer = try KafkaConsumer(config: unreachableConfig())
        let start = ContinuousClock.now
        let error = #expect(throws: KafkaError.self) {
            try consumer.committed([KafkaTopicPartition(topic: "unreachable", partition: 0)])
        }
        #expect(ContinuousClock.now - start < .seconds(6))
        #expect(error?.code == .brokerUnreachable || error?.code == .timedOut, "\(String(describing: error))")
    }

    @Test func commitWithoutGroupIsAnInvalidState() throws {
        var config = unreachableConfig()
        config.groupID = nil
        let consumer = try KafkaConsumer(config: config)
        let error = #expect(throws: KafkaError.self) {
            try consumer.commit([KafkaTopicPartition(topic: "t", partition: 0, offset: KafkaOffset(1))])
        }
        #expect(error?.code == .invalidState)
    }

    @Test func transactionCallsOnANonTransactionalProducerAreRejected() throws {
        let producer = try KafkaProducer(config: unreachableConfig())
        let error = #expect(throws: KafkaError.self) { try producer.beginTransaction() }
        #expect(error?.code == .invalidState, "\(String(describing: error))")
    }

    @Test func invalidRecordsAreRejectedBeforeQueueing() throws {
        let producer = try KafkaProducer(config: unreachableConfig())
        #expect(throws: KafkaError.self) { try producer.produce(topic: "", value: []) }
        #expect(throws: KafkaError.self) { try producer.produce(topic: "t", partition: -3, value: []) }
        var tooLarge = unreachableConfig()
        tooLarge.maxMessageBytes = 10_000
        let small = try KafkaProducer(config: tooLarge)
        let error = #expect(throws: KafkaError.self) {
            try small.produce(topic: "t", partition: 0, value: Array(repeating: 1, count: 20_000))
        }
        #expect(error?.code == .messageTooLarge, "\(String(describing: error))")
    }

    @Test func closedProducerRefusesRecords() throws {
        let producer = try KafkaProducer(config: unreachableConfig())
        try producer.close(timeout: .seconds(1))
        let error = #expect(throws: KafkaError.self) { try producer.produce(topic: "t", value: []) }
        #expect(error?.code == .closed)
    }
}
