import GaleKafka
import Testing

@Suite struct KafkaConfigTests {
    @Test func defaultConfigurationIsValidForEveryRole() throws {
        let config = KafkaConfig(bootstrapServers: ["127.0.0.1:9092"])
        try config.validate(for: .producer)
        try config.validate(for: .consumer)
        try config.validate(for: .admin)
        try config.validate()
    }

    @Test(arguments: [
        [],
        ["localhost"],
        ["localhost:"],
        ["localhost:0"],
        ["localhost:70000"],
        [":9092"],
        ["127.0.0.1:9092", "broker"],
    ])
    func malformedBootstrapServersAreRejected(servers: [String]) {
        let config = KafkaConfig(bootstrapServers: servers)
        let error = #expect(throws: KafkaError.self) { try config.validate(for: .producer) }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test func nonPositiveTimeoutIsRejectedNamingTheField() {
        var config = KafkaConfig(bootstrapServers: ["127.0.0.1:9092"])
        config.messageTimeout = .zero
        let error = #expect(throws: KafkaError.self) { try config.validate(for: .producer) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("messageTimeout") == true)
    }

    @Test func unknownRawPropertyIsRejectedByLibrdkafkaNamingTheProperty() {
        var config = KafkaConfig(bootstrapServers: ["127.0.0.1:9092"])
        config.properties["no.such.property"] = "1"
        let error = #expect(throws: KafkaError.self) { try config.validate(for: .consumer) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("no.such.property") == true)
    }

    @Test func invalidRawPropertyValueIsRejected() {
        var config = KafkaConfig(bootstrapServers: ["127.0.0.1:9092"])
        config.properties["socket.timeout.ms"] = "not a number"
        #expect(throws: KafkaError.self) { try config.validate(for: .producer) }
    }

    @Test func transactionalProducerNeedsMessageTimeoutWithinTransactionTimeout() {
        var config = KafkaConfig(bootstrapServers: ["127.0.0.1:9092"])
        config.transactionalID = "gale-test"
        config.messageTimeout = .seconds(120)
        config.transactionTimeout = .seconds(60)
        let error = #expect(throws: KafkaError.self) { try config.validate(for: .producer) }
        #expect(error?.code == .invalidConfiguration)
        config.transactionalID = ""
        #expect(throws: KafkaError.self) { try config.validate(for: .producer) }
    }

    @Test func typedFieldsBecomeLibrdkafkaPropertiesAndRawPropertiesOverrideThem() {
        var config = KafkaConfig(bootstrapServers: ["a:1", "b:2"])
        config.socketTimeout = .milliseconds(2_500)
        config.messageTimeout = .seconds(3)
        config.groupID = "group"
        config.transactionalID = "txn"
        config.properties["linger.ms"] = "50"
        let producer = Dictionary(config.librdkafkaProperties(for: .producer), uniquingKeysWith: { $1 })
        #expect(producer["bootstrap.servers"] == "a:1,b:2")
        #expect(producer["socket.timeout.ms"] == "2500")
        #expect(producer["message.timeout.ms"] == "3000")
        #expect(producer["transactional.id"] == "txn")
        #expect(producer["enable.idempotence"] == "true")
        #expect(producer["linger.ms"] == "50")
        #expect(producer["group.id"] == nil, "a consumer property is not set on a producer")
        #expect(producer["allow.auto.create.topics"] == "false")

        let consumer = Dictionary(config.librdkafkaProperties(for: .consumer), uniquingKeysWith: { $1 })
        #expect(consumer["group.id"] == "group")
        #expect(consumer["enable.auto.commit"] == "false")
        #expect(consumer["isolation.level"] == "read_committed")
        #expect(consumer["message.timeout.ms"] == nil)
        #expect(consumer["transactional.id"] == nil)
    }
}
