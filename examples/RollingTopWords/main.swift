import Gale
import GaleMain
import Synchronization

/// Emits 20,000 words a second, some far more often than others, each with a message id.
final class SkewedWordSpout: Spout {
    static let perSecond = 20_000
    static let words: [GaleValue] = ["storm", "gale", "breeze", "gust", "squall", "calm", "zephyr", "tempest"]
    private var collector: (any SpoutOutputCollector)?
    private var random = FastRandom()
    private var next = 0
    private let started = ContinuousClock.now

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["word"])
    }

    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {
        self.collector = collector
    }

    func nextTuple() {
        let elapsed = ContinuousClock.now - started
        guard
            Double(next) < (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                * Double(Self.perSecond)
        else { return }
        // The lower of two draws: word i comes up about (15 - 2i) times in 64.
        let index = min(random.next() % 8, random.next() % 8)
        next += 1
        collector?.emit([Self.words[Int(index)]], messageId: next)
    }
}

/// Counts each word over the last 9 seconds, every 3 seconds: one `[word, count, end]` per word
/// of the window. Windows are aligned to the sliding interval, so the count tasks' windows end
/// together.
final class RollingCount: WindowedBolt {
    private var collector: (any OutputCollector)?

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["word", "count", "end"])
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
    }

    func execute(_ window: TupleWindow) {
        var counts: [String: Int64] = [:]
        for tuple in window.tuples {
            if let word = tuple.string(at: 0) { counts[word, default: 0] += 1 }
        }
        for (word, count) in counts {
            collector?.emit([.string(word), .int(count), .int(window.end)])
        }
    }
}

/// Ranks the words of each window (one task sees every count task's output).
final class TopWords: BasicBolt {
    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        guard let word = tuple.string(at: 0), let count = tuple.int(at: 1), let end = tuple.int(at: 2) else { return }
        Rankings.shared.add(word: word, count: count, end: end)
    }
}

/// The counts per window end, for the final report.
final class Rankings: Sendable {
    static let shared = Rankings()
    private let windows = Mutex<[Int64: [String: Int64]]>([:])

    func add(word: String, count: Int64, end: Int64) {
        windows.withLock { $0[end, default: [:]][word, default: 0] += count }
    }

    /// The windows' ends, oldest first, and each window's words by count.
    var ranked: [(end: Int64, words: [(String, Int64)])] {
        windows.withLock { windows in
            windows.keys.sorted().map { end in
                let words = (windows[end] ?? [:]).sorted {
                    $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key)
                }
                return (end, words.map { ($0.key, $0.value) })
            }
        }
    }
}

func makeRollingTopWords() throws -> Topology {
    let builder = TopologyBuilder(name: "rolling-top-words")
    builder.setSpout("words", parallelism: 1) { SkewedWordSpout() }
    builder.setBolt(
        "rolling-count",
        parallelism: 2,
        window: .sliding(length: .duration(.seconds(9)), every: .duration(.seconds(3)))
    ) { RollingCount() }
    .fieldsGrouping("words", fields: ["word"])
    builder.setBolt("top-words") { TopWords() }.globalGrouping("rolling-count")
    // Each word is acked once its last window (9 s + 3 s) was counted: about 12 s of words
    // (240,000) stay pending.
    builder.config.maxSpoutPending = 300_000
    return try builder.build()
}

/// Prints the top three words of each window the run saw, with the window's total.
func printRankings(_ stats: TopologyStats) {
    print("top words of each 9 s window, every 3 s:")
    for (end, words) in Rankings.shared.ranked {
        let total = words.reduce(0) { $0 + $1.1 }
        let top = words.prefix(3).map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        let second = Int(end / 1_000) % 86_400
        let clock = [second / 3_600, second / 60 % 60, second % 60].map { $0 < 10 ? "0\($0)" : "\($0)" }
        print("  window ending \(clock.joined(separator: ":")) UTC: \(total) words; \(top)")
    }
}

await TopologyCommand.main(topologies: { [try makeRollingTopWords()] }, localReport: printRankings)
