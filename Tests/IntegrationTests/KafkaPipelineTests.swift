import Foundation
import Gale
import GaleKafka
import GaleRuntime
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// KafkaSpout -> bolts -> KafkaBolt in local mode against the real broker, input written by `kcat`.
@Suite(.serialized) struct KafkaPipelineTests {
    static var brokers: String { get throws { try TestServices.resolve().kafka } }

    /// A topic with `partitions` partitions and a unique name.
    static func topic(_ prefix: String, partitions: Int32 = 3) throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.prefix(8))"
        let admin = try KafkaAdmin(config: KafkaConfig(bootstrapServers: [try brokers]))
        try admin.createTopic(name, partitions: partitions)
        return name
    }

    /// Writes `count` records `ID,TEXT` keyed by ID with kcat; returns each partition's last offset.
    static func produceWithKcat(topic: String, count: Int) async throws -> [Int32: Int64] {
        let file = NSTemporaryDirectory() + "gale-kcat-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: file) }
        var text = ""
        text.reserveCapacity(count * 40)
        for id in 0..<count { text += "\(id)|\(id),the quick brown fox \(id)\n" }
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let brokers = try brokers
        let result = try await onBlockingThread {
            try ClusterHarness.run("/usr/bin/kcat", ["-P", "-b", brokers, "-t", topic, "-K|", "-l", file])
        }
        guard result.status == 0 else { throw SmokeTestFailure("kcat failed: \(result.output)") }
        // The last offsets, read back (the test broker's high watermark is not the end offset).
        var last: [Int32: Int64] = [:]
        try await readAll(topic: topic, until: { records in records.count >= count }) { record in
            last[record.partition] = max(last[record.partition] ?? -1, record.offset)
        }
        return last
    }

    /// Reads every partition of `topic` from offset 0 until `until` holds for what was read (from
    /// offset 0, not from the log start the broker reports: see ``KafkaOffset/zero``).
    /// Polls without blocking and sleeps with `Task.sleep` between empty polls, so a long read
    /// holds no thread of the cooperative pool.
    static func readAll(
        topic: String,
        timeout: Double = 120,
        until: ([KafkaRecord]) -> Bool,
        each: (KafkaRecord) -> Void = { _ in }
    ) async throws {
        let consumer = try KafkaConsumer(config: KafkaConfig(bootstrapServers: [try brokers]))
        defer { consumer.close() }
        let partitions = try consumer.topicMetadata(topic).partitions.map(\.id)
        try consumer.assign(partitions.map { KafkaTopicPartition(topic: topic, partition: $0, offset: .zero) })
        var records: [KafkaRecord] = []
        let deadline = Date().addingTimeInterval(timeout)
        while !until(records) {
            guard Date() < deadline else {
                throw SmokeTestFailure("read \(records.count) records of \(topic) in \(timeout) s")
            }
            let batch = try consumer.poll(maxRecords: 10_000, timeout: .zero)
            if batch.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            for record in batch {
                records.append(record)
                each(record)
            }
        }
    }

    /// For a run whose output lacks records: which ids are missing, whether a second reader finds
    /// them in the log (the log holds them: the first read skipped them) and where the log has
    /// holes, and what each component reports (the spouts' partition positions, held records and
    /// pauses), to tell a stuck partition, a lost record and a skipping reader apart.
    static func diagnosis(missing: [String], output: String, _ running: RunningTopology) async -> Comment {
        let components = running.stats().components.map { component in
            "\(component.id): acked \(component.acked), failed \(component.failed), pending \(component.pending), "
                + "errors \(component.recentErrors.map(\.message)), \(component.details ?? [])"
        }
        var offsets: [Int32: [Int64]] = [:]
        var found = 0
        let wanted = Set(missing)
        do {
            try await readAll(topic: output, timeout: 10, until: { _ in false }) { record in
                offsets[record.partition, default: []].append(record.offset)
                if let key = record.key, wanted.contains(String(decoding: key, as: UTF8.self)) { found += 1 }
            }
        } catch {}
        let log = offsets.keys.sorted().map { partition in
            let sorted = (offsets[partition] ?? []).sorted()
            let holes = zip(sorted, sorted.dropFirst()).filter { $1 != $0 + 1 }.prefix(5).map { "\($0 + 1)..<\($1)" }
            return
                "partition \(partition): \(sorted.count) records, \(sorted.first ?? -1)...\(sorted.last ?? -1), holes \(holes)"
        }
        return
            "\(missing.count) ids missing (e.g. \(missing.prefix(5))); a second read finds \(found) of them; \(log); \(components)"
    }

    /// Waits until `group` has committed each partition's last offset + 1 (`last`): every record
    /// is acked, so every output record is written.
    static func waitForCommits(topic: String, group: String, last: [Int32: Int64], timeout: Duration) async throws {
        let expected = last.mapValues { $0 + 1 }
        let committed = try await KafkaSpoutEdgeTests.waitForCommits(
            topic: topic,
            group: group,
            expected,
            timeout: timeout
        )
        guard committed == expected else {
            throw SmokeTestFailure("committed offsets \(committed), expected \(expected) within \(timeout)")
        }
    }

    static func committed(topic: String, group: String, partitions: [Int32]) throws -> [Int32: Int64] {
        var config = KafkaConfig(bootstrapServers: [try brokers])
        config.groupID = group
        let consumer = try KafkaConsumer(config: config)
        defer { consumer.close() }
        var result: [Int32: Int64] = [:]
        for entry in try consumer.committed(partitions.map { KafkaTopicPartition(topic: topic, partition: $0) }) {
            result[entry.partition] = entry.offset.rawValue
        }
        return result
    }

    /// `ID,TEXT` records become (id, text) tuples.
    static let idMapper: KafkaSpoutConfig.Mapper = { record in
        guard let value = record.value, let line = String(validating: value, as: UTF8.self),
            let comma = line.firstIndex(of: ",")
        else { throw SmokeTestFailure("not an ID,TEXT record") }
        return [.string(String(line[..<comma])), .string(String(line[line.index(after: comma)...]))]
    }

    static func pipeline(
        name: String,
        input: String,
        output: String,
        group: String,
        failRate: Double,
        maxUncommitted: Int = 2_000
    ) throws -> Topology {
        var spout = KafkaSpoutConfig(brokers: try brokers, topic: input, groupID: group)
        spout.outputFields = ["id", "text"]
        spout.mapper = idMapper
        spout.maxUncommittedOffsets = maxUncommitted
        spout.commitInterval = .milliseconds(200)
        spout.retry = RetryPolicy(initialDelay: .milliseconds(50), multiplier: 2, maxDelay: .seconds(1), maxRetries: 50)
        let sink = KafkaBoltConfig(brokers: try brokers, topic: output)
        let source = spout
        let builder = TopologyBuilder(name: name)
        builder.setSpout("input", parallelism: 2) { KafkaSpout(source) }
        builder.setBolt("flaky", parallelism: 2) { FlakyBolt(failRate: failRate) }.shuffleGrouping("input")
        builder.setBolt("output", parallelism: 2) { KafkaBolt(sink) }.shuffleGrouping("flaky")
        builder.config.messageTimeoutSeconds = 30
        builder.config.maxSpoutPending = 5_000
        return try builder.build()
    }

    @Test func everyRecordReachesTheOutputAndCommitsEndAtTheLastOffsetPlusOne() async throws {
        let input = try Self.topic("pipe-in")
        let output = try Self.topic("pipe-out")
        let group = "g-\(UUID().uuidString.prefix(8))"
        let count = 100_000
        let last = try await Self.produceWithKcat(topic: input, count: count)
        let cluster = LocalCluster(logger: Logger(label: "test"))
        let running = try cluster.submit(
            try Self.pipeline(name: "pipe", input: input, output: output, group: group, failRate: 0.05)
        )
        // The output is read once the input is committed to its end, so every output record is
        // written: a reader tailing a partition that two producers write at once can skip a batch
        // on the test broker (Tansu 0.6 shows a later batch before an earlier one is stored).
        var seen = Set<String>()
        do {
            try await Self.waitForCommits(topic: input, group: group, last: last, timeout: .seconds(300))
            try await Self.readAll(topic: output, timeout: 60, until: { _ in seen.count >= count }) { record in
                if let key = record.key { seen.insert(String(decoding: key, as: UTF8.self)) }
            }
        } catch {
            let missing = (0..<count).map(String.init).filter { !seen.contains($0) }
            Issue.record(await Self.diagnosis(missing: missing, output: output, running))
            throw error
        }
        #expect(seen.count == count)
        let stats = running.stats()
        #expect((stats.component("flaky")?.failed ?? 0) > 0, "the flaky bolt failed some tuples")
        try await cluster.kill("pipe")
    }

    @Test func restartedTopologyResumesFromCommittedOffsetsWithoutLoss() async throws {
        let input = try Self.topic("resume-in")
        let output = try Self.topic("resume-out")
        let group = "g-\(UUID().uuidString.prefix(8))"
        let count = 50_000
        let maxUncommitted = 1_000
        let last = try await Self.produceWithKcat(topic: input, count: count)

        // First run: stopped after part of the input went through.
        let first = LocalCluster(logger: Logger(label: "test"))
        let partial = try first.submit(
            try Self.pipeline(
                name: "resume",
                input: input,
                output: output,
                group: group,
                failRate: 0,
                maxUncommitted: maxUncommitted
            )
        )
        let started = await partial.waitUntil(timeout: .seconds(120)) {
            (partial.stats().component("output")?.acked ?? 0) >= 10_000
        }
        #expect(started)
        await first.shutdown(drainTimeout: .zero)

        // Second run, same group: it resumes from the committed offsets.
        let second = LocalCluster(logger: Logger(label: "test"))
        let resumed = try second.submit(
            try Self.pipeline(
                name: "resume",
                input: input,
                output: output,
                group: group,
                failRate: 0,
                maxUncommitted: maxUncommitted
            )
        )
        // Read once the input is committed to its end (see the test above).
        var copies: [String: Int] = [:]
        do {
            try await Self.waitForCommits(topic: input, group: group, last: last, timeout: .seconds(300))
            try await Self.readAll(topic: output, timeout: 60, until: { _ in copies.count >= count }) { record in
                if let key = record.key { copies[String(decoding: key, as: UTF8.self), default: 0] += 1 }
            }
        } catch {
            let missing = (0..<count).map(String.init).filter { copies[$0] == nil }
            Issue.record(await Self.diagnosis(missing: missing, output: output, resumed))
            throw error
        }
        #expect(copies.count == count, "no record is lost")
        let duplicates = copies.values.reduce(0) { $0 + $1 - 1 }
        // In flight at the stop: per partition (3), at most max-uncommitted (records a poll
        // returned past it are held back, not emitted; the stop commits what was acked).
        let window = 3 * maxUncommitted
        #expect(duplicates <= window, "duplicates stay within the in-flight window: \(duplicates)")
        await second.shutdown()
    }
}

/// Fails `failRate` of its inputs at random; passes the rest on, anchored.
final class FlakyBolt: Bolt {
    private let failRate: Double
    private var collector: (any OutputCollector)?
    private var rng = SystemRandomNumberGenerator()

    init(failRate: Double) { self.failRate = failRate }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["key", "value"]) }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws { self.collector = collector }

    func execute(_ tuple: Tuple) {
        guard let collector else { return }
        if Double.random(in: 0..<1, using: &rng) < failRate {
            collector.fail(tuple)
            return
        }
        let id = tuple.string(at: 0) ?? ""
        let text = tuple.string(at: 1) ?? ""
        collector.emit([.string(id), .string("\(id),\(text)")], anchor: tuple)
        collector.ack(tuple)
    }
}
