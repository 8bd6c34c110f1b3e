import Gale
import GaleMain
import Synchronization

/// Emits random sentences, each with a message id so its tuple tree is tracked.
final class RandomSentenceSpout: Spout {
    static let sentences = [
        "the cow jumped over the moon", "an apple a day keeps the doctor away",
        "four score and seven years ago", "snow white and the seven dwarfs", "i am at two with nature",
    ].map { GaleValue.string($0) }

    private var collector: (any SpoutOutputCollector)?
    private var next = 0
    private var random = FastRandom()

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["sentence"])
    }

    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {
        self.collector = collector
        next = context.taskIndex
    }

    func nextTuple() {
        let sentence = Self.sentences[Int(random.next() % UInt64(Self.sentences.count))]
        next += 1
        collector?.emit([sentence], messageId: next)
    }
}

/// Splits a sentence into words.
final class SplitSentence: BasicBolt {
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["word"])
    }

    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        for word in tuple.words(at: 0) {
            collector.emit([.string(word)])
        }
    }
}

/// Counts words; each task owns the words the fields grouping sends it.
final class WordCountBolt: BasicBolt {
    private var counts: [String: Int] = [:]
    /// Words this task counted: `wordcount_words_total` on its supervisor's `/metrics`.
    private var words = MetricCounter.disabled

    func prepare(context: TopologyContext) throws {
        words = context.metrics.counter("wordcount_words_total")
    }

    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        guard let word = tuple.string(at: 0) else { return }
        counts[word, default: 0] += 1
        words.increment()
    }

    func cleanup() {
        WordTotals.shared.merge(counts)
    }
}

/// The counts of every count task, merged when they shut down, for the final report.
final class WordTotals: Sendable {
    static let shared = WordTotals()
    private let totals = Mutex<[String: Int]>([:])

    func merge(_ counts: [String: Int]) {
        totals.withLock { totals in totals.merge(counts, uniquingKeysWith: +) }
    }

    var top: [(String, Int)] {
        totals.withLock { totals in
            totals.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(10).map {
                ($0.key, $0.value)
            }
        }
    }
}

func makeWordCount() throws -> Topology {
    let builder = TopologyBuilder(name: "wordcount")
    builder.setSpout("sentences", parallelism: 1) { RandomSentenceSpout() }
    builder.setBolt("split", parallelism: 2) { SplitSentence() }.shuffleGrouping("sentences")
    builder.setBolt("count", parallelism: 2) { WordCountBolt() }.fieldsGrouping("split", fields: ["word"])
    builder.config.maxSpoutPending = 4096
    return try builder.build()
}

/// Prints the ten most frequent words.
func printTopWords(_ stats: TopologyStats) {
    print("top words:")
    for (word, count) in WordTotals.shared.top {
        print("  \(word) \(count)")
    }
}

await TopologyCommand.main(topologies: { [try makeWordCount()] }, localReport: printTopWords)
