import CRdKafka
import CZooKeeper
import Dispatch
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Talks to the real services (see ``TestServices``) through the bare C libraries, so that a
/// failure here points at the environment rather than at Gale's wrappers.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ServicesSmokeTests {
    @Test func kafkaRecordProducedWithLibrdkafkaIsConsumedBackFromTheBroker() async throws {
        let services = try TestServices.resolve()
        let topic = "gale-smoke-\(UUID().uuidString.lowercased())"
        let value = "gale smoke value \(UUID().uuidString)"

        let delivery = try await onBlockingThread {
            try KafkaSmoke.createAndProduce(value, topic: topic, brokers: services.kafka)
        }
        #expect(delivery.partition == 0)
        #expect(delivery.offset == 0, "first record of a new topic")

        let consumed = try await onBlockingThread {
            try KafkaSmoke.consumeFirstRecord(topic: topic, partition: 0, brokers: services.kafka)
        }
        #expect(consumed == value)
    }

    @Test func zooKeeperNodeCreatedWithTheCClientReadsBackAndIsDeleted() async throws {
        let services = try TestServices.resolve()
        let path = "/gale-smoke-\(UUID().uuidString.lowercased())"
        let data = "gale smoke data \(UUID().uuidString)"

        let result = try await onBlockingThread {
            try ZooKeeperSmoke.roundTrip(path: path, data: data, host: services.zooKeeper)
        }
        #expect(result.createdPath == path)
        #expect(result.readBack == data)
        #expect(result.dataLength == data.utf8.count)
        #expect(result.existsAfterDelete == false)
    }
}

// MARK: - librdkafka

/// Plain librdkafka calls. Every handle is destroyed before the function returns, on every path.
enum KafkaSmoke {
    struct Delivery: Sendable {
        var partition: Int32
        var offset: Int64
    }

    /// Filled in by the delivery-report callback, which librdkafka calls from `rd_kafka_flush`
    /// on the calling thread: no other thread touches it.
    final class DeliveryReports {
        var reports: [(error: rd_kafka_resp_err_t, partition: Int32, offset: Int64)] = []
    }

    /// Creates `topic` with one partition, produces `value` to partition 0, and waits for the
    /// broker's acknowledgement.
    static func createAndProduce(_ value: String, topic: String, brokers: String) throws -> Delivery {
        let reports = DeliveryReports()
        // The producer holds an unretained pointer to `reports` as its opaque; the extended
        // lifetime covers the producer's whole life (it is destroyed inside this closure).
        return try withExtendedLifetime(reports) {
            let producer = try makeClient(
                RD_KAFKA_PRODUCER,
                ["bootstrap.servers": brokers, "message.timeout.ms": "15000"]
            ) { conf in
                rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(reports).toOpaque())
                rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                    guard let message, let opaque else { return }
                    let reports = Unmanaged<DeliveryReports>.fromOpaque(opaque).takeUnretainedValue()
                    reports.reports.append((message.pointee.err, message.pointee.partition, message.pointee.offset))
                }
            }
            defer { rd_kafka_destroy(producer) }

            try createTopic(topic, partitions: 1, using: producer)

            guard let topicHandle = rd_kafka_topic_new(producer, topic, nil) else {
                throw SmokeTestFailure("rd_kafka_topic_new(\(topic)): \(lastErrorText())")
            }
            defer { rd_kafka_topic_destroy(topicHandle) }

            var payload = Array(value.utf8)
            let produced = payload.withUnsafeMutableBytes { bytes in
                // RD_KAFKA_MSG_F_COPY: librdkafka copies the payload before this returns.
                rd_kafka_produce(topicHandle, 0, RD_KAFKA_MSG_F_COPY, bytes.baseAddress, bytes.count, nil, 0, nil)
            }
            guard produced == 0 else {
                throw SmokeTestFailure("rd_kafka_produce to \(topic): \(lastErrorText())")
            }

