import Gale
import GaleMain
import Synchronization

/// What the spouts saw, for the final report: every message must be acked exactly once.
final class Ledger: Sendable {
    static let shared = Ledger()
    private struct State {
        var ackCounts: [Int: Int] = [:]
        var failures = 0
        var total = 0
    }

    private let state = Mutex(State())

    func expect(_ total: Int) { state.withLock { $0.total += total } }
    func acked(_ id: Int) { state.withLock { $0.ackCounts[id, default: 0] += 1 } }
    func failed() { state.withLock { $0.failures += 1 } }

    /// (messages, acked once, acked more than once, never acked, replays)
    var summary: (Int, Int, Int, Int, Int) {
        state.withLock { s in
            let once = s.ackCounts.values.filter { $0 == 1 }.count
            let more = s.ackCounts.values.filter { $0 > 1 }.count
            return (s.total, once, more, s.total - s.ackCounts.count, s.failures)
        }
    }
}

/// Emits a finite set of numbered messages and replays each failed one until it is acked.
final class ReplayingSpout: Spout {
    private let messages: Int
    private var collector: (any SpoutOutputCollector)?
    private var next = 0
    private var base = 0
    private var replay: [Int] = []

    init(messages: Int) { self.messages = messages }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["id", "payload"])
    }

    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {
        self.collector = collector
        base = context.taskIndex * messages
        Ledger.shared.expect(messages)
    }

    func nextTuple() {
        let id: Int
        if let retry = replay.popLast() {
            id = retry
        } else if next < messages {
            id = base + next
            next += 1
        } else {
            return
        }
        collector?.emit([.int(Int64(id)), .string("message \(id)")], messageId: id)
    }

    func ack(_ messageId: any Sendable) {
        guard let id = messageId as? Int else { return }
        Ledger.shared.acked(id)
    }

    func fail(_ messageId: any Sendable) {
        guard let id = messageId as? Int else { return }
        Ledger.shared.failed()
        replay.append(id)
    }
}

/// Fails a share of its input at random; acks the rest after passing it on anchored.
final class UnreliableBolt: Bolt {
    private let failureRate: Double
    private var collector: (any OutputCollector)?
    private var rng = SystemRandomNumberGenerator()

    init(failureRate: Double) { self.failureRate = failureRate }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["id", "payload"])
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
    }

    func execute(_ tuple: Tuple) {
        if Double.random(in: 0..<1, using: &rng) < failureRate {
            collector?.fail(tuple)
        } else {
            collector?.emit(tuple.values, anchor: tuple)
            collector?.ack(tuple)
        }
    }
}

/// Acks everything: the end of the line.
final class SinkBolt: Bolt {
    private var collector: (any OutputCollector)?

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
    }

    func execute(_ tuple: Tuple) {
        collector?.ack(tuple)
    }
}

func makeUnreliable() throws -> Topology {
    let builder = TopologyBuilder(name: "unreliable")
    builder.config.maxSpoutPending = 1000
    builder.config.messageTimeoutSeconds = 10
    let messages = 50_000
    builder.setSpout("messages", parallelism: 2) { ReplayingSpout(messages: messages) }
    builder.setBolt("flaky", parallelism: 2) { UnreliableBolt(failureRate: 0.2) }.shuffleGrouping("messages")
    builder.setBolt("flaky2", parallelism: 2) { UnreliableBolt(failureRate: 0.1) }.fieldsGrouping(
        "flaky",
        fields: ["id"]
    )
    builder.setBolt("sink", parallelism: 1) { SinkBolt() }.shuffleGrouping("flaky2")
    return try builder.build()
}

/// Prints whether every message was acked exactly once.
func report(_ stats: TopologyStats) {
    let (messages, once, more, never, replays) = Ledger.shared.summary
    print(
        "messages=\(messages) acked_once=\(once) acked_more_than_once=\(more) never_acked=\(never) replays=\(replays)"
    )
    let exact = once == messages && more == 0
    print(exact ? "every message was acked exactly once" : "MISMATCH: some messages were not acked exactly once")
}

await TopologyCommand.main(topologies: { [try makeUnreliable()] }, localReport: report)
