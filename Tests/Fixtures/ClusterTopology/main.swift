// The topology the cluster integration tests submit: a word count over a finite,
// deterministic input that records every acked message id and the counts on disk (other
// topologies with `test.mode`: trident, trident-kafka, chain1-3, kafka-hold).
//
// Settings (`--config key=value`):
//   test.messages   number of messages (default 2000); message i's sentence is `ClusterInput.sentence(i)`
//   test.rate       messages per second per spout task (default 200; 0 = as fast as possible)
//   test.output     directory for acked-<task>.txt (one acked id per line), counts-<task>.json and
//                   settings-<task>.json (the cluster settings each spout task saw, see ClusterSettingsFile)
import CoreMetrics
import Foundation
import Gale
import GaleKafka
import GaleMain
import GaleTrident
import Logging
import Synchronization

enum ClusterInput {
    static let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
    ]

    /// Message `i`'s sentence: five words chosen deterministically from `i`.
    static func sentence(_ i: Int) -> String {
        (0..<5).map { words[(i * 7 + $0 * 3 + i / 11) % words.count] }.joined(separator: " ")
    }
}

/// Appends lines to a file with one `write` per line, so a `kill -9` loses nothing written.
final class LineFile {
    private let fd: Int32

    init?(_ path: String) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if fd < 0 { return nil }
    }

    func append(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    deinit { close(fd) }
}

/// Emits this task's share of the messages (id % tasks == index), skipping ids acked before a
/// restart; failed ids are emitted again. Ids are generated as they go, so a huge
/// `test.messages` costs no memory.
final class FiniteSentenceSpout: Spout {
    private var collector: (any SpoutOutputCollector)?
    private var next = 0
    private var step = 1
    private var messages = 0
    private var done = Set<Int>()
    private var retry: [Int] = []
    private var acked: LineFile?
    private var interval: UInt64 = 0
    private var nextAt: UInt64 = 0

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["sentence"]) }

    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {
        self.collector = collector
        let config = context.config.custom
        messages = Int(config["test.messages"] ?? "") ?? 2000
        let rate = Double(config["test.rate"] ?? "") ?? 200
        interval = rate > 0 ? UInt64(1e9 / rate) : 0
        let output = config["test.output"] ?? FileManager.default.currentDirectoryPath
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let path = "\(output)/acked-\(context.taskId).txt"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n") { if let id = Int(line) { done.insert(id) } }
        }
        next = context.taskIndex
        step = context.componentTasks.count
        acked = LineFile(path)
        try ClusterSettingsFile.write(config, to: "\(output)/settings-\(context.taskId).json")
    }

    /// The next id to emit, or `nil` when none is left.
    private func take() -> Int? {
        if let id = retry.popLast() { return id }
        while next < messages {
            let id = next
            next += step
            if !done.contains(id) { return id }
        }
        return nil
    }

    func nextTuple() {
        guard !retry.isEmpty || next < messages else { return }
        if interval > 0 {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now >= nextAt else { return }
            nextAt = max(nextAt + interval, now - interval * 10)
        }
        guard let id = take() else { return }
        collector?.emit([.string(ClusterInput.sentence(id))], messageId: id)
    }

    func ack(_ messageId: any Sendable) {
        if let id = messageId as? Int { acked?.append(String(id)) }
    }

    func fail(_ messageId: any Sendable) {
        if let id = messageId as? Int { retry.append(id) }
    }
}

final class SplitSentence: BasicBolt {
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["word"]) }

    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        guard let sentence = tuple.string(at: 0) else { return }
        for word in sentence.split(separator: " ") { collector.emit([.string(String(word))]) }
    }
}

/// Counts words and writes its counts to counts-<task>.json every second and at cleanup; logs
/// `count tick` at debug on every tick (the log-level tests look for it).
///
/// Its metrics (the supervisor's `/metrics` shows them): `test_words_total`, a counter of the
/// Gale API (``ComponentMetrics``), and `test_direct_words_total`, a swift-metrics `Counter`
/// the component makes itself.
final class CountWords: BasicBolt {
    private var counts: [String: Int] = [:]
    private var path = ""
    private var dirty = false
    private var words = MetricCounter.disabled
    private var direct: CoreMetrics.Counter?
    /// Not labelled with the component's id: a component's log level reaches it because it logs
    /// from the component's task.
    private let logger = Logger(label: "gale.test.words")