            let flushed = rd_kafka_flush(producer, 20_000)
            guard flushed == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw SmokeTestFailure("rd_kafka_flush to \(brokers): \(errorText(flushed))")
            }
            guard reports.reports.count == 1, let report = reports.reports.first else {
                throw SmokeTestFailure("expected one delivery report, got \(reports.reports.count)")
            }
            guard report.error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw SmokeTestFailure("delivery to \(topic) failed: \(errorText(report.error))")
            }
            return Delivery(partition: report.partition, offset: report.offset)
        }
    }

    /// Reads `topic`'s `partition` from the beginning with a manual assignment (no group
    /// rebalance) and returns the first record's value.
    static func consumeFirstRecord(topic: String, partition: Int32, brokers: String) throws -> String {
        let consumer = try makeClient(
            RD_KAFKA_CONSUMER,
            [
                "bootstrap.servers": brokers,
                "group.id": "gale-smoke-\(UUID().uuidString.lowercased())",
                "enable.auto.commit": "false",
                "enable.auto.offset.store": "false",
            ]
        )
        defer {
            rd_kafka_consumer_close(consumer)
            rd_kafka_destroy(consumer)
        }

        guard let assignment = rd_kafka_topic_partition_list_new(1) else {
            throw SmokeTestFailure("rd_kafka_topic_partition_list_new failed")
        }
        let entry = rd_kafka_topic_partition_list_add(assignment, topic, partition)
        entry?.pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
        let assigned = rd_kafka_assign(consumer, assignment)
        rd_kafka_topic_partition_list_destroy(assignment)
        guard assigned == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw SmokeTestFailure("rd_kafka_assign(\(topic) [\(partition)]): \(errorText(assigned))")
        }

        let deadline = ContinuousClock.now + .seconds(30)
        var lastError = "none"
        while ContinuousClock.now < deadline {
            guard let message = rd_kafka_consumer_poll(consumer, 200) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let record = message.pointee
            guard record.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                lastError = errorText(record.err)
                continue
            }
            let bytes = UnsafeRawBufferPointer(start: record.payload, count: record.len)
            return String(decoding: bytes, as: UTF8.self)
        }
        throw SmokeTestFailure("no record from \(topic) [\(partition)] within 30 s (last error: \(lastError))")
    }

    /// Creates `topic` through the admin API; an already existing topic is fine.
    static func createTopic(_ topic: String, partitions: Int32, using client: OpaquePointer) throws {
        var errorBuffer = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(topic, partitions, 1, &errorBuffer, errorBuffer.count) else {
            throw SmokeTestFailure("rd_kafka_NewTopic_new(\(topic)): \(string(fromCBuffer: errorBuffer))")
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        guard let queue = rd_kafka_queue_new(client) else {
            throw SmokeTestFailure("rd_kafka_queue_new failed")
        }
        defer { rd_kafka_queue_destroy(queue) }
        guard let options = rd_kafka_AdminOptions_new(client, RD_KAFKA_ADMIN_OP_CREATETOPICS) else {
            throw SmokeTestFailure("rd_kafka_AdminOptions_new failed")
        }
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, 15_000, &errorBuffer, errorBuffer.count)

        var newTopics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(client, &newTopics, newTopics.count, options, queue)

        guard let event = rd_kafka_queue_poll(queue, 20_000) else {
            throw SmokeTestFailure("no CreateTopics result for \(topic) within 20 s")
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw SmokeTestFailure("CreateTopics(\(topic)): \(String(cString: rd_kafka_event_error_string(event)))")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw SmokeTestFailure("CreateTopics(\(topic)): event of type \(rd_kafka_event_type(event))")
        }
        var count = 0
        guard let topicResults = rd_kafka_CreateTopics_result_topics(result, &count), count == 1 else {
            throw SmokeTestFailure("CreateTopics(\(topic)): \(count) topic results, expected 1")
        }
        let topicError = rd_kafka_topic_result_error(topicResults[0])
        guard topicError == RD_KAFKA_RESP_ERR_NO_ERROR || topicError == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS else {
            let message = rd_kafka_topic_result_error_string(topicResults[0]).map { String(cString: $0) } ?? ""
            throw SmokeTestFailure("CreateTopics(\(topic)): \(errorText(topicError)) \(message)")
        }
    }

    /// Builds a client from `settings`. `configure` may install callbacks on the conf.
    /// On success the returned handle owns the conf; on failure the conf is destroyed here.
    static func makeClient(
        _ type: rd_kafka_type_t,
        _ settings: [String: String],
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw SmokeTestFailure("rd_kafka_conf_new failed")
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (key, value) in settings {
            guard rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count) == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw SmokeTestFailure("\(key)=\(value): \(string(fromCBuffer: errorBuffer))")
            }
        }
        configure(conf)
        guard let client = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
            rd_kafka_conf_destroy(conf)
            throw SmokeTestFailure("rd_kafka_new: \(string(fromCBuffer: errorBuffer))")
        }
        return client
    }

    static func errorText(_ error: rd_kafka_resp_err_t) -> String {
        "\(String(cString: rd_kafka_err2name(error))): \(String(cString: rd_kafka_err2str(error)))"
    }

    static func lastErrorText() -> String {
        errorText(rd_kafka_last_error())
    }
}

// MARK: - ZooKeeper C client

