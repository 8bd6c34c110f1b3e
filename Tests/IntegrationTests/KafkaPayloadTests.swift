import Foundation
import Gale
import GaleCoordination
import GaleKafka
import GaleRuntime
import Logging
import Synchronization
import Testing

/// Payloads beyond the broker's message size: chunked by the KafkaBolt (or by hand), reassembled by
/// the KafkaSpout, checked byte for byte; corrupt and over-budget payloads are reported and skipped.
///
/// The limit in force: Tansu 0.6 (the test broker, in-memory storage) enforces no per-record limit
/// we can reach (a 20 MB record written with kcat is accepted), so the binding limit is the client's:
/// librdkafka's `message.max.bytes`, 1,000,000 bytes by default (Apache Kafka's broker default is
/// 1,048,588). A 1 MiB value is refused by the producer; chunks of 512 KiB plus the 48-byte chunk
/// header, the key and the batch overhead stay far below it.
@Suite(.serialized) struct KafkaPayloadTests {
    static var brokers: String { get throws { try TestServices.resolve().kafka } }

    /// librdkafka's default `message.max.bytes`, the smallest limit on the path.
    static let messageLimit = 1_000_000
    /// The chunk body size used throughout.
    static let chunkBytes = 512 * 1024

    static func topic(_ prefix: String, partitions: Int32 = 1) throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.prefix(8))"
        let admin = try KafkaAdmin(config: KafkaConfig(bootstrapServers: [try brokers]))
        try admin.createTopic(name, partitions: partitions)
        return name
    }

    static func spoutConfig(topic: String, group: String) throws -> KafkaSpoutConfig {
        var config = KafkaSpoutConfig(brokers: try brokers, topic: topic, groupID: group)
        config.commitInterval = .milliseconds(200)
        config.retry = RetryPolicy(initialDelay: .milliseconds(100), maxRetries: 3)
        return config
    }

    /// KafkaSpout on `topic` -> ``PayloadCheckBolt``, optionally with a source topology part.
    static func checkTopology(name: String, spout: KafkaSpoutConfig, ledger: PayloadLedger) throws -> Topology {
        let builder = TopologyBuilder(name: name)
        builder.setSpout("input", parallelism: 1) { KafkaSpout(spout) }
        builder.setBolt("check", parallelism: 1) { PayloadCheckBolt(ledger: ledger) }.shuffleGrouping("input")
        builder.config.messageTimeoutSeconds = 120
        return try builder.build()
    }

    /// Polls the group's committed offsets until they equal `expected` or `timeout` passes.
    static func waitForCommits(
        topic: String,
        group: String,
        expected: [Int32: Int64],
        timeout: Duration = .seconds(30)
    ) async throws -> [Int32: Int64] {
        let deadline = ContinuousClock.now + timeout
        var committed: [Int32: Int64] = [:]
        while ContinuousClock.now < deadline {
            committed = try KafkaPipelineTests.committed(
                topic: topic,
                group: group,
                partitions: Array(expected.keys)
            )
            if committed == expected { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        return committed
    }

    /// One record of a topic, without its value.
    struct RecordSummary {
        var partition: Int32
        var offset: Int64
        var key: String
        var valueLength: Int
        var chunk: ChunkHeader?
    }

    /// Reads `count` records of `topic` from the beginning (and whatever follows within a short
    /// wait), keeping only their position, length and chunk header.
    static func summaries(topic: String, count: Int, timeout: Duration = .seconds(60)) throws -> [RecordSummary] {
        var config = KafkaConfig(bootstrapServers: [try brokers])
        config.properties["max.partition.fetch.bytes"] = "\(8 * 1024 * 1024)"
        let consumer = try KafkaConsumer(config: config)
        defer { consumer.close() }
        let partitions = try consumer.topicMetadata(topic).partitions.map(\.id)
        try consumer.assign(partitions.map { KafkaTopicPartition(topic: topic, partition: $0, offset: .zero) })
        var result: [RecordSummary] = []
        let deadline = ContinuousClock.now + timeout
        var quietPolls = 0
        while result.count < count || quietPolls < 2 {
            guard ContinuousClock.now < deadline else {
                throw SmokeTestFailure("read \(result.count) of \(count) records of \(topic) in \(timeout)")
            }
            let records = try consumer.poll(maxRecords: 1_000, timeout: .milliseconds(250))
            quietPolls = records.isEmpty && result.count >= count ? quietPolls + 1 : 0
            for record in records {
                let header = record.headers.first { $0.name == ChunkHeader.recordHeaderKey }?.value
                result.append(
                    RecordSummary(
                        partition: record.partition,
                        offset: record.offset,
                        key: record.key.map { String(decoding: $0, as: UTF8.self) } ?? "",
                        valueLength: record.value?.count ?? 0,
                        chunk: try header.map { try ChunkHeader(decoding: $0) }
                    )
                )
            }
        }
        return result
    }

    /// Writes `value` as chunks of ``chunkBytes`` (or whole when smaller) to `partition`, in order,
    /// each confirmed before the next; only the chunk indices in `chunks` when given; `corrupt`
    /// flips one byte in the body of that chunk index.
    /// - Returns: The offsets written.
    static func produce(
        _ value: [UInt8],
        name: String,
        topic: String,
        producer: KafkaProducer,
        payloadID: PayloadID = .random(),
        partition: Int32 = 0,
        chunks: Range<Int>? = nil,
        corrupt: Int? = nil
    ) async throws -> [Int64] {
        var offsets: [Int64] = []
        for (index, chunk) in ChunkEncoder(maxChunkBytes: chunkBytes).encode(value, payloadID: payloadID).enumerated() {
            if let chunks, !chunks.contains(index) { continue }
            var body = Array(chunk.body)
            if index == corrupt { body[body.count / 2] ^= 0x20 }
            let headers = chunk.headerBytes.map { [KafkaHeader(name: ChunkHeader.recordHeaderKey, value: $0)] } ?? []
            let delivery = try await producer.send(
                KafkaProducerRecord(
                    topic: topic,
                    partition: partition,
                    key: Array(name.utf8),
                    value: body,
                    headers: headers
                )
            )
            offsets.append(delivery.offset)
        }
        return offsets
    }

    static func errors(of component: String, in running: RunningTopology) -> (messages: [String], count: Int) {
        let stats = running.stats().component(component)
        return (stats?.recentErrors.map(\.message) ?? [], stats?.errorCount ?? 0)
    }

    // MARK: - Tests

    /// 100 B, 1 MiB, 20 MiB and 110 MiB through KafkaBolt (512 KiB chunks) -> topic -> KafkaSpout.
    @Test func payloadsUpTo110MiBArriveByteIdenticalAndCommitsEndAfterTheLastChunk() async throws {
        let brokers = try Self.brokers
        // The limit is real: a 1 MiB record is refused by the producer, so the larger payloads need chunks.
        let probe = try KafkaProducer(config: KafkaConfig(bootstrapServers: [brokers]))
        let probeTopic = try Self.topic("payload-probe")
        #expect(Self.chunkBytes <= ChunkEncoder.chunkBytes(forMessageLimit: Self.messageLimit, keyBytes: 16))
        do throws(KafkaError) {
            try probe.produce(topic: probeTopic, value: [UInt8](repeating: 7, count: 1 << 20))
            Issue.record("a 1 MiB record was accepted; the chunk size no longer tests the limit")
        } catch {
            #expect(error.code == .messageTooLarge, "\(error)")
        }
        try probe.close(timeout: .seconds(5))

        let topic = try Self.topic("payload", partitions: 2)
        let group = "g-\(UUID().uuidString.prefix(8))"
        let specs = [
            PayloadSpec(name: "p-100B", length: 100, seed: 1),
            PayloadSpec(name: "p-1MiB", length: 1 << 20, seed: 2),
            PayloadSpec(name: "p-20MiB", length: 20 << 20, seed: 3),
            PayloadSpec(name: "p-110MiB", length: 110 << 20, seed: 4),
        ]
        let ledger = PayloadLedger()
        var sink = KafkaBoltConfig(brokers: brokers, topic: topic)
        sink.maxChunkBytes = Self.chunkBytes
        let sinkConfig = sink
        let builder = TopologyBuilder(name: "payloads")
        builder.setSpout("source", parallelism: 1) { PayloadSpout(specs: specs, ledger: ledger) }
        builder.setBolt("sink", parallelism: 1) { KafkaBolt(sinkConfig) }.shuffleGrouping("source")
        let spout = try Self.spoutConfig(topic: topic, group: group)
        builder.setSpout("input", parallelism: 1) { KafkaSpout(spout) }
        builder.setBolt("check", parallelism: 1) { PayloadCheckBolt(ledger: ledger, hold: "p-110MiB") }
            .shuffleGrouping("input")
        builder.config.messageTimeoutSeconds = 120

        let cluster = LocalCluster(logger: Logger(label: "test"))
        let running = try cluster.submit(try builder.build())

        // While the 110 MiB payload is delivered but not acked, its partition commits up to its
        // first chunk and no further: none of its 220 chunk offsets is committed.
        let reachedHold = await running.waitUntil(timeout: .seconds(120), interval: .milliseconds(50)) {
            ledger.received.contains { $0.name == "p-110MiB" }
        }
        #expect(reachedHold, "received \(ledger.received.map(\.name))")
        if let held = ledger.received.first(where: { $0.name == "p-110MiB" }) {
            let partition = Int32(held.partition)
            if held.offset > 0 {
                let before = try await Self.waitForCommits(
                    topic: topic,
                    group: group,
                    expected: [partition: held.offset]
                )
                #expect(before == [partition: held.offset], "commits reach the held payload's first chunk")
            }
            try await Task.sleep(for: .seconds(1))  // five commit intervals
            let still = try KafkaPipelineTests.committed(topic: topic, group: group, partitions: [partition])
            // Nothing committed yet reads as a logical (negative) offset.
            #expect(max(still[partition] ?? -1, 0) == held.offset, "no chunk of an unacked payload is committed")
        }
        ledger.release()

        let arrived = await running.waitUntil(timeout: .seconds(120), interval: .milliseconds(100)) {
            ledger.received.count >= specs.count && ledger.acked.count >= specs.count
        }
        #expect(arrived, "received \(ledger.received.map(\.name)), source acked \(ledger.acked)")

        // Byte-identical: length and SHA-256 of what arrived equal those of what was sent, each once.
        let sent = ledger.sent
        #expect(sent.count == specs.count)
        let received = ledger.received
        #expect(received.map(\.name).sorted() == specs.map(\.name).sorted(), "each payload exactly once")
        for payload in received {
            let expected = sent[payload.name]
            #expect(payload.length == expected?.length, "length of \(payload.name)")
            #expect(payload.digest == expected?.digest, "SHA-256 of \(payload.name)")
        }
        for spec in specs {
            #expect(sent[spec.name]?.length == spec.length)
        }
        #expect(ledger.sourceFailures == 0, "no payload had to be written again")

        // The topic: one record for 100 B, 2, 40 and 220 chunks, each at most 512 KiB, one partition each.
        let records = try Self.summaries(topic: topic, count: 1 + 2 + 40 + 220)
        #expect(records.count == 263)
        #expect(records.allSatisfy { $0.valueLength <= Self.chunkBytes })
        var chunksByKey: [String: [RecordSummary]] = [:]
        for record in records { chunksByKey[record.key, default: []].append(record) }
        for spec in specs {
            let parts = chunksByKey[spec.name] ?? []
            let expectedCount =
                spec.length > Self.chunkBytes ? (spec.length + Self.chunkBytes - 1) / Self.chunkBytes : 1
            #expect(parts.count == expectedCount, "\(spec.name): \(parts.count) records")
            #expect(Set(parts.map(\.partition)).count == 1, "\(spec.name) is on one partition")
            #expect(Set(parts.compactMap { $0.chunk?.payloadID }).count == (expectedCount > 1 ? 1 : 0))
            #expect(parts.map { $0.chunk?.index ?? 0 } == Array(0..<expectedCount), "\(spec.name) in index order")
        }
        let delivered = Dictionary(grouping: received, by: \.name)
        for spec in specs {
            // The tuple's offset is the payload's first chunk.
            #expect(delivered[spec.name]?.first?.offset == chunksByKey[spec.name]?.first?.offset)
        }

        // Committed offsets end right after the last chunk of every partition.
        var last: [Int32: Int64] = [:]
        for record in records { last[record.partition] = max(last[record.partition] ?? -1, record.offset) }
        let expected = last.mapValues { $0 + 1 }
        let committed = try await Self.waitForCommits(topic: topic, group: group, expected: expected)
        #expect(committed == expected, "committed offsets end at each partition's last chunk + 1")
        #expect(Self.errors(of: "input", in: running).count == 0, "\(Self.errors(of: "input", in: running))")
        await cluster.shutdown()
    }

    /// A payload with a flipped byte in one chunk is reported and skipped; the next one is delivered.
    @Test func aCorruptedChunkIsReportedAndTheNextPayloadIsDelivered() async throws {
        let brokers = try Self.brokers
        let topic = try Self.topic("payload-corrupt")
        let group = "g-\(UUID().uuidString.prefix(8))"
        let producer = try KafkaProducer(config: KafkaConfig(bootstrapServers: [brokers]))
        let corruptID = PayloadID.random()
        let corrupt = PayloadSpec(name: "corrupt", length: 3 << 20, seed: 10).bytes()
        let intact = PayloadSpec(name: "intact", length: 2 << 20, seed: 11).bytes()
        let tail = PayloadSpec(name: "tail", length: 100, seed: 12).bytes()
        let corruptOffsets = try await Self.produce(
            corrupt,
            name: "corrupt",
            topic: topic,
            producer: producer,
            payloadID: corruptID,
            corrupt: 2
        )
        _ = try await Self.produce(intact, name: "intact", topic: topic, producer: producer)
        let tailOffsets = try await Self.produce(tail, name: "tail", topic: topic, producer: producer)
        try producer.close(timeout: .seconds(5))
        #expect(corruptOffsets.count == 6)

        let ledger = PayloadLedger()
        let cluster = LocalCluster(logger: Logger(label: "test"))
        let running = try cluster.submit(
            try Self.checkTopology(
                name: "corrupt",
                spout: try Self.spoutConfig(topic: topic, group: group),
                ledger: ledger
            )
        )
        let lastOffset = try #require(tailOffsets.last)
        let committed = try await Self.waitForCommits(topic: topic, group: group, expected: [0: lastOffset + 1])
        #expect(committed == [0: lastOffset + 1], "commits move past the corrupt payload")

        let received = ledger.received
        #expect(received.map(\.name) == ["intact", "tail"], "the corrupt payload is not delivered")
        #expect(received.first?.digest == SHA256Digest.hex(of: intact))
        #expect(received.last?.digest == SHA256Digest.hex(of: tail))
        let (messages, count) = Self.errors(of: "input", in: running)
        #expect(count == 1, "\(messages)")
        let message = messages.first ?? ""
        #expect(message.contains("checksum mismatch"), "\(message)")
        #expect(message.contains(corruptID.description), "the error names the payload: \(message)")
        #expect(message.contains("chunk 2 of 6"), "the error names the chunk: \(message)")
        await cluster.shutdown()
    }

    /// A payload larger than the reassembly budget is rejected with a clear error, without stalling.
    @Test func aPayloadOverTheMemoryBudgetIsRejectedAndTheNextOneIsDelivered() async throws {
        let brokers = try Self.brokers
        let topic = try Self.topic("payload-budget")
        let group = "g-\(UUID().uuidString.prefix(8))"
        let budget = 4 << 20
        let producer = try KafkaProducer(config: KafkaConfig(bootstrapServers: [brokers]))
        let large = PayloadSpec(name: "large", length: 20 << 20, seed: 20).bytes()
        let fits = PayloadSpec(name: "fits", length: 3 << 20, seed: 21).bytes()
        let small = PayloadSpec(name: "small", length: 100, seed: 22).bytes()
        let largeID = PayloadID.random()
        let largeOffsets = try await Self.produce(
            large,
            name: "large",
            topic: topic,
            producer: producer,
            payloadID: largeID
        )
        _ = try await Self.produce(fits, name: "fits", topic: topic, producer: producer)
        let smallOffsets = try await Self.produce(small, name: "small", topic: topic, producer: producer)
        try producer.close(timeout: .seconds(5))
        #expect(largeOffsets.count == 40)

        let ledger = PayloadLedger()
        let deadLetters = try Self.topic("payload-budget-dlq")
        var spout = try Self.spoutConfig(topic: topic, group: group)
        spout.chunkMemoryBudget = budget
        spout.afterRetries = .deadLetter(topic: deadLetters)
        let cluster = LocalCluster(logger: Logger(label: "test"))
        let running = try cluster.submit(try Self.checkTopology(name: "budget", spout: spout, ledger: ledger))
        let lastOffset = try #require(smallOffsets.last)
        let committed = try await Self.waitForCommits(topic: topic, group: group, expected: [0: lastOffset + 1])
        #expect(committed == [0: lastOffset + 1], "commits move past the rejected payload")

        let received = ledger.received
        #expect(received.map(\.name) == ["fits", "small"], "only the payloads within the budget are delivered")
        #expect(received.first?.digest == SHA256Digest.hex(of: fits))
        let (messages, count) = Self.errors(of: "input", in: running)
        #expect(count == 1, "\(messages)")
        let message = messages.first ?? ""
        #expect(message.contains("memory budget exceeded"), "\(message)")
        #expect(
            message.contains("payload of \(20 << 20) bytes is larger than the budget of \(budget) bytes"),
            "\(message)"
        )
        #expect(message.contains(largeID.description), "the error names the payload: \(message)")

        // The rejected payload is dead-lettered: one record with its key, naming why and where.
        var config = KafkaConfig(bootstrapServers: [brokers])
        config.groupID = nil
        let reader = try KafkaConsumer(config: config)
        defer { reader.close() }
        try reader.assign([KafkaTopicPartition(topic: deadLetters, partition: 0, offset: .zero)])
        var letters: [KafkaRecord] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while letters.isEmpty && ContinuousClock.now < deadline {
            letters += try reader.poll(maxRecords: 10, timeout: .zero)
            if letters.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        let letter = try #require(letters.first, "the rejected payload is dead-lettered")
        #expect(letter.key == Array("large".utf8))
        #expect(!letter.headers.contains { $0.name == ChunkHeader.recordHeaderKey }, "no chunk header")
        let why = String(decoding: letter.headers.first { $0.name == "gale-error" }?.value ?? [], as: UTF8.self)
        #expect(why.contains("memory budget exceeded") && why.contains(largeID.description), "\(why)")
        let source = String(decoding: letter.headers.first { $0.name == "gale-source" }?.value ?? [], as: UTF8.self)
        #expect(source == "\(topic)/0@\(largeOffsets.first ?? -1)", "\(source)")
        await cluster.shutdown()
    }

    /// A payload that fits the budget alone but not beside another partition's half-read payload
    /// waits (its partition pauses) instead of being rejected, and both arrive.
    @Test func aPayloadThatDoesNotFitBesideAnotherWaitsForMemory() async throws {
        let brokers = try Self.brokers
        let topic = try Self.topic("payload-wait", partitions: 2)
        let group = "g-\(UUID().uuidString.prefix(8))"
        let producer = try KafkaProducer(config: KafkaConfig(bootstrapServers: [brokers]))
        let first = PayloadSpec(name: "first", length: 3 << 20, seed: 31).bytes()
        let second = PayloadSpec(name: "second", length: 3 << 20, seed: 32).bytes()
        let firstID = PayloadID.random()
        // All but the last chunk of the first payload on partition 0; once they are read, all of
        // the second on partition 1.
        _ = try await Self.produce(
            first,
            name: "first",
            topic: topic,
            producer: producer,
            payloadID: firstID,
            partition: 0,
            chunks: 0..<5
        )
        let ledger = PayloadLedger()
        var spout = try Self.spoutConfig(topic: topic, group: group)
        spout.chunkMemoryBudget = 4 << 20
        let cluster = LocalCluster(logger: Logger(label: "test"))
        let running = try cluster.submit(try Self.checkTopology(name: "wait", spout: spout, ledger: ledger))
        let lines = { running.stats().component("input")?.details ?? [] }
        let opened = await running.waitUntil(timeout: .seconds(30)) {
            lines().contains { $0.contains("[0] ") && $0.contains("position 5,") }
        }
        #expect(opened, "the first payload is half read: \(lines())")
        let secondOffsets = try await Self.produce(
            second,
            name: "second",
            topic: topic,
            producer: producer,
            partition: 1
        )
        let waiting = await running.waitUntil(timeout: .seconds(30)) {
            lines().contains { $0.contains("[1] ") && $0.contains("held from 0") }
        }
        #expect(waiting, "partition 1 holds its payload back: \(lines())")
        #expect(ledger.received.isEmpty)

        let lastOffsets = try await Self.produce(
            first,
            name: "first",
            topic: topic,
            producer: producer,
            payloadID: firstID,
            partition: 0,
            chunks: 5..<6
        )
        try producer.close(timeout: .seconds(5))
        let committed = try await Self.waitForCommits(
            topic: topic,
            group: group,
            expected: [0: (lastOffsets.last ?? -1) + 1, 1: (secondOffsets.last ?? -1) + 1]
        )
        #expect(committed == [0: (lastOffsets.last ?? -1) + 1, 1: (secondOffsets.last ?? -1) + 1])
        let received = ledger.received
        #expect(received.map(\.name) == ["first", "second"], "both payloads arrive, one after the other")
        #expect(received.first?.digest == SHA256Digest.hex(of: first))
        #expect(received.last?.digest == SHA256Digest.hex(of: second))
        #expect(Self.errors(of: "input", in: running).count == 0, "\(Self.errors(of: "input", in: running).messages)")
        await cluster.shutdown()
    }
}

// MARK: - Payloads and the components that send and check them

/// A deterministic pseudo-random payload (SplitMix64 from `seed`).
struct PayloadSpec: Sendable {
    var name: String
    var length: Int
    var seed: UInt64

    /// The payload's bytes, written word by word into one allocation.
    func bytes() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var state = seed
            var index = 0
            while index < length {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                if length - index >= 8 {
                    raw.storeBytes(of: z.littleEndian, toByteOffset: index, as: UInt64.self)
                    index += 8
                } else {
                    while index < length {
                        raw[index] = UInt8(truncatingIfNeeded: z)
                        z >>= 8
                        index += 1
                    }
                }
            }
            count = length
        }
    }
}

