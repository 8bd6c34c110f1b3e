import Gale
import GaleMain

/// Storm's TestWordSpout: emits a random name from a fixed list.
final class TestWordSpout: Spout {
    static let words: [GaleValue] = ["nathan", "mike", "jackson", "golda", "bertels"]
    private var collector: (any SpoutOutputCollector)?
    private var rng = SystemRandomNumberGenerator()
    private var next = 0

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["word"])
    }

    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {
        self.collector = collector
    }

    func nextTuple() {
        next += 1
        collector?.emit([Self.words[Int(rng.next() % UInt64(Self.words.count))]], messageId: next)
    }
}

/// Appends "!!!" to the word and acks its input.
final class ExclamationBolt: Bolt {
    private var collector: (any OutputCollector)?

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["word"])
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
    }

    func execute(_ tuple: Tuple) {
        guard let word = tuple.string(at: 0) else {
            collector?.fail(tuple)
            return
        }
        collector?.emit([.string(word + "!!!")], anchor: tuple)
        collector?.ack(tuple)
    }
}

func makeExclamation() throws -> Topology {
    let builder = TopologyBuilder(name: "exclamation")
    builder.setSpout("word", parallelism: 1) { TestWordSpout() }
    builder.setBolt("exclaim1", parallelism: 2) { ExclamationBolt() }.shuffleGrouping("word")
    builder.setBolt("exclaim2", parallelism: 2) { ExclamationBolt() }.shuffleGrouping("exclaim1")
    builder.config.maxSpoutPending = 2048
    return try builder.build()
}

await TopologyCommand.main(topologies: { [try makeExclamation()] })