    func prepare(context: TopologyContext) throws {
        let output = context.config.custom["test.output"] ?? FileManager.default.currentDirectoryPath
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        path = "\(output)/counts-\(context.taskId).json"
        words = context.metrics.counter("test_words_total")
        direct = CoreMetrics.Counter(label: "test_direct_words_total", dimensions: [("task", String(context.taskId))])
    }

    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        if tuple.isTick {
            logger.debug("count tick: \(counts.count) words")
            save()
            return
        }
        guard let word = tuple.string(at: 0) else { return }
        counts[word, default: 0] += 1
        dirty = true
        words.increment()
        direct?.increment()
    }

    func cleanup() { save() }

    private func save() {
        guard dirty, let data = try? JSONEncoder().encode(counts) else { return }
        try? data.write(to: URL(fileURLWithPath: path), options: .atomic)
        dirty = false
    }
}

/// What the cluster told this worker: the `gale.*` settings in a task's context, and the ZooKeeper
/// servers the topology builder was given (copied into `test.builder.zookeeper`).
enum ClusterSettingsFile {
    static let keys = ["gale.zookeeper.servers", "gale.topology.id", "test.builder.zookeeper"]

    static func write(_ custom: [String: String], to path: String) throws {
        let seen = custom.filter { keys.contains($0.key) }
        try JSONEncoder().encode(seen).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

func makeTopology(settings: [String: String] = [:]) throws -> Topology {
    let builder = TopologyBuilder(name: "cluster-wordcount")
    builder.setSpout("sentences", parallelism: 2) { FiniteSentenceSpout() }.maxSpoutPending(200)
    builder.setBolt("split", parallelism: 3) { SplitSentence() }.shuffleGrouping("sentences")
    builder.setBolt("count", parallelism: 3) { CountWords() }.fieldsGrouping("split", fields: ["word"]).tickFrequency(
        seconds: 1
    )
    var config = TopologyConfig()
    config.ackers = 2
    config.messageTimeoutSeconds = 10
    config.workers = 4
    if let servers = settings["gale.zookeeper.servers"] { config.custom["test.builder.zookeeper"] = servers }
    return try builder.build().with(config: config)
}

/// The transactional word count (`--config test.mode=trident`): batches of `test.batch` (default
/// 100) of the same sentences, split, grouped and counted exactly once into the SQLite state
/// `counts` at `<test.output>/trident.db`; the coordinator's progress lives in ZooKeeper under
/// the name `test.trident.name`. Batches open at most every `test.interval.ms` (default 20).
func makeTridentTopology(settings: [String: String]) throws -> Topology {
    let messages = Int(settings["test.messages"] ?? "") ?? 2000
    let batch = Int(settings["test.batch"] ?? "") ?? 100
    var config = TridentConfig()
    config.batchEmitInterval = .milliseconds(Int(settings["test.interval.ms"] ?? "") ?? 20)
    let topology = TridentTopology(name: settings["test.trident.name"] ?? "trident-wordcount", config: config)
    topology.topologyConfig.messageTimeoutSeconds = 6
    topology.topologyConfig.workers = 2
    let spout = FixedBatchSpout(
        fields: ["sentence"],
        records: (0..<messages).map { [.string(ClusterInput.sentence($0))] },
        batchSize: batch,
        parallelism: 2
    )
    topology.newStream("sentences", spout)
        .each(["sentence"], output: ["word"]) { tuple, emit in
            for word in (tuple["sentence"].stringValue ?? "").split(separator: " ") { emit([.string(String(word))]) }
        }
        .parallelismHint(2)
        .groupBy(["word"])
        .persistentAggregate(
            "counts",
            SQLiteStateFactory(path: (settings["test.output"] ?? "/tmp") + "/trident.db"),
            ["word"],
            Count(),
            output: "count"
        )
        .parallelismHint(2)
    return try topology.build()
}

/// The transactional word count over Kafka (`--config test.mode=trident-kafka`): lines of
/// `kafka.input` (a KafkaTridentSpout, `trident.kind` transactional or opaque, 2 tasks) split into
/// words and counted into the SQLite state `counts` at `<test.output>/kafka-counts.db` (a state of
/// the same kind); one batch in 50, chosen at random, fails once in the split.
func makeKafkaTridentTopology(settings: [String: String]) throws -> Topology {
    let brokers = settings["kafka.brokers"] ?? "127.0.0.1:9092"
    let name = settings["test.trident.name"] ?? "trident-kafka"
    let opaque = settings["trident.kind"] == "opaque"
    let topology = TridentTopology(name: name)
    topology.topologyConfig.messageTimeoutSeconds = 6
    topology.topologyConfig.workers = 2
    var spout = KafkaTridentSpoutConfig(brokers: brokers, topic: settings["kafka.input"] ?? "", groupID: name)
    spout.maxRecordsPerBatch = 1_000
    spout.firstOffset = .earliest
    spout.kind = opaque ? .opaque : .transactional
    spout.outputFields = ["line"]
    spout.mapper = { record in [.string(String(decoding: record.value ?? [], as: UTF8.self))] }
    let failed = FailedOnce()
    topology.newStream("lines", KafkaTridentSpout(spout, parallelism: 2))
        .each(["line"], output: ["word"]) { tuple, emit in
            let line = tuple["line"].stringValue ?? ""
            if failed.shouldFail(line) { throw InjectedFailure() }
            for word in line.split(separator: " ") { emit([.string(String(word))]) }
        }
        .parallelismHint(2)
        .groupBy(["word"])
        .persistentAggregate(
            "counts",
            SQLiteStateFactory(path: (settings["test.output"] ?? "/tmp") + "/kafka-counts.db"),
            ["word"],
            Count(),
            output: "count",
            kind: opaque ? .opaque : .transactional
        )
        .parallelismHint(2)
    return try topology.build()
}

/// Fails a line the first time it is seen, for about one line in 50,000 (about one batch in 50
/// at 1,000 lines per batch), in this process.
final class FailedOnce: Sendable {
    private let seen = Mutex<Set<String>>([])

    func shouldFail(_ line: String) -> Bool {
        guard line.hashValue % 50_000 == 0 else { return false }
        return seen.withLock { $0.insert(line).inserted }
    }
}

struct InjectedFailure: Error, CustomStringConvertible {
    var description: String { "injected failure" }
}

/// Kills its own process (kill -9) right after a write of `txid` returned, the first time only
/// (a marker file remembers): the batch's output is in Kafka, its commit never happened.
struct CrashAfterWrite: TridentSink {
    let base: any TridentSink
    let txid: Int64
    let marker: String

    func makeWriter(context: SinkContext) throws -> any BatchWriter {
        Writer(base: try base.makeWriter(context: context), txid: txid, marker: marker)
    }

    final class Writer: BatchWriter {
        let base: any BatchWriter
        let txid: Int64
        let marker: String

        init(base: any BatchWriter, txid: Int64, marker: String) {
            self.base = base
            self.txid = txid
            self.marker = marker
        }

        func write(txid: Int64, records: [[GaleValue]]) throws {
            try base.write(txid: txid, records: records)
            if txid == self.txid, !records.isEmpty, !FileManager.default.fileExists(atPath: marker) {
                FileManager.default.createFile(atPath: marker, contents: Data())
                kill(getpid(), SIGKILL)
            }
        }

        func close() { base.close() }
    }
}

/// The exactly-once chain (`--config test.mode=chain1|chain2|chain3`): input records `ID,WORD`
/// on `chain.input` are parsed (stage 1, to `chain.t1`), upper-cased (stage 2, to `chain.t2`)
/// and counted per word (stage 3, SQLite `counts` at `<test.output>/chain.db`). Between stages
/// the idempotent Kafka sink marks each record with its stage, txid and position, and the next
/// stage's spout skips repeats (`chain.skip=false` turns that off, to see the test fail). Stage 2
/// kills itself after writing batch `chain.crash.txid`.
func makeChainTopology(stage: String, settings: [String: String]) throws -> Topology {
    let brokers = settings["kafka.brokers"] ?? "127.0.0.1:9092"
    let name = (settings["test.trident.name"] ?? "chain") + "-" + stage
    let output = settings["test.output"] ?? "/tmp"
    var config = TridentConfig()
    config.batchEmitInterval = .milliseconds(20)
    let topology = TridentTopology(name: name, config: config)
    topology.topologyConfig.messageTimeoutSeconds = 6
    topology.topologyConfig.workers = 1
    func spout(
        _ topic: String,
        fields: [String],
        _ mapper: @escaping KafkaTridentSpoutConfig.Mapper
    ) -> KafkaTridentSpout {
        var spout = KafkaTridentSpoutConfig(brokers: brokers, topic: topic, groupID: name)
        spout.maxRecordsPerBatch = 200
        spout.skipRepeats = settings["chain.skip"] != "false"
        spout.firstOffset = .earliest
        spout.outputFields = fields
        spout.mapper = mapper
        return KafkaTridentSpout(spout, parallelism: 2)
    }
    // Each of the two writer tasks (the stream is partitioned by id) writes one partition of the
    // two: a reader tailing a partition that two producers write at once can skip a batch on the
    // test broker (Tansu 0.6 shows a later batch before an earlier one is stored).
    func sink(_ topic: String) -> KafkaTridentSink {
        var sink = KafkaTridentSinkConfig(brokers: brokers, topic: topic, mode: .idempotent)
        let fields = KafkaTridentSinkConfig.fields(key: "id", value: "word")
        sink.mapper = { tuple in
            var record = try fields(tuple)
            record?.partition = Int32(truncatingIfNeeded: GaleValue.fieldsHash(of: [tuple["id"]]) % 2)
            return record
        }
        return KafkaTridentSink(sink)
    }
    let keyAndValue: KafkaTridentSpoutConfig.Mapper = { record in
        [
            .string(String(decoding: record.key ?? [], as: UTF8.self)),
            .string(String(decoding: record.value ?? [], as: UTF8.self)),
        ]
    }
    switch stage {
    case "chain1":
        let lines = spout(settings["chain.input"] ?? "", fields: ["line"]) { record in
            [.string(String(decoding: record.value ?? [], as: UTF8.self))]
        }
        topology.newStream("lines", lines)
            .map(["line"], output: ["id", "word"]) { tuple in
                let parts = (tuple["line"].stringValue ?? "").split(separator: ",", maxSplits: 1)
                return [.string(String(parts.first ?? "")), .string(String(parts.last ?? ""))]
            }
            .partitionBy(["id"])
            .parallelismHint(2)
            .sink("parsed", sink(settings["chain.t1"] ?? ""))
    case "chain2":
        let crash = Int64(settings["chain.crash.txid"] ?? "") ?? -1
        topology.newStream("parsed", spout(settings["chain.t1"] ?? "", fields: ["id", "word"], keyAndValue))
            .map(["id", "word"], output: ["id", "word"]) { tuple in
                [tuple["id"], .string((tuple["word"].stringValue ?? "").uppercased())]
            }
            .partitionBy(["id"])
            .parallelismHint(2)
            .sink(
                "enriched",
                CrashAfterWrite(base: sink(settings["chain.t2"] ?? ""), txid: crash, marker: output + "/crashed")
            )
    default:
        topology.newStream("enriched", spout(settings["chain.t2"] ?? "", fields: ["id", "word"], keyAndValue))
            .groupBy(["word"])
            .persistentAggregate(
                "counts",
                SQLiteStateFactory(path: output + "/chain.db"),
                ["word"],
                Count(),
                output: "count"
            )
            .parallelismHint(2)
    }
    return try topology.build()
}

/// Fails the record whose value is `hold` for as long as the file `<test.output>/hold` exists,
/// and acks every other record: the partition's committed offset stays before it meanwhile.
final class HoldBolt: Bolt {
    private var collector: (any OutputCollector)?
    private var holdFile = ""

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {}

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
        holdFile = (context.config.custom["test.output"] ?? "/tmp") + "/hold"
    }

    func execute(_ tuple: Tuple) {
        if case .bytes(let value) = tuple[4], value == Array("hold".utf8),
            FileManager.default.fileExists(atPath: holdFile)
        {
            collector?.fail(tuple)
        } else {
            collector?.ack(tuple)
        }
    }
}

/// A Kafka spout on `test.topic` at `test.brokers` (partition 0 of one) into ``HoldBolt``
/// (`--config test.mode=kafka-hold`): a partition that does not commit while a record is held.
func makeKafkaHoldTopology(settings: [String: String]) throws -> Topology {
    let topic = settings["test.topic"] ?? "hold"
    let brokers = settings["test.brokers"] ?? "127.0.0.1:9092"
    var config = KafkaSpoutConfig(brokers: brokers, topic: topic, groupID: "hold-" + topic)
    config.retry = RetryPolicy(initialDelay: .milliseconds(100), maxDelay: .milliseconds(500), maxRetries: 1_000_000)
    let builder = TopologyBuilder(name: "kafka-hold")
    builder.setSpout("records", parallelism: 1) { [config] in KafkaSpout(config) }
    builder.setBolt("hold", parallelism: 1) { HoldBolt() }.shuffleGrouping("records")
    return try builder.build()
}

await TopologyCommand.main(arguments: nil) { settings in
    switch settings["test.mode"] {
    case "kafka-hold": [try makeKafkaHoldTopology(settings: settings)]
    case "trident": [try makeTridentTopology(settings: settings)]
    case "trident-kafka": [try makeKafkaTridentTopology(settings: settings)]
    case "chain1", "chain2", "chain3": [try makeChainTopology(stage: settings["test.mode"] ?? "", settings: settings)]
    default: [try makeTopology(settings: settings)]
    }
}
