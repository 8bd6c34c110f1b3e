// gale-window-bench: a windowed bolt's memory and speed over a long event-time window.
//
//   gale-window-bench [--store sqlite|memory] [--window-minutes 60] [--slide-minutes 10]
//                     [--rate 10000] [--event-minutes 90] [--bytes 100]
//
// A spout emits `rate` tuples per second of event time (a timestamp field, milliseconds) for
// `event-minutes` of event time, as fast as the topology takes them (acking on), each with a
// payload of `bytes` bytes; a windowed bolt keeps a sliding window of `window-minutes` every
// `slide-minutes` (event time, 1 s of lag) in the chosen store and reads every tuple of each
// window. Event time runs faster than the clock, so an hour's window at 10,000 tuples/s (36 M
// tuples) fills in minutes. Prints the resident memory every 10 s and at the end
// `store=... tuples=N seconds=S tuples_per_sec=R windows=W largest_window=L max_evaluation_s=E
// rss_max_mb=M`.
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

let storeName = option("--store") ?? "sqlite"
let windowMinutes = option("--window-minutes").flatMap(Int64.init) ?? 60
let slideMinutes = option("--slide-minutes").flatMap(Int64.init) ?? 10
let rate = option("--rate").flatMap(Int64.init) ?? 10_000
let eventMinutes = option("--event-minutes").flatMap(Int64.init) ?? 90
let payloadBytes = option("--bytes").flatMap(Int.init) ?? 100
let tupleCount = Int(rate * eventMinutes * 60)
let lastEnd = eventMinutes * 60_000

/// Prints `line` at once (stdout may be a pipe).
func report(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// The resident set in MB (from /proc/self/statm).
func residentMegabytes() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}

/// What the bolt saw.
final class Progress: Sendable {
    let windows = Atomic<Int>(0)
    let largest = Atomic<Int>(0)
    let newestEnd = Atomic<Int64>(0)
    let slowestNanos = Atomic<UInt64>(0)
    let acked = Atomic<Int>(0)
}

/// Tuple `i` has time `i * 1000 / rate` ms; after the last one, a tuple past the last window's
/// end moves the watermark over it.
final class TimedSpout: Spout {
    let progress: Progress
    let payload: GaleValue
    private var next = 0
    private var collector: (any SpoutOutputCollector)?

    init(_ progress: Progress) {
        self.progress = progress
        payload = .string(String(repeating: "x", count: payloadBytes))
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["n", "ts", "payload"]) }
    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws { self.collector = collector }

    func nextTuple() {
        guard next <= tupleCount else { return }
        let time = next < tupleCount ? Int64(next) * 1_000 / rate : lastEnd + 2_000
        collector?.emit([.int(Int64(next)), .int(time), payload], messageId: next)
        next += 1
    }

    func ack(_ messageId: any Sendable) { progress.acked.add(1, ordering: .relaxed) }
}

/// Reads every tuple of each window.
final class ReadingWindow: WindowedBolt {
    let progress: Progress
    init(_ progress: Progress) { self.progress = progress }

    func execute(_ window: TupleWindow) {
        let start = DispatchTime.now().uptimeNanoseconds
        var count = 0
        var bytes = 0
        for tuple in window.tuples {
            count += 1
            bytes += tuple[2].stringValue?.utf8.count ?? 0
        }
        precondition(bytes == count * payloadBytes, "a window tuple lost its payload")
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        _ = progress.slowestNanos.max(elapsed, ordering: .relaxed)
        _ = progress.largest.max(count, ordering: .relaxed)
        progress.windows.add(1, ordering: .relaxed)
        progress.newestEnd.store(window.end, ordering: .releasing)
    }
}

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gale-window-bench-\(getpid())").path
defer { try? FileManager.default.removeItem(atPath: directory) }
let store: WindowStoreFactory = storeName == "memory" ? .memory : .sqlite(directory: directory)
let window = WindowConfig.sliding(
    length: .duration(.seconds(windowMinutes * 60)),
    every: .duration(.seconds(slideMinutes * 60))
)
.eventTime(field: "ts", lag: .seconds(1), watermarkInterval: .milliseconds(100))
.stored(in: store)

var logger = Logger(label: "gale-window-bench")
logger.logLevel = .warning
let progress = Progress()
let builder = TopologyBuilder(name: "window-bench")
builder.setSpout("events") { TimedSpout(progress) }
builder.setBolt("window", window: window) { ReadingWindow(progress) }.shuffleGrouping("events")
// With the memory store every tuple stays pending until it leaves its last window, so the
// spouts must let a whole window be pending; a durable store acks at commit.
builder.config.maxSpoutPending = store.isDurable ? 200_000 : nil
// With the memory store a tuple waits for its last window: the timeout must cover the run.
builder.config.messageTimeoutSeconds = store.isDurable ? 600 : Double(windowMinutes * 60 + slideMinutes * 60 + 60)

let cluster = LocalCluster(logger: logger)
let started = ContinuousClock.now
_ = try cluster.submit(try builder.build())
var rssMax = residentMegabytes()
var lastReport = ContinuousClock.now
while progress.newestEnd.load(ordering: .acquiring) < lastEnd {
    try await Task.sleep(for: .milliseconds(200))
    rssMax = max(rssMax, residentMegabytes())
    if ContinuousClock.now - lastReport >= .seconds(10) {
        lastReport = ContinuousClock.now
        let acked = progress.acked.load(ordering: .relaxed)
        report(
            "progress acked=\(acked) windows=\(progress.windows.load(ordering: .relaxed)) rss_mb=\(String(format: "%.1f", residentMegabytes()))"
        )
    }
}
let seconds = (ContinuousClock.now - started).inSeconds
await cluster.shutdown()
report(
    "store=\(storeName) window_minutes=\(windowMinutes) slide_minutes=\(slideMinutes) rate=\(rate) tuples=\(tupleCount) seconds=\(String(format: "%.1f", seconds)) tuples_per_sec=\(Int(Double(tupleCount) / seconds)) windows=\(progress.windows.load(ordering: .relaxed)) largest_window=\(progress.largest.load(ordering: .relaxed)) max_evaluation_s=\(String(format: "%.2f", Double(progress.slowestNanos.load(ordering: .relaxed)) / 1e9)) rss_max_mb=\(String(format: "%.1f", rssMax))"
)
