import CRdKafka
import CZooKeeper
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Checks that the two C libraries are installed, found by the module maps and linkable,
/// without any running service (scripts/bootstrap installs them).
@Suite struct CLibraryLinkTests {
    @Test func librdkafkaIsAtLeastVersion2_1() throws {
        let version = String(cString: rd_kafka_version_str())
        let parts = version.split(separator: ".").prefix(2).compactMap { Int($0) }
        try #require(parts.count == 2, "unexpected librdkafka version string \(version)")
        #expect((parts[0], parts[1]) >= (2, 1), "librdkafka \(version) is older than 2.1")

        // rd_kafka_version() is 0xMMmmrrxx; it must agree with the string.
        let hex = rd_kafka_version()
        #expect(Int(hex >> 24) == parts[0])
        #expect(Int((hex >> 16) & 0xff) == parts[1])
    }

    @Test func librdkafkaProducerHandleIsCreatedAndDestroyedWithoutABroker() throws {
        var errorText = [CChar](repeating: 0, count: 512)
        let conf = try #require(rd_kafka_conf_new())
        for (key, value) in [("client.id", "gale-link-test"), ("log_level", "3")] {
            let setResult = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            #expect(setResult == RD_KAFKA_CONF_OK, "\(key)=\(value): \(text(errorText))")
        }

        // rd_kafka_new takes ownership of conf only when it succeeds.
        guard let producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            Issue.record("rd_kafka_new failed: \(text(errorText))")
            return
        }
        defer { rd_kafka_destroy(producer) }

        #expect(String(cString: rd_kafka_name(producer)).hasPrefix("gale-link-test#producer-"))
        #expect(rd_kafka_outq_len(producer) == 0)
    }

    @Test func zooKeeperClientReportsVersion3_5OrLater() throws {
        let version = ZOO_VERSION
        let parts = version.split(separator: ".").prefix(2).compactMap { Int($0) }
        try #require(parts.count == 2, "unexpected ZooKeeper client version \(version)")
        #expect(parts[0] == 3 && parts[1] >= 5, "ZooKeeper C client \(version) is older than 3.5")
        // A call into the library proves it links.
        #expect(String(cString: zerror(Int32(ZNONODE.rawValue))) == "no node")
    }

    @Test func zooKeeperHandleIsCreatedAndClosedWithoutAServer() throws {
        // Port 1 on loopback refuses connections; the client keeps retrying in its own
        // threads until closed. A per-handle log callback keeps those retries quiet.
        let quiet: log_callback_fn = { _ in }
        // zookeeper_init fails (nil, errno set) only when it cannot resolve the host or set up
        // its threads; the errno in the message names the cause.
        errno = 0
        let handle = zookeeper_init2("127.0.0.1:1", nil, 10_000, nil, nil, ZOO_NO_LOG_CLIENTENV, quiet)
        let initErrno = errno
        let zooKeeper = try #require(handle, "zookeeper_init2 returned nil, errno \(initErrno)")
        #expect(zoo_state(zooKeeper) != ZOO_CONNECTED_STATE)
        #expect(zookeeper_close(zooKeeper) == Int32(ZOK.rawValue))
    }
}

/// The text in a NUL-terminated C buffer such as librdkafka's `errstr`.
private func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
