import Foundation
import Gale
import GaleKafka
import GaleRuntime
import Logging
import Synchronization
import Testing

/// KafkaSpout edge cases in local mode against the test broker (Tansu): offset gaps left by
/// transaction markers, a committed offset beyond the log, bad input (missing topic, unreachable
/// broker, records the mapper rejects) and retries that run out.
@Suite(.serialized) struct KafkaSpoutEdgeTests {
    static var brokers: String { get throws { try TestServices.resolve().kafka } }

    // MARK: - Helpers

    /// Writes `ID,TEXT` lines (or any other text) keyed by their first field to partition
    /// `partition` with kcat; returns the offset of each line, read back.
    static func produceLines(topic: String, partition: Int32 = 0, _ lines: [String]) async throws -> [Int64] {
        let file = NSTemporaryDirectory() + "gale-kcat-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try lines.map { "\($0)\n" }.joined().write(toFile: file, atomically: true, encoding: .utf8)
        let result = try ClusterHarness.run(
            "/usr/bin/kcat",
            ["-P", "-b", try brokers, "-t", topic, "-p", "\(partition)", "-l", file]
        )
        guard result.status == 0 else { throw SmokeTestFailure("kcat failed: \(result.output)") }
        var offsets: [String: Int64] = [:]
        try await KafkaPipelineTests.readAll(
            topic: topic,
            timeout: 20,
            until: { $0.count >= lines.count },
            each: { record in offsets[String(decoding: record.value ?? [], as: UTF8.self)] = record.offset }
        )
        return lines.map { offsets[$0] ?? -1 }
    }

    /// A spout reading `topic` for `group` with `ID,TEXT` records as (id, text) tuples.
    static func spoutConfig(topic: String, group: String) throws -> KafkaSpoutConfig {
        var config = KafkaSpoutConfig(brokers: try brokers, topic: topic, groupID: group)
        config.outputFields = ["id", "text"]
        config.mapper = KafkaPipelineTests.idMapper
        config.commitInterval = .milliseconds(100)
        config.retry = RetryPolicy(initialDelay: .milliseconds(50), multiplier: 1, maxDelay: .milliseconds(50))
        return config
    }

    /// KafkaSpout -> RecordingBolt (failing `failing` ids every time, `failingOnce` ids the first time).
    static func topology(
        _ name: String,
        spout config: KafkaSpoutConfig,
        recorder: Recorder,
        failing: Set<String> = [],
        failingOnce: Set<String> = []
    ) throws -> Topology {
        let builder = TopologyBuilder(name: name)
        builder.setSpout("input", parallelism: 1) { KafkaSpout(config) }
        builder.setBolt("record", parallelism: 1) {
            RecordingBolt(recorder: recorder, failing: failing, failingOnce: failingOnce)
        }
        .shuffleGrouping("input")
        builder.config.messageTimeoutSeconds = 30
        return try builder.build()
    }

    /// Polls the committed offsets of `group` until they equal `expected` (or `timeout` passes);
    /// returns the last ones read.
    /// The ledger of a run whose ids `0..<count` were each delivered (`ids`: id -> deliveries):
    /// every id present, each of `failingOnce` exactly twice (failed, then acked on its retry),
    /// every other one exactly once (not emitted again by the re-reads).
    static func expectRetriedOnce(
        _ ids: [String: Int],
        count: Int,
        failingOnce: Set<String>,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let all = Set((0..<count).map { "\($0)" })
        #expect(Set(ids.keys) == all, "missing: \(all.subtracting(ids.keys).sorted())", sourceLocation: sourceLocation)
        for id in failingOnce {
            #expect(ids[id] == 2, "id \(id) delivered \(ids[id] ?? 0) times", sourceLocation: sourceLocation)
        }
        let again = ids.filter { !failingOnce.contains($0.key) && $0.value != 1 }
        #expect(again.isEmpty, "delivered more than once without failing: \(again)", sourceLocation: sourceLocation)
    }