/// What the source sent and the check bolt received, shared across the topology's queues.
final class PayloadLedger: Sendable {
    struct Digest: Sendable, Equatable {
        var length: Int
        var digest: String
    }

    struct Received: Sendable {
        var name: String
        var length: Int
        var digest: String
        var partition: Int64
        var offset: Int64
    }

    private struct State {
        var sent: [String: Digest] = [:]
        var acked: [String] = []
        var sourceFailures = 0
        var received: [Received] = []
        var released = false
    }

    private let state = Mutex(State())

    var sent: [String: Digest] { state.withLock { $0.sent } }
    var acked: [String] { state.withLock { $0.acked } }
    var sourceFailures: Int { state.withLock { $0.sourceFailures } }
    var received: [Received] { state.withLock { $0.received } }
    var isReleased: Bool { state.withLock { $0.released } }

    func recordSent(_ name: String, _ digest: Digest) { state.withLock { $0.sent[name] = digest } }
    func recordAcked(_ name: String) { state.withLock { $0.acked.append(name) } }
    func recordSourceFailure() { state.withLock { $0.sourceFailures += 1 } }
    func recordReceived(_ payload: Received) { state.withLock { $0.received.append(payload) } }
    func release() { state.withLock { $0.released = true } }
}

/// Emits each payload once as (key: name, value: bytes), generated when it is emitted; replays failures.
final class PayloadSpout: Spout {
    private let specs: [PayloadSpec]
    private let ledger: PayloadLedger
    private var collector: (any SpoutOutputCollector)?
    private var next = 0
    private var pending: [String: [GaleValue]] = [:]

