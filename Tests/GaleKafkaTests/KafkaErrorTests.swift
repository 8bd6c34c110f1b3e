import GaleKafka
import Testing

@Suite struct KafkaErrorTests {
    /// librdkafka codes (`rd_kafka_resp_err_t`) and the kind each maps to.
    @Test(arguments: [
        (Int32(-192), KafkaError.Code.timedOut, "_MSG_TIMED_OUT"),
        (-185, .timedOut, "_TIMED_OUT"),
        (7, .timedOut, "REQUEST_TIMED_OUT"),
        (-195, .brokerUnreachable, "_TRANSPORT"),
        (-187, .brokerUnreachable, "_ALL_BROKERS_DOWN"),
        (-193, .brokerUnreachable, "_RESOLVE"),
        (3, .unknownTopicOrPartition, "UNKNOWN_TOPIC_OR_PART"),
        (-188, .unknownTopicOrPartition, "_UNKNOWN_TOPIC"),
        (-190, .unknownTopicOrPartition, "_UNKNOWN_PARTITION"),
        (10, .messageTooLarge, "MSG_SIZE_TOO_LARGE"),
        (-184, .queueFull, "_QUEUE_FULL"),
        (-150, .fatal, "_FATAL"),
        (36, .topicAlreadyExists, "TOPIC_ALREADY_EXISTS"),
        (90, .fenced, "PRODUCER_FENCED"),
        (-152, .closed, "_PURGE_QUEUE"),
        (1, .offsetOutOfRange, "OFFSET_OUT_OF_RANGE"),
        (-172, .invalidState, "_STATE"),
        (29, .other, "TOPIC_AUTHORIZATION_FAILED"),
    ])
    func librdkafkaCodeMapsToItsKind(code: Int32, kind: KafkaError.Code, name: String) {
        let error = KafkaError(rdKafkaCode: code, context: "test [topic]")
        #expect(error.code == kind)
        #expect(error.rdKafkaCode == code)
        #expect(error.rdKafkaName == name)
        #expect(error.message.hasPrefix("test [topic]: "))
        #expect(error.isFatal == (kind == .fatal))
    }

    @Test func transientFailuresAreRetriableAndPermanentOnesAreNot() {
        #expect(KafkaError(rdKafkaCode: -192, context: "x").isRetriable)
        #expect(KafkaError(rdKafkaCode: -195, context: "x").isRetriable)
        #expect(KafkaError(rdKafkaCode: -184, context: "x").isRetriable)
        #expect(!KafkaError(rdKafkaCode: 10, context: "x").isRetriable)
        #expect(!KafkaError(rdKafkaCode: 3, context: "x").isRetriable)
    }

    @Test func descriptionNamesKindCodeMessageAndSource() {
        let error = KafkaError(rdKafkaCode: -192, context: "delivery to [orders][2]")
        #expect(error.description.contains("timedOut"))
        #expect(error.description.contains("_MSG_TIMED_OUT"))
        #expect(error.description.contains("delivery to [orders][2]"))
        #expect(error.description.contains("KafkaErrorTests.swift"))
    }

    @Test func codesCanBeMatchedInASwitch() {
        let error = KafkaError(rdKafkaCode: 3, context: "metadata")
        let handled: Bool =
            switch error.code {
            case .unknownTopicOrPartition: true
            default: false
            }
        #expect(handled)
    }
}