/// Plain ZooKeeper C client calls (the multi-threaded library: its own I/O and completion threads).
enum ZooKeeperSmoke {
    struct RoundTrip: Sendable {
        var createdPath: String
        var readBack: String
        var dataLength: Int
        var existsAfterDelete: Bool
    }

    /// Signalled by the session watcher, which runs on the client's completion thread.
    final class ConnectionWaiter: Sendable {
        let connected = DispatchSemaphore(value: 0)
    }

    /// Connects, creates `path` (persistent) holding `data`, reads it back, deletes it, and
    /// checks it is gone.
    static func roundTrip(path: String, data: String, host: String) throws -> RoundTrip {
        zoo_set_debug_level(ZOO_LOG_LEVEL_WARN)
        let waiter = ConnectionWaiter()
        // The handle's context is an unretained pointer to `waiter`. zookeeper_close joins the
        // client's threads, so no watcher call can come after it; it runs inside this closure.
        return try withExtendedLifetime(waiter) {
            let watcher: watcher_fn = { _, type, state, _, context in
                guard let context, type == ZOO_SESSION_EVENT, state == ZOO_CONNECTED_STATE else { return }
                Unmanaged<ConnectionWaiter>.fromOpaque(context).takeUnretainedValue().connected.signal()
            }
            let context = Unmanaged.passUnretained(waiter).toOpaque()
            // zookeeper_init returns nil (errno set) when it cannot resolve the host or start its
            // threads; the errno in the message names the cause.
            errno = 0
            guard let handle = zookeeper_init(host, watcher, 10_000, nil, context, ZOO_NO_LOG_CLIENTENV) else {
                throw SmokeTestFailure("zookeeper_init(\(host)) failed: errno \(errno)")
            }
            defer { zookeeper_close(handle) }

            guard waiter.connected.wait(timeout: .now() + .seconds(15)) == .success else {
                throw SmokeTestFailure("no ZooKeeper session with \(host) within 15 s")
            }

            var createdPathBuffer = [CChar](repeating: 0, count: 1024)
            let created = withOpenACL { acl in
                data.withCString { value in
                    zoo_create(
                        handle,
                        path,
                        value,
                        Int32(data.utf8.count),
                        acl,
                        ZOO_PERSISTENT,
                        &createdPathBuffer,
                        Int32(createdPathBuffer.count)
                    )
                }
            }
            guard created == ZOK.rawValue else {
                throw SmokeTestFailure("zoo_create(\(path)): \(errorText(created))")
            }
            var deleted = false
            defer { if !deleted { _ = zoo_delete(handle, path, -1) } }

            var buffer = [CChar](repeating: 0, count: 1024)
            var length = Int32(buffer.count)
            var stat = Stat()
            let read = zoo_get(handle, path, 0, &buffer, &length, &stat)
            guard read == ZOK.rawValue else {
                throw SmokeTestFailure("zoo_get(\(path)): \(errorText(read))")
            }
            guard length >= 0 else {
                throw SmokeTestFailure("zoo_get(\(path)) returned no data (length \(length))")
            }
            let readBack = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)

            let removed = zoo_delete(handle, path, -1)
            guard removed == ZOK.rawValue else {
                throw SmokeTestFailure("zoo_delete(\(path)): \(errorText(removed))")
            }
            deleted = true
            let exists = zoo_exists(handle, path, 0, nil)
            guard exists == ZOK.rawValue || exists == ZNONODE.rawValue else {
                throw SmokeTestFailure("zoo_exists(\(path)): \(errorText(exists))")
            }

            return RoundTrip(
                createdPath: string(fromCBuffer: createdPathBuffer),
                readBack: readBack,
                dataLength: Int(stat.dataLength),
                existsAfterDelete: exists == ZOK.rawValue
            )
        }
    }

    /// `world:anyone` with all permissions, like `ZOO_OPEN_ACL_UNSAFE` (a mutable C global, which
    /// Swift 6 will not read without a data-race escape hatch).
    static func withOpenACL<T>(_ body: (UnsafePointer<ACL_vector>) throws -> T) rethrows -> T {
        let scheme = strdup("world")
        let id = strdup("anyone")
        defer {
            free(scheme)
            free(id)
        }
        var acl = ACL(perms: ZOO_PERM_ALL, id: Id(scheme: scheme, id: id))
        return try withUnsafeMutablePointer(to: &acl) { aclPointer in
            var vector = ACL_vector(count: 1, data: aclPointer)
            return try withUnsafePointer(to: &vector) { try body($0) }
        }
    }

    static func errorText(_ code: Int32) -> String {
        "\(String(cString: zerror(code))) (\(code))"
    }
}
