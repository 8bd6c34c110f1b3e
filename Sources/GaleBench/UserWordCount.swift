import Gale

// The word count of the README (examples/WordCount/main.swift), component for component: only
// the public API, written the way the README teaches (`split(separator: " ")`, one
// `.string(String(word))` per word, a `[String: Int]` running count, one sentence per
// `nextTuple`). The `user-wordcount-*` scenarios run these, so their numbers are what a user's
// own topology gets, not what components written for the benchmark get. The one change: the
// spout emits without a message id when the scenario runs unacked.

/// Emits random sentences, each with a message id so its tuple tree is tracked (when `tracked`).
final class UserSentenceSpout: Spout {
    static let sentences = [
        "the cow jumped over the moon", "an apple a day keeps the doctor away",
        "four score and seven years ago", "snow white and the seven dwarfs", "i am at two with nature",
    ].map { GaleValue.string($0) }

    private let tracked: Bool
    private var collector: (any SpoutOutputCollector)?
    private var next = 0
    private var random = FastRandom()

    init(tracked: Bool) {
        self.tracked = tracked
    }

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
        if tracked {
            collector?.emit([sentence], messageId: next)
        } else {
            collector?.emit([sentence])
        }
    }
}

/// Splits a sentence into words.
final class UserSplitSentence: BasicBolt {
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
final class UserWordCountBolt: BasicBolt {
    private var counts: [String: Int] = [:]

    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        guard let word = tuple.string(at: 0) else { return }
        counts[word, default: 0] += 1
    }
}

/// The README's topology with `parallelism` tasks of split and of count (the README runs 2).
func makeUserWordCount(name: String, tracked: Bool, parallelism: Int) throws -> Topology {
    let builder = TopologyBuilder(name: name)
    builder.setSpout("sentences", parallelism: 1) { UserSentenceSpout(tracked: tracked) }
    builder.setBolt("split", parallelism: parallelism) { UserSplitSentence() }.shuffleGrouping("sentences")
    builder.setBolt("count", parallelism: parallelism) { UserWordCountBolt() }.fieldsGrouping(
        "split",
        fields: ["word"]
    )
    builder.config.maxSpoutPending = 4096
    return try builder.build()
}
