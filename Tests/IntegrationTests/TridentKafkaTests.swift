import Foundation
import Gale
import GaleKafka
import GaleRuntime
import Logging
import Synchronization
import Testing

@testable import GaleTrident

/// The transactional layer over the real broker, in local mode: ``KafkaTridentSpout`` (transactional
/// and opaque) into exact states despite failed batches and commits, and ``KafkaTridentSink`` in
/// both modes: idempotent records whose repeats a second stage drops, and Kafka transactions that
/// move the input group's offsets only when they commit.
@Suite(.serialized, .timeLimit(.minutes(3))) struct TridentKafkaTests {
    static var brokers: String { get throws { try TestServices.resolve().kafka } }

    // MARK: - Input

    static let vocabulary = (0..<300).map { "w\($0)" }

    /// A deterministic generator (SplitMix64).
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
    }

    /// A record of the input topic as read back: where it is and what it says.
    struct InputRecord {
        var partition: Int32
        var offset: Int64
        var id: Int
        var text: String
    }

    /// Writes `lines` (`KEY|VALUE`) to `topic` with kcat, then reads them back; returns the records
    /// and each partition's end offset (last offset + 1; the test broker's high watermark is not it).
    static func produce(topic: String, lines: [String]) async throws -> (records: [InputRecord], ends: [Int32: Int64]) {
        let file = NSTemporaryDirectory() + "gale-trident-kcat-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let brokers = try brokers
        let result = try await onBlockingThread {
            try ClusterHarness.run("/usr/bin/kcat", ["-P", "-b", brokers, "-t", topic, "-K|", "-l", file])
        }
        guard result.status == 0 else { throw SmokeTestFailure("kcat failed: \(result.output)") }
        var records: [InputRecord] = []
        var ends: [Int32: Int64] = [:]
        try await KafkaPipelineTests.readAll(
            topic: topic,
            until: { $0.count >= lines.count },
            each: { record in
                let value = String(decoding: record.value ?? [], as: UTF8.self)
                let comma = value.firstIndex(of: ",") ?? value.endIndex
                records.append(
                    InputRecord(
                        partition: record.partition,
                        offset: record.offset,
                        id: Int(value[..<comma]) ?? -1,
                        text: comma < value.endIndex ? String(value[value.index(after: comma)...]) : ""
                    )
                )
                ends[record.partition] = max(ends[record.partition] ?? 0, record.offset + 1)
            }
        )
        return (records, ends)
    }

    /// `ID,TEXT` records become (id, text) tuples.
    static let idTextMapper: KafkaTridentSpoutConfig.Mapper = { record in
        guard let value = record.value, let line = String(validating: value, as: UTF8.self),
            let comma = line.firstIndex(of: ",")
        else { return nil }
        return [.string(String(line[..<comma])), .string(String(line[line.index(after: comma)...]))]
    }

    // MARK: - Store

    /// The topology's store, in memory, keeping every emitter metadata ever written (the layer
    /// deletes those of committed batches): which txid covered which offsets.
    final class RecordingStore: TransactionalStore {
        let base = MemoryTransactionalStore()
        let history = Mutex<[String: [UInt8]]>([:])

        func get(_ path: String) -> [UInt8]? { base.get(path) }
        func put(_ path: String, _ value: [UInt8]) {
            base.put(path, value)
            if path.hasPrefix("emitters/") { history.withLock { $0[path] = value } }
        }
        func delete(_ path: String) { base.delete(path) }
        func children(_ path: String) -> [String] { base.children(path) }

        /// The coordinator's last committed txid.
        var lastCommitted: Int64 {
            (try? MasterBatchCoordinator.progress(in: base).lastCommitted) ?? 0
        }

        /// The last metadata each emitter task of `stream` stored, by txid and task.
        func metadata(stream: String) throws -> [Int64: [Int: KafkaBatchMetadata]] {
            var result: [Int64: [Int: KafkaBatchMetadata]] = [:]
            for (path, bytes) in history.withLock({ $0 }) {
                let parts = path.split(separator: "/")
                guard parts.count == 4, parts[1] == stream, let task = Int(parts[2]), let txid = Int64(parts[3])
                else { continue }
                result[txid, default: [:]][task] = try KafkaBatchMetadata(value: try GaleValue(canonicalBytes: bytes))
            }
            return result
        }

        /// Each partition's end offset after batch `txid` (every task's), `nil` where none is known.
        func ends(stream: String, txid: Int64) throws -> [Int32: Int64] {
            var ends: [Int32: Int64] = [:]
            for metadata in try metadata(stream: stream)[txid]?.values.map({ $0 }) ?? [] {
                for (partition, range) in metadata.partitions { ends[partition] = range.end }
            }
            return ends
        }
    }

    struct RecordingStoreFactory: TransactionalStoreFactory {
        let store: RecordingStore
        func makeStore(topology: String, settings: [String: String]) -> any TransactionalStore { store }
    }

    /// Waits until the last committed batch of `stream` ends at `ends`; returns its txid.
    static func waitUntilCommitted(
        _ store: RecordingStore,
        stream: String,
        ends: [Int32: Int64],
        timeout: Duration = .seconds(100)
    ) async throws -> Int64 {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let last = store.lastCommitted
            if last > 0, try store.ends(stream: stream, txid: last) == ends { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw SmokeTestFailure(
            "stream \(stream): committed up to txid \(store.lastCommitted) ending at "
                + "\(try store.ends(stream: stream, txid: store.lastCommitted)), not \(ends)"
        )
    }

    /// Per partition, the txid of each offset, from the metadata of batches `1...last`; checks that
    /// those batches cover each partition from offset 0 to its end without gap or overlap.
    static func txidsOfOffsets(
        _ store: RecordingStore,
        stream: String,
        last: Int64,
        ends: [Int32: Int64]
    ) throws
        -> [Int32: [Int64]]
    {
        let metadata = try store.metadata(stream: stream)
        var txids: [Int32: [Int64]] = [:]
        for (partition, end) in ends {
            var next: Int64 = 0
            var owners = [Int64](repeating: 0, count: Int(end))
            for txid in 1...last {
                let ranges = metadata[txid]?.values.compactMap { $0.partitions[partition] } ?? []
                #expect(ranges.count <= 1, "partition \(partition) in one task per batch")
                guard let range = ranges.first else {
                    #expect(next == 0, "partition \(partition) unknown in batch \(txid) after it was read")
                    continue
                }
                #expect(range.start == next, "batch \(txid) of partition \(partition) starts where the last ended")
                for offset in range.start..<min(range.end, end) { owners[Int(offset)] = txid }
                next = range.end
            }
            #expect(next == end, "partition \(partition): the committed batches end at \(next), not \(end)")
            txids[partition] = owners
        }
        return txids
    }

    // MARK: - Failures

    struct InjectedFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Fails the first attempt of each record whose id is in `failing`.
    final class Failures: Sendable {
        let failing: Set<Int>
        let failed = Mutex<Set<Int>>([])

        init(failing: Set<Int>) { self.failing = failing }

        func check(_ id: Int) throws {
            guard failing.contains(id), failed.withLock({ $0.insert(id).inserted }) else { return }
            throw InjectedFailure(description: "injected failure of record \(id)")
        }
    }

    /// A state factory whose partition 0 fails the first commit of each txid in `failing`, after
    /// the other partitions may have applied theirs.
    struct FlakyCommits: StateFactory {
        let base: any StateFactory
        let failing: Set<Int64>
        let failed = Shared()

        final class Shared: Sendable {
            let txids = Mutex<Set<Int64>>([])
        }

        func makeBackingMap(stateName: String, partition: Int, partitions: Int) throws(StateError) -> any BackingMap {
            let map = try base.makeBackingMap(stateName: stateName, partition: partition, partitions: partitions)
            return partition == 0 ? Flaky(base: map, failing: failing, failed: failed) : map
        }

        final class Flaky: BackingMap {
            let base: any BackingMap
            let failing: Set<Int64>
            let failed: Shared

            init(base: any BackingMap, failing: Set<Int64>, failed: Shared) {
                self.base = base
                self.failing = failing
                self.failed = failed
            }

            func multiGet(_ keys: [StateKey]) throws(StateError) -> [StoredValue?] { try base.multiGet(keys) }
            func lastCommittedTxid() throws(StateError) -> Int64? { try base.lastCommittedTxid() }
            func commit(_ entries: [(key: StateKey, value: StoredValue)], txid: Int64) throws(StateError) {
                if failing.contains(txid), failed.txids.withLock({ $0.insert(txid).inserted }) {
                    throw .storage("injected commit failure of txid \(txid)")
                }
                try base.commit(entries, txid: txid)
            }
        }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "gale-trident-kafka-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    // MARK: - Word count

    func wordCount(kind: TridentSpoutKind) async throws {
        let started = ContinuousClock.now
        let count = 200_000
        var generator = Generator(state: kind == .opaque ? 17 : 5)
        let lines = (0..<count).map { id -> String in
            let words = (0..<(generator.next(below: 4) + 1)).map { _ in
                Self.vocabulary[generator.next(below: Self.vocabulary.count)]
            }
            return "\(id)|\(id),\(words.joined(separator: " "))"
        }
        let topic = try KafkaPipelineTests.topic("trident-wc-\(kind.rawValue)", partitions: 3)
        let (input, ends) = try await Self.produce(topic: topic, lines: lines)
        #expect(input.count == count)
        let produced = ContinuousClock.now

        // Batches of up to 1,000 records per task: about 135 batches. Records whose first attempt
        // fails (about 2 % of the batches), and commits that fail once on one state partition.
        let failures = Failures(failing: Set((0..<3).map { _ in generator.next(below: count) }))
        var failingCommits = Set<Int64>()
        while failingCommits.count < 3 { failingCommits.insert(Int64(generator.next(below: 100)) + 2) }
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.db").path
        let states = FlakyCommits(base: SQLiteStateFactory(path: path), failing: failingCommits)

        let store = RecordingStore()
        let name = "trident-wc-\(kind.rawValue)-\(UUID().uuidString.prefix(8))"
        var tridentConfig = TridentConfig()
        tridentConfig.storeFactory = RecordingStoreFactory(store: store)
        let topology = TridentTopology(name: name, config: tridentConfig)
        topology.topologyConfig.messageTimeoutSeconds = 10
        var spout = KafkaTridentSpoutConfig(brokers: try Self.brokers, topic: topic, groupID: "g-\(name)")
        spout.kind = kind
        spout.maxRecordsPerBatch = 1_000
        spout.firstOffset = .earliest
        spout.outputFields = ["id", "sentence"]
        spout.mapper = Self.idTextMapper
        topology.newStream("sentences", KafkaTridentSpout(spout, parallelism: 2))
            .each(["id", "sentence"], output: ["word"]) { tuple, emit in
                try failures.check(Int(tuple["id"].stringValue ?? "") ?? -1)
                for word in (tuple["sentence"].stringValue ?? "").split(separator: " ") {
                    emit([.string(String(word))])
                }
            }
            .parallelismHint(2)
            .groupBy(["word"])
            .persistentAggregate(
                "counts",
                states,
                ["word"],
                Count(),
                output: "count",
                kind: kind == .opaque ? .opaque : .transactional
            )
            .parallelismHint(3)
        let cluster = LocalCluster(logger: Logger(label: "test"))
        _ = try cluster.submit(try topology.build())
        let last: Int64
        do {
            last = try await Self.waitUntilCommitted(store, stream: "sentences", ends: ends)
        } catch {
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
        let finished = ContinuousClock.now
        #expect(failures.failed.withLock { $0 } == failures.failing, "every chosen record failed its batch once")
        #expect(states.failed.txids.withLock { $0 } == failingCommits, "every chosen commit failed once")

        // The truth: every word's count, and the last committed batch holding it.
        let txids = try Self.txidsOfOffsets(store, stream: "sentences", last: last, ends: ends)
        var counts: [String: Int64] = [:]
        var lastTxid: [String: Int64] = [:]
        for record in input {
            let txid = txids[record.partition]?[Int(record.offset)] ?? -1
            for word in record.text.split(separator: " ") {
                counts[String(word), default: 0] += 1
                lastTxid[String(word)] = max(lastTxid[String(word)] ?? 0, txid)
            }
        }
        let stored = try SQLiteStateFactory.readAll(path: path, stateName: "counts")
        var mismatches: [String] = []
        for (word, count) in counts {
            let value = stored[[.string(word)]]
            if value?.value != .int(count) {
                mismatches.append("\(word): \(String(describing: value?.value)) != \(count)")
            }
            if value?.txid != lastTxid[word] {
                mismatches.append("\(word): txid \(String(describing: value?.txid)) != \(lastTxid[word] ?? -1)")
            }
        }
        #expect(stored.count == counts.count)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
        print(
            "[\(kind.rawValue) word count] \(count) records in \(last) batches: produced in \(produced - started), "
                + "counted in \(finished - produced)"
        )
    }

    @Test func transactionalKafkaWordCountIsExactDespiteFailedBatchesAndCommits() async throws {
        try await wordCount(kind: .transactional)
    }

    @Test func opaqueKafkaWordCountIsExactDespiteFailedBatchesAndCommits() async throws {
        try await wordCount(kind: .opaque)
    }

    // MARK: - Sinks

    /// Fails once, in each task, the writes of the batches that are that task's `ordinals`-th
    /// batch with records (empty batches open no write, so txids are not chosen ahead).
    final class WriteFailures: Sendable {
        let ordinals: Set<Int>
        /// Per task, the txids written with records, in order.
        let written = Mutex<[Int: [Int64]]>([:])
        let fired = Mutex<Set<[Int64]>>([])

        init(ordinals: Set<Int>) { self.ordinals = ordinals }

        /// Whether this write of `txid` by `task` must fail.
        func fires(_ txid: Int64, task: Int) -> Bool {
            let chosen = written.withLock { written in
                if written[task]?.contains(txid) != true { written[task, default: []].append(txid) }
                return ordinals.contains((written[task]?.firstIndex(of: txid) ?? -1) + 1)
            }
            return chosen && fired.withLock { $0.insert([txid, Int64(task)]).inserted }
        }

        var firedCount: Int { fired.withLock { $0.count } }
    }

    /// A sink whose writer, for the writes its ``WriteFailures`` choose, writes only the first half
    /// of the batch's records (with their real indices) and then fails.
    struct HalfWrittenFailures: TridentSink {
        let base: any TridentSink
        let failures: WriteFailures

        func makeWriter(context: SinkContext) throws -> any BatchWriter {
            Writer(base: try base.makeWriter(context: context), failures: failures, task: context.taskIndex)
        }

        final class Writer: BatchWriter {
            let base: any BatchWriter
            let failures: WriteFailures
            let task: Int

            init(base: any BatchWriter, failures: WriteFailures, task: Int) {
                self.base = base
                self.failures = failures
                self.task = task
            }

            func write(txid: Int64, records: [[GaleValue]]) throws {
                if records.count >= 2, failures.fires(txid, task: task) {
                    try base.write(txid: txid, records: Array(records.prefix(records.count / 2)))
                    throw InjectedFailure(description: "injected failure after half of batch \(txid)")
                }
                try base.write(txid: txid, records: records)
            }

            func close() { base.close() }
        }
    }

    /// Key-value input: `count` records `ID|ID,KEY` with keys `k0`... drawn at random.
    static func keyedLines(_ count: Int, keys: Int, seed: UInt64) -> [String] {
        var generator = Generator(state: seed)
        return (0..<count).map { "\($0)|\($0),k\(generator.next(below: keys))" }
    }

    /// Stage 1 writes with an idempotent producer and fails some writes half-way or after producing
    /// everything; stage 2 reads its topic with `skipRepeats` and counts per key: each record
    /// counts once although the topic holds repeats.
    @Test func idempotentSinkRepeatsAreSkippedByTheNextStage() async throws {
        let count = 30_000
        let lines = Self.keyedLines(count, keys: 500, seed: 23)
        let inputTopic = try KafkaPipelineTests.topic("trident-idem-in", partitions: 3)
        let middle = try KafkaPipelineTests.topic("trident-idem-mid", partitions: 3)
        let (input, ends) = try await Self.produce(topic: inputTopic, lines: lines)
        let started = ContinuousClock.now
        let brokers = try Self.brokers
        let suffix = UUID().uuidString.prefix(8)

        // Stage 1: input -> partitionBy(key) -> idempotent sink, 2 tasks.
        let halfWritten = WriteFailures(ordinals: [3, 8, 14])
        let afterProducing = WriteFailures(ordinals: [5, 11])
        let store1 = RecordingStore()
        var config1 = TridentConfig()
        config1.storeFactory = RecordingStoreFactory(store: store1)
        let stage1 = TridentTopology(name: "stage1-\(suffix)", config: config1)
        stage1.topologyConfig.messageTimeoutSeconds = 10
        var spout1 = KafkaTridentSpoutConfig(brokers: brokers, topic: inputTopic, groupID: "g1-\(suffix)")
        spout1.maxRecordsPerBatch = 1_000
        spout1.firstOffset = .earliest
        spout1.outputFields = ["id", "key"]
        spout1.mapper = Self.idTextMapper
        var sinkConfig = KafkaTridentSinkConfig(brokers: brokers, topic: middle, mode: .idempotent)
        // Each sink task writes its own partition (the one its keys route to), as stage 2 tails
        // the topic: a reader tailing a partition that two producers write at once can skip a
        // batch on the test broker (Tansu 0.6 shows a later batch before an earlier one is stored).
        let fields = KafkaTridentSinkConfig.fields(key: "key", value: "id")
        sinkConfig.mapper = { tuple in
            var record = try fields(tuple)
            record?.partition = Int32(truncatingIfNeeded: GaleValue.fieldsHash(of: [tuple["key"]]) % 2)
            return record
        }
        sinkConfig.beforeCommit = { txid, task in
            if afterProducing.fires(txid, task: task) {
                throw InjectedFailure(description: "injected failure after producing batch \(txid)")
            }
        }
        stage1.newStream("input", KafkaTridentSpout(spout1, parallelism: 2))
            .partitionBy(["key"])
            .parallelismHint(2)
            .sink("out", HalfWrittenFailures(base: KafkaTridentSink(sinkConfig), failures: halfWritten))

        // Stage 2: the middle topic, repeats skipped -> count per key.
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.db").path
        let store2 = RecordingStore()
        var config2 = TridentConfig()
        config2.storeFactory = RecordingStoreFactory(store: store2)
        let stage2 = TridentTopology(name: "stage2-\(suffix)", config: config2)
        stage2.topologyConfig.messageTimeoutSeconds = 10
        var spout2 = KafkaTridentSpoutConfig(brokers: brokers, topic: middle, groupID: "g2-\(suffix)")
        spout2.maxRecordsPerBatch = 1_000
        spout2.firstOffset = .earliest
        spout2.outputFields = ["key", "id"]
        spout2.mapper = { record in
            [
                .string(String(decoding: record.key ?? [], as: UTF8.self)),
                .string(String(decoding: record.value ?? [], as: UTF8.self)),
            ]
        }
        #expect(spout2.skipRepeats)
        stage2.newStream("middle", KafkaTridentSpout(spout2, parallelism: 2))
            .groupBy(["key"])
            .persistentAggregate("counts", SQLiteStateFactory(path: path), ["key"], Count(), output: "count")
            .parallelismHint(2)

        let cluster = LocalCluster(logger: Logger(label: "test"))
        var middleRecords: [KafkaRecord] = []
        var middleEnds: [Int32: Int64] = [:]
        let last2: Int64
        do {
            _ = try cluster.submit(try stage1.build())
            _ = try cluster.submit(try stage2.build())
            _ = try await Self.waitUntilCommitted(store1, stream: "input", ends: ends)
            // Stage 1 is done: every record it wrote is in the middle topic. Read all of it.
            var positions = Set<SinkRecordPosition>()
            var lastArrival = ContinuousClock.now
            try await KafkaPipelineTests.readAll(
                topic: middle,
                until: { _ in positions.count >= count && ContinuousClock.now - lastArrival > .seconds(1) },
                each: { record in
                    middleRecords.append(record)
                    if let position = SinkRecordPosition(headers: record.headers) { positions.insert(position) }
                    middleEnds[record.partition] = max(middleEnds[record.partition] ?? 0, record.offset + 1)
                    lastArrival = ContinuousClock.now
                }
            )
            last2 = try await Self.waitUntilCommitted(store2, stream: "middle", ends: middleEnds)
        } catch {
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
        let finished = ContinuousClock.now

        #expect(halfWritten.firedCount == 2 * 3, "every chosen write of each task stopped half-way once")
        #expect(afterProducing.firedCount == 2 * 2, "every chosen write of each task failed after producing")
        // The middle topic holds repeats: records with the same stage, part, txid and index.
        var seen = Set<SinkRecordPosition>()
        var repeats = 0
        var accepted: [KafkaRecord] = []
        for record in middleRecords.sorted(by: { ($0.partition, $0.offset) < ($1.partition, $1.offset) }) {
            guard let position = SinkRecordPosition(headers: record.headers) else {
                Issue.record("a record of the middle topic without position headers")
                continue
            }
            #expect(position.stage == "stage1-\(suffix)/out")
            if seen.insert(position).inserted { accepted.append(record) } else { repeats += 1 }
        }
        #expect(repeats > 0, "the middle topic holds repeats")
        #expect(accepted.count == count, "one first copy per input record")

        // Each input record counted once per key; each key's txid is the last batch of stage 2
        // that took a first copy of one of its records.
        var truth: [String: Int64] = [:]
        for record in input { truth[record.text, default: 0] += 1 }
        let txids = try Self.txidsOfOffsets(store2, stream: "middle", last: last2, ends: middleEnds)
        var lastTxid: [String: Int64] = [:]
        for record in accepted {
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            lastTxid[key] = max(lastTxid[key] ?? 0, txids[record.partition]?[Int(record.offset)] ?? -1)
        }
        let stored = try SQLiteStateFactory.readAll(path: path, stateName: "counts")
        var mismatches: [String] = []
        for (key, count) in truth {
            let value = stored[[.string(key)]]
            if value?.value != .int(count) {
                mismatches.append("\(key): \(String(describing: value?.value)) != \(count)")
            }
            if value?.txid != lastTxid[key] {
                mismatches.append("\(key): txid \(String(describing: value?.txid)) != \(lastTxid[key] ?? -1)")
            }
        }
        #expect(stored.count == truth.count)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
        print(
            "[idempotent sink] \(count) records, \(middleRecords.count) in the middle topic (\(repeats) repeats), "
                + "\(last2) batches in stage 2, in \(finished - started)"
        )
    }

    /// A Kafka transaction per batch and sink task: the input group's committed offsets move only
    /// when task 0's transaction commits, never with an aborted one, and end at the input's end.
    /// A worker dying after a sink task's Kafka transaction committed and before the coordinator
    /// recorded the batch: the batch is replayed to a new writer that remembers nothing (a fresh
    /// process, an empty store). It must find in Kafka that its transaction of that txid
    /// committed, and skip it; the next txid is written.
    @Test func transactionalSinkSkipsABatchCommittedBeforeACrash() async throws {
        let output = try KafkaPipelineTests.topic("trident-txn-crash", partitions: 1)
        let suffix = UUID().uuidString.prefix(8)
        var config = KafkaTridentSinkConfig(brokers: try Self.brokers, topic: output, mode: .transactional)
        config.mapper = KafkaTridentSinkConfig.fields(key: "key", value: "value")
        func context() -> SinkContext {
            SinkContext(
                topologyName: "trident-crash-\(suffix)",
                sinkName: "out",
                taskIndex: 1,
                tasks: 2,
                fields: ["key", "value"],
                upstreamStreams: [],
                store: MemoryTransactionalStore(),
                settings: [:]
            )
        }
        func batch(_ txid: Int64) -> [[GaleValue]] {
            (0..<10).map { [.string("k\($0)"), .string("txid \(txid) record \($0)")] }
        }
        let sink = KafkaTridentSink(config)
        let first = try sink.makeWriter(context: context())
        try first.write(txid: 1, records: batch(1))
        try first.write(txid: 2, records: batch(2))
        // The crash: the writer is gone, and with it all it knew.
        first.close()

        let second = try sink.makeWriter(context: context())
        defer { second.close() }
        try second.write(txid: 2, records: batch(2))
        try second.write(txid: 3, records: batch(3))

        var values: [String] = []
        try await KafkaPipelineTests.readAll(topic: output, until: { $0.count >= 30 }) { record in
            values.append(String(decoding: record.value ?? [], as: UTF8.self))
        }
        // Anything written twice would be read by now: the last transaction committed after it.
        let counts = Dictionary(values.map { ($0, 1) }, uniquingKeysWith: +)
        #expect(values.count == 30)
        #expect(
            counts.values.allSatisfy { $0 == 1 },
            "records written twice: \(counts.filter { $0.value > 1 }.keys.sorted())"
        )
        #expect(Set(values) == Set((1...3).flatMap { txid in (0..<10).map { "txid \(txid) record \($0)" } }))
    }

    @Test func transactionalSinkMovesInputOffsetsOnlyWithCommittedTransactions() async throws {
        let count = 20_000
        let lines = Self.keyedLines(count, keys: 500, seed: 29)
        let inputTopic = try KafkaPipelineTests.topic("trident-txn-in", partitions: 3)
        let output = try KafkaPipelineTests.topic("trident-txn-out", partitions: 3)
        let (_, ends) = try await Self.produce(topic: inputTopic, lines: lines)
        let started = ContinuousClock.now
        let brokers = try Self.brokers
        let suffix = UUID().uuidString.prefix(8)
        let group = "g-txn-\(suffix)"
        var observerConfig = KafkaConfig(bootstrapServers: [brokers])
        observerConfig.groupID = group
        let observer = try KafkaConsumer(config: observerConfig)
        defer { observer.close() }
        let partitions = ends.keys.sorted().map { KafkaTopicPartition(topic: inputTopic, partition: $0) }
        let committedOffsets: @Sendable () throws -> [Int32: Int64] = {
            var offsets: [Int32: Int64] = [:]
            for entry in try observer.committed(partitions) where !entry.offset.isLogical {
                offsets[entry.partition] = entry.offset.rawValue
            }
            return offsets
        }

        // Failures between producing and committing: the 3rd and 8th transactions of task 0, the
        // 5th and 10th of task 1 (empty batches open no transaction, so txids are not chosen ahead).
        let failingTransactions: [Int: Set<Int>] = [0: [3, 8], 1: [5, 10]]
        let transactions = Mutex<[Int: [Int64]]>([:])
        let fired = Mutex<Set<[Int64]>>([])
        // What task 0 saw committed just before committing each txid.
        let beforeCommit = Mutex<[(txid: Int64, offsets: [Int32: Int64])]>([])
        let store = RecordingStore()
        var config = TridentConfig()
        config.storeFactory = RecordingStoreFactory(store: store)
        let topology = TridentTopology(name: "trident-txn-\(suffix)", config: config)
        topology.topologyConfig.messageTimeoutSeconds = 10
        var spout = KafkaTridentSpoutConfig(brokers: brokers, topic: inputTopic, groupID: group)
        spout.maxRecordsPerBatch = 1_000
        spout.firstOffset = .committedOrEarliest
        spout.commitGroupOffsets = false
        spout.outputFields = ["id", "key"]
        spout.mapper = Self.idTextMapper
        var sinkConfig = KafkaTridentSinkConfig(brokers: brokers, topic: output, mode: .transactional)
        sinkConfig.mapper = KafkaTridentSinkConfig.fields(key: "key", value: "id")
        sinkConfig.beforeCommit = { txid, task in
            if task == 0 {
                let offsets = try committedOffsets()
                beforeCommit.withLock { $0.append((txid, offsets)) }
            }
            let fails = transactions.withLock { transactions in
                if transactions[task]?.last != txid { transactions[task, default: []].append(txid) }
                let ordinal = transactions[task]?.count ?? 0
                return failingTransactions[task]?.contains(ordinal) == true
            }
            if fails, fired.withLock({ $0.insert([txid, Int64(task)]).inserted }) {
                throw InjectedFailure(description: "injected failure before committing batch \(txid)")
            }
        }
        topology.newStream("input", KafkaTridentSpout(spout, parallelism: 2))
            .partitionBy(["key"])
            .parallelismHint(2)
            .sink("out", KafkaTridentSink(sinkConfig))

        // After each commit the coordinator records, the committed offsets, and the txids committed
        // before and after reading them.
        var observations: [(from: Int64, to: Int64, offsets: [Int32: Int64])] = []
        let cluster = LocalCluster(logger: Logger(label: "test"))
        let last: Int64
        do {
            _ = try cluster.submit(try topology.build())
            let deadline = ContinuousClock.now + .seconds(100)
            var seen: Int64 = 0
            while true {
                let from = store.lastCommitted
                if from != seen {
                    seen = from
                    let offsets = try await onBlockingThread { try committedOffsets() }
                    observations.append((from, store.lastCommitted, offsets))
                }
                if from > 0, try store.ends(stream: "input", txid: from) == ends { break }
                guard ContinuousClock.now < deadline else { throw SmokeTestFailure("committed up to \(from) only") }
                try await Task.sleep(for: .milliseconds(20))
            }
            last = seen
        } catch {
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
        let finished = ContinuousClock.now

        let failed = fired.withLock { $0 }
        #expect(failed.count == 4, "every chosen transaction failed once before its commit: \(failed)")
        func endsAfter(_ txid: Int64) throws -> [Int32: Int64] {
            txid < 1 ? [:] : try store.ends(stream: "input", txid: txid)
        }
        // Task 0 saw, before committing txid t (first attempt or replay), exactly the offsets of
        // t - 1: an aborted transaction moved nothing.
        let seenByTask0 = beforeCommit.withLock { $0 }
        for (txid, offsets) in seenByTask0 {
            #expect(try offsets == endsAfter(txid - 1), "before committing batch \(txid)")
        }
        for failure in failed where failure[1] == 0 {
            #expect(
                seenByTask0.filter { $0.txid == failure[0] }.count == 2,
                "batch \(failure[0]) was committed after an aborted attempt"
            )
        }
        // After each recorded commit, the offsets are those of a batch whose transaction committed.
        var candidates: [Int64: [Int32: Int64]] = [:]
        for txid in 0...(last + 1) { candidates[txid] = try endsAfter(txid) }
        for observation in observations {
            let allowed = (observation.from...(observation.to + 1)).compactMap { candidates[$0] }
            #expect(allowed.contains(observation.offsets), "after commit \(observation.from): \(observation.offsets)")
        }
        #expect(observations.count >= 3, "commits were observed")
        // In the end: the input's end offsets.
        let final = try await onBlockingThread { try committedOffsets() }
        #expect(final == ends, "committed \(final), end offsets \(ends)")
        print("[transactional sink] \(count) records in \(last) batches in \(finished - started)")
    }
}
