// gale-trident-bench: transactional word count (GaleTrident, SQLite state) against the
// at-least-once word count (plain spout and bolts, acking on), on the same sentences, in one run.
//
//   gale-trident-bench [--sentences N] [--batch-sizes 100,1000,10000] [--in-flight K] [--vocabulary W]
//
// Prints, per run, `mode=... batch=... sentences=N seconds=S sentences_per_sec=R` and for the
// transactional runs the commit latency (commit tuple emitted to acked, which includes the
// SQLite transaction) and the batch latency (opened to committed), p50 and p99, then the ratio
// of each transactional rate to the at-least-once one.
import Foundation
import Gale
import GaleRuntime
import GaleTrident
import Logging
import Synchronization

func option(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let index = args.firstIndex(of: name), index + 1 < args.count else { return nil }
    return args[index + 1]
}

let sentenceCount = option("--sentences").flatMap(Int.init) ?? 200_000
let batchSizes = (option("--batch-sizes") ?? "100,1000,10000").split(separator: ",").compactMap { Int($0) }
let inFlight = option("--in-flight").flatMap(Int.init) ?? TridentConfig().maxBatchesInFlight
let vocabularySize = max(1, option("--vocabulary").flatMap(Int.init) ?? 1_000)

// Sentences of 5 words from a vocabulary of `vocabularySize` words, 1,000 unless told
// (SplitMix64, fixed seed). A batch updates the state of each distinct word it holds: about 393
// of a 1,000-word vocabulary for a batch of 100 sentences, 993 for 1,000 sentences.
let sentences: [String] = {
    var seed: UInt64 = 42
    func nextRandom() -> UInt64 {
        seed &+= 0x9E37_79B9_7F4A_7C15
        var z = seed
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    let vocabulary = (0..<vocabularySize).map { "word\($0)" }
    return (0..<sentenceCount).map { _ in
        (0..<5).map { _ in vocabulary[Int(nextRandom() % UInt64(vocabularySize))] }.joined(separator: " ")
    }
}()

// MARK: - At-least-once word count

final class Done: Sendable {
    let acked = Atomic<Int>(0)
}

final class SentenceSpout: Spout {
    let sentences: [String]
    let done: Done
    var next = 0
    var collector: (any SpoutOutputCollector)?

    init(sentences: [String], done: Done) {
        self.sentences = sentences
        self.done = done
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["sentence"]) }
    func open(context: TopologyContext, collector: any SpoutOutputCollector) { self.collector = collector }
    func nextTuple() {
        guard next < sentences.count else { return }
        collector?.emit([.string(sentences[next])], messageId: next)
        next += 1
    }
    func ack(_ messageId: any Sendable) { done.acked.add(1, ordering: .relaxed) }
    func fail(_ messageId: any Sendable) {
        if let index = messageId as? Int { collector?.emit([.string(sentences[index])], messageId: index) }
    }
}

final class Split: Bolt {
    var collector: (any OutputCollector)?
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["word"]) }
    func prepare(context: TopologyContext, collector: any OutputCollector) { self.collector = collector }
    func execute(_ tuple: Tuple) {
        for word in (tuple.string(at: 0) ?? "").split(separator: " ") {
            collector?.emit([.string(String(word))], anchor: tuple)
        }
        collector?.ack(tuple)
    }
}

final class CountWords: Bolt {
    var collector: (any OutputCollector)?
    var counts: [String: Int] = [:]
    func prepare(context: TopologyContext, collector: any OutputCollector) { self.collector = collector }
    func execute(_ tuple: Tuple) {
        if let word = tuple.string(at: 0) { counts[word, default: 0] += 1 }
        collector?.ack(tuple)
    }
}

let logger: Logger = {
    var logger = Logger(label: "gale.trident-bench")
    logger.logLevel = .warning
    return logger
}()

func atLeastOnce() async throws -> (rate: Double, cpu: Double) {
    let done = Done()
    let list = sentences
    let builder = TopologyBuilder(name: "wordcount-ack")
    builder.setSpout("sentences") { SentenceSpout(sentences: list, done: done) }
    builder.setBolt("split", parallelism: 2) { Split() }.shuffleGrouping("sentences")
    builder.setBolt("count", parallelism: 2) { CountWords() }.fieldsGrouping("split", fields: ["word"])
    builder.config.maxSpoutPending = 10_000
    let cluster = LocalCluster(logger: logger)
    let start = ContinuousClock.now
    let startCPU = cpuSeconds()
    let running = try cluster.submit(try builder.build())
    _ = await running.waitUntil(timeout: .seconds(600), interval: .milliseconds(2)) {
        done.acked.load(ordering: .relaxed) >= list.count
    }
    let seconds = (ContinuousClock.now - start).inSeconds
    let cpu = cpuSeconds() - startCPU
    await cluster.shutdown()
    return (Double(list.count) / seconds, cpu * 1_000_000 / Double(list.count))
}

