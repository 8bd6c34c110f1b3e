internal import CRdKafka

/// Builds librdkafka configuration objects (`rd_kafka_conf_t`) from property lists.
enum RDKafkaConfiguration {
    /// A new `rd_kafka_conf_t` holding `properties`. The caller owns it: it passes it to
    /// `rd_kafka_new` (which takes it over on success) or destroys it.
    ///
    /// - Throws: ``KafkaError/Code/invalidConfiguration`` naming the property librdkafka rejected;
    ///   the conf is destroyed then.
    static func make(_ properties: [(key: String, value: String)]) throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .invalidConfiguration, message: "rd_kafka_conf_new failed")
        }
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(
                    code: .invalidConfiguration,
                    message: "property [\(key)] = [\(value)] rejected: \(string(fromCBuffer: errorText))"
                )
            }
        }
        return conf
    }

    /// Checks that librdkafka accepts every property, without creating a client.
    static func check(_ properties: [(key: String, value: String)]) throws(KafkaError) {
        rd_kafka_conf_destroy(try make(properties))
    }

    /// The text in a NUL-terminated C buffer such as librdkafka's `errstr`.
    static func string(fromCBuffer buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