    static func waitForCommits(
        topic: String,
        group: String,
        _ expected: [Int32: Int64],
        timeout: Duration = .seconds(20)
    ) async throws -> [Int32: Int64] {
        let deadline = ContinuousClock.now + timeout
        var committed: [Int32: Int64] = [:]
        while ContinuousClock.now < deadline {
            committed = try KafkaPipelineTests.committed(topic: topic, group: group, partitions: Array(expected.keys))
            if committed == expected { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return committed
    }

    /// The records of a dead-letter topic: read until one arrived, then one more second, so that
    /// a duplicate would show.
    static func readDeadLetters(_ topic: String) async throws -> [KafkaRecord] {
        var settled: ContinuousClock.Instant?
        var dead: [KafkaRecord] = []
        try await KafkaPipelineTests.readAll(
            topic: topic,
            timeout: 10,
            until: { records in
                guard !records.isEmpty else { return false }
                if settled == nil { settled = .now + .seconds(1) }
                return ContinuousClock.now >= settled ?? .now
            },
            each: { dead.append($0) }
        )
        return dead
    }

    static func group() -> String { "g-\(UUID().uuidString.prefix(8))" }

    /// A topic whose first batches two producers wrote at once, attempt after attempt, until the
    /// broker reports a log start past offset 0 for one of its partitions (with Tansu 0.6, within
    /// 1 to 7 topics of 16 partitions in the runs measured); `nil` when none of `attempts` topics did (a
    /// broker without that race). Returns the topic, the partition, its reported start, and each
    /// partition's record count (every record `ID,TEXT` with a unique id).
    static func topicWithMisreportedStart(
        attempts: Int = 400
    ) async throws -> (topic: String, partition: Int32, start: Int64, counts: [Int32: Int])? {
        let brokers = try brokers
        let partitions: Int32 = 16
        let perPartition = 5
        return try await onBlockingThread { () throws -> (String, Int32, Int64, [Int32: Int])? in
            let client = KafkaConfig(bootstrapServers: [brokers])
            let admin = try KafkaAdmin(config: client)
            var config = client
            config.linger = .milliseconds(2)
            let producers = try (0..<2).map { _ in try KafkaProducer(config: config) }
            defer { for producer in producers { try? producer.close(timeout: .seconds(5)) } }
            let consumer = try KafkaConsumer(config: client)
            defer { consumer.close() }
            for attempt in 0..<attempts {
                let topic = "edge-start-\(UUID().uuidString.prefix(8))"
                try admin.createTopic(topic, partitions: partitions)
                // Each producer learns the topic's partitions first, so both write at once.
                for producer in producers { _ = try producer.queryWatermarks(topic: topic, partition: 0) }
                let go = Atomic<Bool>(false)
                let group = DispatchGroup()
                let failure = Mutex<(any Error)?>(nil)
                for (index, producer) in producers.enumerated() {
                    DispatchQueue.global().async(group: group) {
                        while !go.load(ordering: .acquiring) {}
                        do {
                            for partition in 0..<partitions {
                                for n in 0..<perPartition {
                                    let id = "\(attempt)-\(index)-\(partition)-\(n)"
                                    try producer.produce(
                                        topic: topic,
                                        partition: partition,
                                        value: Array("\(id),text \(id)".utf8)
                                    )
                                }
                            }
                            try producer.flush(timeout: .seconds(30))
                        } catch {
                            failure.withLock { $0 = error }
                        }
                    }
                }
                go.store(true, ordering: .releasing)
                group.wait()
                if let error = failure.withLock({ $0 }) { throw error }
                for partition in 0..<partitions {
                    let low = try consumer.queryWatermarks(topic: topic, partition: partition).low
                    if low > 0 {
                        let counts = Dictionary(uniqueKeysWithValues: (0..<partitions).map { ($0, 2 * perPartition) })
                        return (topic, partition, low, counts)
                    }
                }
            }
            return nil
        }
    }

    // MARK: - Transaction markers

    @Test func transactionMarkerGapsAreSkippedAndCommitsReachTheLastOffsetPlusOne() async throws {
        let input = try KafkaPipelineTests.topic("edge-txn", partitions: 2)
        let partitions: [Int32] = [0, 1]
        var plainConfig = KafkaConfig(bootstrapServers: [try Self.brokers])
        plainConfig.linger = .zero
        var transactionalConfig = plainConfig
        transactionalConfig.transactionalID = "edge-txn-\(UUID().uuidString.prefix(8))"
        let plain = try KafkaProducer(config: plainConfig)
        let transactional = try KafkaProducer(config: transactionalConfig)

        // Per partition and round: a plain record, a committed transaction of three, an aborted
        // transaction of two. Values are `ID,TEXT`.
        let (committedIDs, abortedIDs) = try await onBlockingThread { () throws -> ([String], [String]) in
            var committedIDs: [String] = []
            var abortedIDs: [String] = []
            func send(_ producer: KafkaProducer, _ partition: Int32, _ id: String) throws {
                try producer.produce(
                    KafkaProducerRecord(topic: input, partition: partition, value: Array("\(id),text".utf8))
                )
            }
            try transactional.initTransactions()
            for round in 0..<4 {
                for partition in partitions {
                    try send(plain, partition, "p\(partition)-plain-\(round)")
                    committedIDs.append("p\(partition)-plain-\(round)")
                }
                try plain.flush(timeout: .seconds(10))
                try transactional.beginTransaction()
                for partition in partitions {
                    for index in 0..<3 {
                        try send(transactional, partition, "p\(partition)-c\(round)-\(index)")
                        committedIDs.append("p\(partition)-c\(round)-\(index)")
                    }
                }
                try transactional.commitTransaction()
                try transactional.beginTransaction()
                for partition in partitions {
                    for index in 0..<2 {
                        try send(transactional, partition, "p\(partition)-a\(round)-\(index)")
                        abortedIDs.append("p\(partition)-a\(round)-\(index)")
                    }
                }
                try transactional.flush(timeout: .seconds(10))
                try transactional.abortTransaction()
            }
            // Partition 0 ends with a plain record, partition 1 with a committed transaction
            // (its marker is the partition's last offset).
            try send(plain, 0, "p0-last")
            committedIDs.append("p0-last")
            try transactional.beginTransaction()
            try send(transactional, 1, "p1-last")
            committedIDs.append("p1-last")
            try transactional.commitTransaction()
            try plain.flush(timeout: .seconds(10))
            return (committedIDs, abortedIDs)
        }

        // What a read-committed consumer sees: the offsets, and each partition's last one.
        var offsets: [Int32: [Int64]] = [:]
        var seenIDs = Set<String>()
        let lastIDs: Set<String> = ["p0-last", "p1-last"]
        try await KafkaPipelineTests.readAll(
            topic: input,
            timeout: 20,
            until: { _ in lastIDs.isSubset(of: seenIDs) },
            each: { record in
                offsets[record.partition, default: []].append(record.offset)
                if let id = try? KafkaPipelineTests.idMapper(record)?.first, case .string(let text) = id {
                    seenIDs.insert(text)
                }
            }
        )
        let last = offsets.mapValues { $0.max() ?? -1 }
        let gaps = offsets.values.contains { list in
            zip(list.sorted(), list.sorted().dropFirst()).contains { $1 != $0 + 1 }
        }
        #expect(gaps, "transaction markers leave offset gaps: \(offsets.mapValues { $0.sorted() })")

        let group = Self.group()
        let recorder = Recorder()
        let cluster = LocalCluster(logger: Logger(label: "test"))
        _ = try cluster.submit(
            try Self.topology("edge-txn", spout: try Self.spoutConfig(topic: input, group: group), recorder: recorder)
        )
        let expected = last.mapValues { $0 + 1 }
        let committed = try await Self.waitForCommits(topic: input, group: group, expected)
        #expect(committed == expected, "commits end at each partition's last offset + 1 (no stall)")
        let delivered = recorder.ids
        let missing = Set(committedIDs).subtracting(delivered.keys)
        #expect(missing.isEmpty, "every committed record is delivered; missing \(missing.sorted())")
        // Tansu 0.6 hands aborted records to read-committed consumers; Apache Kafka does not. Either
        // way, the spout delivers exactly what the consumer returns.
        let unexpected = Set(delivered.keys).subtracting(committedIDs).subtracting(abortedIDs)
        #expect(unexpected.isEmpty, "\(unexpected.sorted())")
        await cluster.shutdown()
    }

    // MARK: - Offset out of range

    @Test func committedOffsetBeyondTheLogResetsToTheEarliestRecord() async throws {
        let input = try KafkaPipelineTests.topic("edge-range", partitions: 1)
        let lines = (0..<50).map { "\($0),record \($0)" }
        let offsets = try await Self.produceLines(topic: input, lines)
        let group = Self.group()
        var config = KafkaConfig(bootstrapServers: [try Self.brokers])
        config.groupID = group
        let consumer = try KafkaConsumer(config: config)
        try consumer.commit([KafkaTopicPartition(topic: input, partition: 0, offset: KafkaOffset(1_000_000))])
        consumer.close()
        #expect(
            try KafkaPipelineTests.committed(topic: input, group: group, partitions: [0]) == [0: 1_000_000]
        )

        let recorder = Recorder()
        let cluster = LocalCluster(logger: Logger(label: "test"))
        var spout = try Self.spoutConfig(topic: input, group: group)
        spout.firstPollOffset = .committedOrEarliest
        _ = try cluster.submit(try Self.topology("edge-range", spout: spout, recorder: recorder))
        let expected: [Int32: Int64] = [0: (offsets.max() ?? -1) + 1]
        let committed = try await Self.waitForCommits(topic: input, group: group, expected)
        #expect(committed == expected, "commits restart from the earliest record and reach last + 1")
        #expect(Set(recorder.ids.keys) == Set((0..<50).map { "\($0)" }), "every record is delivered")
        await cluster.shutdown()
    }

    /// The other side of the check above: Tansu reports the last batch's base offset as the high
    /// watermark, so a committed offset inside the log may lie above it; it must be kept.
    /// A spout reading from the first record reads a partition from offset 0, not from the log
    /// start the broker reports: on the test broker that start can be past records the log holds
    /// (the first two batches of a partition written at once), which a spout starting at
    /// "beginning" skipped.
    @Test func aPartitionWhoseReportedStartIsPastRecordsItHoldsIsReadFromOffsetZero() async throws {
        let misreported = try await Self.topicWithMisreportedStart()
        let (topic, partition, start, counts) = try #require(
            misreported,
            "no partition reported a start past 0 in 400 topics: the broker may not have the race"
        )
        let total = counts.values.reduce(0, +)
        let group = Self.group()
        let recorder = Recorder()
        let cluster = LocalCluster(logger: Logger(label: "test"))
        var spout = try Self.spoutConfig(topic: topic, group: group)
        spout.firstPollOffset = .earliest
        _ = try cluster.submit(try Self.topology("edge-start", spout: spout, recorder: recorder))
        let expected = counts.mapValues { Int64($0) }
        let committed = try await Self.waitForCommits(topic: topic, group: group, expected)
        await cluster.shutdown()
        #expect(start > 0)
        #expect(committed == expected, "every partition committed to its end")
        #expect(
            recorder.ids.count == total,
            "every record delivered, those below partition \(partition)'s reported start \(start) too"
        )
    }

    @Test func committedOffsetInsideTheLogIsKeptEvenAboveTheReportedHighWatermark() async throws {
        let input = try KafkaPipelineTests.topic("edge-inrange", partitions: 1)
        let lines = (0..<50).map { "\($0),record \($0)" }
        let offsets = try await Self.produceLines(topic: input, lines)
        let group = Self.group()
        var config = KafkaConfig(bootstrapServers: [try Self.brokers])
        config.groupID = group
        let consumer = try KafkaConsumer(config: config)
        try consumer.commit([KafkaTopicPartition(topic: input, partition: 0, offset: KafkaOffset(offsets[40]))])
        consumer.close()

        let recorder = Recorder()
        let cluster = LocalCluster(logger: Logger(label: "test"))
        _ = try cluster.submit(
            try Self.topology(
                "edge-inrange",
                spout: try Self.spoutConfig(topic: input, group: group),
                recorder: recorder
            )
        )
        let expected: [Int32: Int64] = [0: (offsets.max() ?? -1) + 1]
        let committed = try await Self.waitForCommits(topic: input, group: group, expected)
        #expect(committed == expected)
        #expect(Set(recorder.ids.keys) == Set((40..<50).map { "\($0)" }), "reading resumes at the committed offset")
        await cluster.shutdown()
    }

    // MARK: - Bad input

    @Test func missingTopicFailsTheSubmitNamingTheTopic() async throws {
        let missing = "edge-missing-\(UUID().uuidString.prefix(8))"
        let spout = try Self.spoutConfig(topic: missing, group: Self.group())
        let cluster = LocalCluster(logger: Logger(label: "test"))
        let topology = try Self.topology("edge-missing", spout: spout, recorder: Recorder())
        let start = ContinuousClock.now
        let error = try await onBlockingThread {
            Result { try cluster.submit(topology) }.map { _ in () }
        }
        #expect(ContinuousClock.now - start < .seconds(20))
        guard case .failure(let failure) = error, let runtimeError = failure as? GaleRuntimeError,
            case .componentFailedToStart(let component, _, let message) = runtimeError
        else {
            Issue.record("expected componentFailedToStart, got \(error)")
            await cluster.shutdown()
            return
        }
        #expect(component == "input")
        #expect(message.contains(missing), "\(message)")
        #expect(cluster.names.isEmpty)
    }

    @Test func unreachableBrokerFailsTheSubmitWithinTheTimeouts() async throws {
        let port = ClusterHarness.freePort()  // bound, then closed: nothing listens
        var spout = KafkaSpoutConfig(brokers: "127.0.0.1:\(port)", topic: "edge-unreachable", groupID: Self.group())
        spout.client.operationTimeout = .seconds(2)
        spout.client.socketTimeout = .seconds(2)
        let cluster = LocalCluster(logger: Logger(label: "test"))
        let topology = try Self.topology("edge-unreachable", spout: spout, recorder: Recorder())
        let start = ContinuousClock.now
        let error = try await onBlockingThread {
            Result { try cluster.submit(topology) }.map { _ in () }
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(8), "failed after \(elapsed)")
        guard case .failure(let failure) = error, let runtimeError = failure as? GaleRuntimeError,
            case .componentFailedToStart(let component, _, let message) = runtimeError
        else {
            Issue.record("expected componentFailedToStart, got \(error)")
            await cluster.shutdown()
            return
        }
        #expect(component == "input")
        #expect(message.contains("127.0.0.1:\(port)"), "\(message)")
        #expect(message.contains("unreachable"), "\(message)")
    }

    @Test func recordTheMapperRejectsIsDeadLetteredWithItsErrorAndCommitsPassIt() async throws {
        let input = try KafkaPipelineTests.topic("edge-map", partitions: 1)
        let deadLetters = try KafkaPipelineTests.topic("edge-map-dlq", partitions: 1)
        let lines = ["0,a", "1,b", "no comma here", "3,d", "4,e"]
        let offsets = try await Self.produceLines(topic: input, lines)
        let group = Self.group()
        var spout = try Self.spoutConfig(topic: input, group: group)
        spout.afterRetries = .deadLetter(topic: deadLetters)
        let recorder = Recorder()
        let cluster = LocalCluster(logger: Logger(label: "test"))
        _ = try cluster.submit(try Self.topology("edge-map", spout: spout, recorder: recorder))

        let expected: [Int32: Int64] = [0: (offsets.max() ?? -1) + 1]
        let committed = try await Self.waitForCommits(topic: input, group: group, expected)
        #expect(committed == expected, "commits pass the rejected record")
        #expect(Set(recorder.ids.keys) == ["0", "1", "3", "4"])
        let dead = try await Self.readDeadLetters(deadLetters)
        #expect(dead.count == 1)
        if let record = dead.first {
            #expect(record.value == Array("no comma here".utf8))
            let error = record.headers.first { $0.name == "gale-error" }?.value.map {
                String(decoding: $0, as: UTF8.self)
            }
            #expect(error?.contains("mapper") == true, "gale-error: \(String(describing: error))")
            let source = record.headers.first { $0.name == "gale-source" }?.value.map {
                String(decoding: $0, as: UTF8.self)
            }
            #expect(source == "\(input)/0@\(offsets[2])")
        }
        await cluster.shutdown()
    }

    @Test func recordTheMapperRejectsIsDroppedAndCommitsPassIt() async throws {
        let input = try KafkaPipelineTests.topic("edge-drop", partitions: 1)
        let lines = ["0,a", "no comma here", "2,c", "also bad", "4,e"]
        let offsets = try await Self.produceLines(topic: input, lines)
        let group = Self.group()
        var spout = try Self.spoutConfig(topic: input, group: group)
        spout.afterRetries = .drop
        let recorder = Recorder()
        let cluster = LocalCluster(logger: Logger(label: "test"))
        let running = try cluster.submit(try Self.topology("edge-drop", spout: spout, recorder: recorder))

        let expected: [Int32: Int64] = [0: (offsets.max() ?? -1) + 1]
        let committed = try await Self.waitForCommits(topic: input, group: group, expected)
        #expect(committed == expected, "commits pass the dropped records")
        #expect(Set(recorder.ids.keys) == ["0", "2", "4"])
        #expect((running.stats().component("input")?.errorCount ?? 0) >= 2, "the mapper errors are reported")
        await cluster.shutdown()
    }

    // MARK: - Retries

    @Test func recordFailingEveryRetryIsDeadLetteredOnceAndCommitsPassIt() async throws {
        let input = try KafkaPipelineTests.topic("edge-retry", partitions: 1)
        let deadLetters = try KafkaPipelineTests.topic("edge-retry-dlq", partitions: 1)
        let lines = (0..<20).map { "\($0),record \($0)" }
        let offsets = try await Self.produceLines(topic: input, lines)
        let group = Self.group()
        var spout = try Self.spoutConfig(topic: input, group: group)
        spout.retry = RetryPolicy(initialDelay: .milliseconds(50), multiplier: 2, maxDelay: .seconds(1), maxRetries: 2)
        spout.afterRetries = .deadLetter(topic: deadLetters)
        let recorder = Recorder()
        let cluster = LocalCluster(logger: Logger(label: "test"))
        _ = try cluster.submit(try Self.topology("edge-retry", spout: spout, recorder: recorder, failing: ["7"]))

        let expected: [Int32: Int64] = [0: (offsets.max() ?? -1) + 1]
        let committed = try await Self.waitForCommits(topic: input, group: group, expected)
        #expect(committed == expected, "commits pass the exhausted record")
        #expect(recorder.ids["7"] == 3, "emitted once, then retried twice: \(String(describing: recorder.ids["7"]))")
        #expect(Set(recorder.ids.keys) == Set((0..<20).map { "\($0)" }))
        let dead = try await Self.readDeadLetters(deadLetters)
        #expect(dead.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["7,record 7"])
        let error = dead.first?.headers.first { $0.name == "gale-error" }?.value
        #expect(error.map { String(decoding: $0, as: UTF8.self) } == "failed after 2 retries")
        await cluster.shutdown()
    }

    @Test func failedRecordsAreReadAgainBySeekingBackAndNoOtherRecordIsLostOrEmittedTwice() async throws {
        // Two partitions, records failing once near each one's start, middle and end: each retry
        // seeks its partition back and reads the records after it again, which are in flight or
        // acked and must not be emitted again.
        let input = try KafkaPipelineTests.topic("edge-seek", partitions: 2)
        let lines0 = (0..<300).map { "\($0),record \($0)" }
        let lines1 = (300..<600).map { "\($0),record \($0)" }
        let offsets0 = try await Self.produceLines(topic: input, partition: 0, lines0)
        let offsets1 = try await Self.produceLines(topic: input, partition: 1, lines1)
        let group = Self.group()
        let spout = try Self.spoutConfig(topic: input, group: group)
        let failingOnce: Set<String> = ["0", "3", "4", "150", "299", "300", "301", "450", "451", "599"]
        let recorder = Recorder()
        let cluster = LocalCluster(logger: Logger(label: "test"))
        let running = try cluster.submit(
            try Self.topology("edge-seek", spout: spout, recorder: recorder, failingOnce: failingOnce)
        )

        let expected: [Int32: Int64] = [0: (offsets0.max() ?? -1) + 1, 1: (offsets1.max() ?? -1) + 1]
        let committed = try await Self.waitForCommits(topic: input, group: group, expected)
        #expect(committed == expected, "commits reach the end of both partitions")
        // The ledger: every id delivered, the failed ones exactly twice (failed, then acked on
        // their retry), every other one exactly once (not emitted again by the re-reads).
        Self.expectRetriedOnce(recorder.ids, count: 600, failingOnce: failingOnce)
        #expect(running.stats().component("input")?.failed == UInt64(failingOnce.count))
        await cluster.shutdown()
    }

    @Test func aRetryIsReadAgainWhileItsPartitionsWindowIsFull() async throws {
        // A window of 10: the record failing holds the commits, the window fills behind it and
        // the partition pauses; the retry must still be read again for the partition to go on.
        let input = try KafkaPipelineTests.topic("edge-seek-full", partitions: 1)
        let lines = (0..<100).map { "\($0),record \($0)" }
        let offsets = try await Self.produceLines(topic: input, lines)
        let group = Self.group()
        var spout = try Self.spoutConfig(topic: input, group: group)
        spout.maxUncommittedOffsets = 10
        spout.retry = RetryPolicy(initialDelay: .milliseconds(300), multiplier: 1, maxDelay: .milliseconds(300))
        let failingOnce: Set<String> = ["2", "55"]
        let recorder = Recorder()
        let cluster = LocalCluster(logger: Logger(label: "test"))
        _ = try cluster.submit(
            try Self.topology("edge-seek-full", spout: spout, recorder: recorder, failingOnce: failingOnce)
        )

        let expected: [Int32: Int64] = [0: (offsets.max() ?? -1) + 1]
        let committed = try await Self.waitForCommits(topic: input, group: group, expected)
        #expect(committed == expected, "commits reach the end")
        Self.expectRetriedOnce(recorder.ids, count: 100, failingOnce: failingOnce)
        await cluster.shutdown()
    }

    // MARK: - Statistics

    @Test func statisticsNameTheRecordHoldingThePartitionWithItsRetries() async throws {
        let input = try KafkaPipelineTests.topic("edge-stats", partitions: 1)
        let lines = (0..<10).map { "\($0),record \($0)" }
        let offsets = try await Self.produceLines(topic: input, lines)
        let group = Self.group()
        var spout = try Self.spoutConfig(topic: input, group: group)
        spout.retry = RetryPolicy(
            initialDelay: .milliseconds(20),
            multiplier: 1,
            maxDelay: .milliseconds(20),
            maxRetries: 1_000
        )
        let recorder = Recorder()
        let cluster = LocalCluster(logger: Logger(label: "test"))
        let running = try cluster.submit(
            try Self.topology("edge-stats", spout: spout, recorder: recorder, failing: ["4"])
        )
        let stuck = offsets[4]
        let last = (offsets.max() ?? -1) + 1
        // The spout's status lines (StatusReporting), as `gale status` shows them.
        func line() -> String? { running.stats().component("input")?.details?.first }
        func retries(_ line: String) -> Int {
            guard let range = line.range(of: #"\d+ retries"#, options: .regularExpression) else { return 0 }
            return Int(line[range].split(separator: " ")[0]) ?? 0
        }
        let reached = await running.waitUntil(timeout: .seconds(20)) {
            guard let line = line() else { return false }
            return line.contains("committed \(stuck),") && line.contains("oldest pending \(stuck) (")
                && retries(line) >= 3
        }
        let status = line() ?? "none"
        #expect(reached, "status: \(status)")
        #expect(status.hasPrefix("task 1: \(input)[0] committed \(stuck), position \(last),"), "\(status)")
        #expect(status.contains("oldest pending \(stuck) ("), "the record holding the partition back: \(status)")
        #expect(retries(status) >= 3, "\(status)")
        let committed = try KafkaPipelineTests.committed(topic: input, group: group, partitions: [0])
        #expect(committed == [0: stuck])
        await cluster.shutdown(drainTimeout: .zero)
    }
}

/// Counts the ids (first field) a bolt saw.
final class Recorder: Sendable {
    private let seen = Mutex<[String: Int]>([:])

    func record(_ id: String) { seen.withLock { $0[id, default: 0] += 1 } }

    var ids: [String: Int] { seen.withLock { $0 } }
}

/// Records the id of every input; fails the ids in `failing`, and those in `failingOnce` the
/// first time the recorder sees them; acks the others.
final class RecordingBolt: Bolt {
    private let recorder: Recorder
    private let failing: Set<String>
    private let failingOnce: Set<String>
    private var collector: (any OutputCollector)?

    init(recorder: Recorder, failing: Set<String>, failingOnce: Set<String> = []) {
        self.recorder = recorder
        self.failing = failing
        self.failingOnce = failingOnce
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {}

    func prepare(context: TopologyContext, collector: any OutputCollector) throws { self.collector = collector }

    func execute(_ tuple: Tuple) {
        let id = tuple.string(at: 0) ?? ""
        recorder.record(id)
        if failing.contains(id) || (failingOnce.contains(id) && recorder.ids[id] == 1) {
            collector?.fail(tuple)
        } else {
            collector?.ack(tuple)
        }
    }
}