    init(specs: [PayloadSpec], ledger: PayloadLedger) {
        self.specs = specs
        self.ledger = ledger
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["key", "value"]) }

    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws { self.collector = collector }

    func nextTuple() {
        guard next < specs.count, let collector else { return }
        let spec = specs[next]
        next += 1
        let bytes = spec.bytes()
        ledger.recordSent(spec.name, .init(length: bytes.count, digest: SHA256Digest.hex(of: bytes)))
        let values: [GaleValue] = [.string(spec.name), .bytes(bytes)]
        pending[spec.name] = values
        collector.emit(values, messageId: spec.name)
    }

    func ack(_ messageId: any Sendable) {
        guard let name = messageId as? String else { return }
        pending[name] = nil
        ledger.recordAcked(name)
    }

    func fail(_ messageId: any Sendable) {
        guard let name = messageId as? String, let values = pending[name] else { return }
        ledger.recordSourceFailure()
        collector?.emit(values, messageId: name)
    }
}

/// Records the length and SHA-256 of each value a KafkaSpout delivers (default fields), then acks it;
/// the payload named `hold` is acked only once the ledger releases it.
final class PayloadCheckBolt: Bolt {
    private let ledger: PayloadLedger
    private let hold: String?
    private var held: Tuple?
    private var collector: (any OutputCollector)?

    init(ledger: PayloadLedger, hold: String? = nil) {
        self.ledger = ledger
        self.hold = hold
    }

    var defaultTickFrequencySeconds: Double? { hold == nil ? nil : 0.05 }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws { self.collector = collector }

    func execute(_ tuple: Tuple) {
        guard let collector else { return }
        if let held, ledger.isReleased {
            collector.ack(held)
            self.held = nil
        }
        guard !tuple.isTick else { return }
        var name = ""
        if case .bytes(let key) = tuple[3] { name = String(decoding: key, as: UTF8.self) }
        var length = -1
        var digest = ""
        if case .bytes(let value) = tuple[4] {
            length = value.count
            digest = SHA256Digest.hex(of: value)
        }
        ledger.recordReceived(
            .init(
                name: name,
                length: length,
                digest: digest,
                partition: tuple.int(at: 1) ?? -1,
                offset: tuple.int(at: 2) ?? -1
            )
        )
        if name == hold && !ledger.isReleased {
            held = tuple
        } else {
            collector.ack(tuple)
        }
    }
}