// MARK: - Transactional word count

func transactional(
    batchSize: Int,
    directory: String
) async throws -> (rate: Double, cpu: Double, metrics: CoordinatorMetrics) {
    let name = "trident-wordcount-\(batchSize)-\(UUID().uuidString.prefix(6))"
    var config = TridentConfig()
    config.maxBatchesInFlight = inFlight
    config.maxBatchSize = max(batchSize, 1)
    let topology = TridentTopology(name: name, config: config)
    topology.topologyConfig.messageTimeoutSeconds = 60
    let spout = FixedBatchSpout(
        fields: ["sentence"],
        records: sentences.map { [.string($0)] },
        batchSize: batchSize
    )
    topology.newStream("sentences", spout)
        .each(["sentence"], output: ["word"]) { tuple, emit in
            for word in (tuple[0].stringValue ?? "").split(separator: " ") { emit([.string(String(word))]) }
        }
        .parallelismHint(2)
        .groupBy(["word"])
        .persistentAggregate(
            "counts",
            SQLiteStateFactory(path: "\(directory)/\(name).db"),
            ["word"],
            Count(),
            output: "count"
        )
        .parallelismHint(2)
    let batches = Int64((sentences.count + batchSize - 1) / batchSize)
    let metrics = CoordinatorMetrics.of(name)
    let cluster = LocalCluster(logger: logger)
    let start = ContinuousClock.now
    let startCPU = cpuSeconds()
    let running = try cluster.submit(try topology.build())
    _ = await running.waitUntil(timeout: .seconds(600), interval: .milliseconds(2)) { metrics.lastCommitted >= batches }
    let seconds = (ContinuousClock.now - start).inSeconds
    let cpu = cpuSeconds() - startCPU
    await cluster.shutdown()
    return (Double(sentences.count) / seconds, cpu * 1_000_000 / Double(sentences.count), metrics)
}

/// CPU time (user and system) this process has used so far, in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
}

func milliseconds(_ duration: Duration?) -> String {
    guard let duration else { return "-" }
    return String(format: "%.2f", duration.inSeconds * 1000)
}

let directory = NSTemporaryDirectory() + "gale-trident-bench-\(UUID().uuidString.prefix(8))"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }

// Each measurement three times, the median counting (runs of a second or two vary on a shared
// 2-core machine).
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

var baselines: [(rate: Double, cpu: Double)] = []
for _ in 0..<3 { baselines.append(try await atLeastOnce()) }
baselines.sort { $0.rate < $1.rate }
let baseline = baselines[1].rate
print(
    String(
        format: "mode=at-least-once sentences=%d sentences_per_sec=%.0f cpu_us_per_sentence=%.2f",
        sentenceCount,
        baseline,
        baselines[1].cpu
    ) + " runs=\(baselines.map { String(format: "%.0f", $0.rate) }.joined(separator: ","))"
)
for batchSize in batchSizes {
    var runs: [(rate: Double, cpu: Double, metrics: CoordinatorMetrics)] = []
    for _ in 0..<3 { runs.append(try await transactional(batchSize: batchSize, directory: directory)) }
    runs.sort { $0.rate < $1.rate }
    let (rate, cpu, metrics) = runs[1]
    print(
        String(
            format:
                "mode=transactional batch=%d sentences=%d sentences_per_sec=%.0f ratio=%.2f cpu_us_per_sentence=%.2f ",
            batchSize,
            sentenceCount,
            rate,
            rate / baseline,
            cpu
        )
            + "commit_p50_ms=\(milliseconds(metrics.commitLatency(quantile: 0.5))) "
            + "commit_p99_ms=\(milliseconds(metrics.commitLatency(quantile: 0.99))) "
            + "batch_p50_ms=\(milliseconds(metrics.batchLatency(quantile: 0.5))) "
            + "batch_p99_ms=\(milliseconds(metrics.batchLatency(quantile: 0.99))) replays=\(metrics.replays) "
            + "runs=\(runs.map { String(format: "%.0f", $0.rate) }.joined(separator: ","))"
    )
}
