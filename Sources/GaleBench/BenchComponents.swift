import Gale
import GaleRuntime
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Nanoseconds on the monotonic clock.
@inline(__always)
func nowNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Latencies recorded by components, merged across tasks.
final class LatencyRecorder: Sendable {
    private let samples = Mutex<[UInt64]>([])
    private let enabled = Atomic<Bool>(false)
    /// Also keeps each sample's emit time (`--timeline`).
    let keepsTimeline: Bool
    private let timeline = Mutex<[UInt64]>([])

    init(keepsTimeline: Bool = false) { self.keepsTimeline = keepsTimeline }

    var isEnabled: Bool { enabled.load(ordering: .relaxed) }
    func setEnabled(_ value: Bool) { enabled.store(value, ordering: .relaxed) }

    /// Adds latencies and, with ``keepsTimeline``, their emit times (same order).
    func add(_ batch: [UInt64], emitted: [UInt64] = []) {
        samples.withLock { $0.append(contentsOf: batch) }
        if !emitted.isEmpty { timeline.withLock { $0.append(contentsOf: emitted) } }
    }

    /// `emit_ns latency_ns` per sample, in emit order (monotonic clock): where a latency tail
    /// comes from (a stalled task shows as latencies rising with emit time, a stalled spout as a
    /// gap in emit times).
    func timelineText() -> String {
        let emitted = timeline.withLock { $0 }
        let latencies = samples.withLock { $0 }
        return zip(emitted, latencies).sorted { $0.0 < $1.0 }.map { "\($0.0) \($0.1)\n" }.joined()
    }

    func reset() {
        samples.withLock { $0.removeAll(keepingCapacity: true) }
    }

    /// (p50, p99) in milliseconds.
    func quantiles() -> (Double, Double) {
        let sorted = samples.withLock { $0.sorted() }
        guard !sorted.isEmpty else { return (0, 0) }
        func q(_ p: Double) -> Double {
            Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
        }
        return (q(0.5), q(0.99))
    }
}

/// Shared settings of a run: an optional emit rate and the latency sink.
final class BenchControl: Sendable {
    /// Tuples per second per spout task; 0 = as fast as possible.
    let rate = Atomic<Int>(0)
    let latency: LatencyRecorder

    init(keepsTimeline: Bool = false) { latency = LatencyRecorder(keepsTimeline: keepsTimeline) }
}

/// Emits as fast as allowed; carries its emit time so the last bolt (or `ack`) can measure latency.
final class BenchSpout: Spout {
    let control: BenchControl
    let track: Bool
    let sentences: Bool
    private var collector: (any SpoutOutputCollector)?
    private var emitted: UInt64 = 0
    private var rateStart: UInt64 = 0
    private var rateEmitted: UInt64 = 0
    private var currentRate = 0
    private var pendingSamples: [UInt64] = []
    private var pendingEmitted: [UInt64] = []
    private var i = 0
    private var sampleCounter: UInt32 = 0

    static let sentenceValues: [GaleValue] = [
        "the quick brown fox jumps over the dog", "four score and seven years ago our fathers",
        "an apple a day keeps the doctor away", "snow white and the seven dwarfs sang songs",
        "i am at two with nature said he", "the cow jumped over the moon last night",
    ]

    init(control: BenchControl, track: Bool, sentences: Bool) {
        self.control = control
        self.track = track
        self.sentences = sentences
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(sentences ? ["sentence", "ts"] : ["n", "ts"])
    }

    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {
        self.collector = collector
    }

    func nextTuple() {
        guard let collector else { return }
        let rate = control.rate.load(ordering: .relaxed)
        var budget = 1
        if rate > 0 {
            let now = nowNanos()
            if rate != currentRate {
                currentRate = rate
                rateStart = now
                rateEmitted = 0
            }
            let allowed = UInt64(Double(now &- rateStart) / 1e9 * Double(rate))
            guard allowed > rateEmitted else { return }
            budget = Int(min(64, allowed - rateEmitted))
        }
        for _ in 0..<budget {
            let ts = Int64(nowNanos())
            let value: GaleValue = sentences ? Self.sentenceValues[i % Self.sentenceValues.count] : .int(Int64(i))
            i &+= 1
            if track {
                collector.emit([value, .int(ts)], messageId: ts)
            } else {
                collector.emit([value, .int(ts)])
            }
        }
        rateEmitted &+= UInt64(budget)
    }

    func ack(_ messageId: any Sendable) {
        sampleCounter &+= 1
        guard sampleCounter & 63 == 0, control.latency.isEnabled, let ts = messageId as? Int64 else { return }
        pendingSamples.append(nowNanos() &- UInt64(ts))
        if control.latency.keepsTimeline { pendingEmitted.append(UInt64(ts)) }
        if pendingSamples.count >= 1024 {
            control.latency.add(pendingSamples, emitted: pendingEmitted)
            pendingSamples.removeAll(keepingCapacity: true)
            pendingEmitted.removeAll(keepingCapacity: true)
        }
    }

    func close() {
        control.latency.add(pendingSamples, emitted: pendingEmitted)
    }
}

/// The terminal bolt of spout-bolt: acks, and records latency when not tracking.
final class SinkBolt: Bolt {
    let control: BenchControl
    private var collector: (any OutputCollector)?
    private var samples: [UInt64] = []
    private var emitted: [UInt64] = []
    private var n: UInt32 = 0

    init(control: BenchControl) { self.control = control }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
    }

    func execute(_ tuple: Tuple) {
        recordLatency(tuple.int(at: 1))
        collector?.ack(tuple)
    }

    @inline(__always)
    func recordLatency(_ ts: Int64?) {
        n &+= 1
        guard n & 63 == 0, control.latency.isEnabled, let ts else { return }
        samples.append(nowNanos() &- UInt64(ts))
        if control.latency.keepsTimeline { emitted.append(UInt64(ts)) }
        if samples.count >= 256 {
            control.latency.add(samples, emitted: emitted)
            samples.removeAll(keepingCapacity: true)
            emitted.removeAll(keepingCapacity: true)
        }
    }

    func cleanup() { control.latency.add(samples, emitted: emitted) }
}

/// Splits sentences into words (anchored; acks its input).
final class SplitBolt: Bolt {
    private var collector: (any OutputCollector)?

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["word", "ts"])
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
    }

    func execute(_ tuple: Tuple) {
        guard let collector, let sentence = tuple.string(at: 0) else { return }
        let ts = tuple[1]
        for word in sentence.utf8.split(separator: UInt8(ascii: " ")) {
            collector.emit([.string(String(decoding: word, as: UTF8.self)), ts], anchor: tuple)
        }
        collector.ack(tuple)
    }
}

/// Counts words.
final class CountBolt: Bolt {
    let sink: SinkBolt
    private var collector: (any OutputCollector)?
    private var counts: [String: Int] = [:]

    init(control: BenchControl) { self.sink = SinkBolt(control: control) }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
    }

    func execute(_ tuple: Tuple) {
        if case .string(let word) = tuple[0] { counts[word, default: 0] &+= 1 }
        sink.recordLatency(tuple.int(at: 1))
        collector?.ack(tuple)
    }

    func cleanup() { sink.cleanup() }
}
