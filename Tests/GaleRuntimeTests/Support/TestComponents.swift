import Gale
import GaleRuntime
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Spouts

/// What the tasks of a test spout did, readable from the test while the topology runs.
final class SpoutLog: Sendable {
    struct State {
        /// Message ids (or sequence numbers when untracked) in emit order, when recorded.
        var emittedIds: [Int] = []
        var acked: [Int: Int] = [:]
        var failed: [Int: Int] = [:]
        var opened: [Int] = []
        var closed = 0
        var activated = 0
        var deactivated = 0
        /// The largest `collector.pendingCount` seen in `nextTuple`.
        var maxPendingSeen = 0
        /// The largest emitted - acked - failed count, tracked by the spout itself.
        var maxOutstanding = 0

        var ackCount: Int { acked.values.reduce(0, +) }
        var failCount: Int { failed.values.reduce(0, +) }
    }

    private let state = Mutex(State())
    /// Tuples emitted so far, over every task (cheap to poll).
    let emitted = Atomic<Int>(0)

    var snapshot: State { state.withLock { $0 } }
    var ackCount: Int { state.withLock { $0.ackCount } }
    var failCount: Int { state.withLock { $0.failCount } }
    var emittedCount: Int { emitted.load(ordering: .acquiring) }

    func update(_ body: (inout State) -> Void) {
        state.withLock { body(&$0) }
    }
}

/// A spout that emits `values(i)` for `i` in `0..<count` (then nothing), one per `nextTuple`.
///
/// Tracked emits use `i` as the message id; with `replayFailures` a failed id is emitted again
/// before any new one.
final class SequenceSpout: Spout {
    struct Options: Sendable {
        var count = 100
        var fields: Fields = ["n"]
        var stream = Topology.defaultStreamId
        var tracked = true
        var replayFailures = false
        /// Records every emitted id in ``SpoutLog/State/emittedIds`` (off for unbounded spouts).
        var recordIds = true
        var values: @Sendable (Int) -> [GaleValue] = { [.int(Int64($0))] }
    }

    let log: SpoutLog
    let options: Options
    private var collector: (any SpoutOutputCollector)?
    private var next = 0
    private var replay: [Int] = []
    private var outstanding = 0

    init(_ log: SpoutLog, _ options: Options = Options()) {
        self.log = log
        self.options = options
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declareStream(options.stream, fields: options.fields)
    }

    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {
        self.collector = collector
        log.update { $0.opened.append(context.taskId) }
    }

    func nextTuple() {
        guard let collector else { return }
        let id: Int
        if !replay.isEmpty {
            id = replay.removeFirst()
        } else if next < options.count {
            id = next
            next += 1
        } else {
            return
        }
        let pending = collector.pendingCount
        collector.emit(options.values(id), stream: options.stream, messageId: options.tracked ? id : nil)
        log.emitted.add(1, ordering: .releasing)
        if options.tracked { outstanding += 1 }
        let outstanding = outstanding
        if options.recordIds || options.tracked {
            log.update { s in
                if options.recordIds { s.emittedIds.append(id) }
                s.maxPendingSeen = max(s.maxPendingSeen, pending)
                s.maxOutstanding = max(s.maxOutstanding, outstanding)
            }
        }
    }

    func ack(_ messageId: any Sendable) {
        outstanding -= 1
        let id = messageId as! Int
        log.update { $0.acked[id, default: 0] += 1 }
    }

    func fail(_ messageId: any Sendable) {
        outstanding -= 1
        let id = messageId as! Int
        log.update { $0.failed[id, default: 0] += 1 }
        if options.replayFailures { replay.append(id) }
    }

    func activate() { log.update { $0.activated += 1 } }
    func deactivate() { log.update { $0.deactivated += 1 } }
    func close() { log.update { $0.closed += 1 } }
}

/// A spout that sends `count` tuples on a direct stream, all to one task of `target` chosen by index.
final class DirectSpout: Spout {
    let log: SpoutLog
    let count: Int
    let target: String
    let targetIndex: Int
    private var collector: (any SpoutOutputCollector)?
    private var task = 0
    private var next = 0

    init(_ log: SpoutLog, count: Int, target: String, targetIndex: Int) {
        self.log = log
        self.count = count
        self.target = target
        self.targetIndex = targetIndex
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declareStream("to-one", fields: ["n"], direct: true)
    }

    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {
        self.collector = collector
        task = context.tasks(of: target)[targetIndex]
    }

    func nextTuple() {
        guard next < count, let collector else { return }
        collector.emitDirect(task: task, [.int(Int64(next))], stream: "to-one", messageId: next)
        next += 1
        log.emitted.add(1, ordering: .releasing)
    }

    func ack(_ messageId: any Sendable) {
        log.update { $0.acked[messageId as! Int, default: 0] += 1 }
    }

    func fail(_ messageId: any Sendable) {
        log.update { $0.failed[messageId as! Int, default: 0] += 1 }
    }
}

/// A spout that runs `script` on its first `nextTuple`, then emits `0..<count` on the default
/// stream with message ids. It declares the default stream `["n"]` and the direct stream `to-one`.
final class ScriptedSpout: Spout {
    typealias Script = @Sendable (any SpoutOutputCollector, TopologyContext) -> Void

    let log: SpoutLog
    let count: Int
    let script: Script
    private var collector: (any SpoutOutputCollector)?
    private var context: TopologyContext?
    private var next = -1

    init(_ log: SpoutLog, count: Int, script: @escaping Script) {
        self.log = log
        self.count = count
        self.script = script
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["n"])
        declarer.declareStream("to-one", fields: ["n"], direct: true)
    }

    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {
        self.collector = collector
        self.context = context
    }

    func nextTuple() {
        guard let collector, let context else { return }
        if next < 0 {
            script(collector, context)
            next = 0
        }
        guard next < count else { return }
        collector.emit([.int(Int64(next))], messageId: next)
        log.emitted.add(1, ordering: .releasing)
        next += 1
    }

    func ack(_ messageId: any Sendable) {
        log.update { $0.acked[messageId as! Int, default: 0] += 1 }
    }

    func fail(_ messageId: any Sendable) {
        log.update { $0.failed[messageId as! Int, default: 0] += 1 }
    }
}

/// A spout whose `open` throws.
final class FailingOpenSpout: Spout {
    struct OpenError: Error, CustomStringConvertible {
        var description: String { "cannot reach the source" }
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["n"])
    }

    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {
        throw OpenError()
    }

    func nextTuple() {}
}

// MARK: - Bolts

/// What the tasks of a test bolt received, keyed by the receiving task id.
final class BoltLog: Sendable {
    struct State {
        /// Values of every non-tick tuple, per receiving task (when recorded).
        var received: [Int: [[GaleValue]]] = [:]
        /// Tick tuples per receiving task.
        var ticks: [Int: [Tuple]] = [:]
        /// Tasks that ran `prepare`, and the component's tasks as the context gave them.
        var prepared: [Int] = []
        var componentTasks: [Int] = []
        var cleanedUp: [Int: Int] = [:]

        var receivedCount: Int { received.values.reduce(0) { $0 + $1.count } }
        var tickCount: Int { ticks.values.reduce(0) { $0 + $1.count } }
        var allValues: [[GaleValue]] { received.values.flatMap { $0 } }
    }

    private let state = Mutex(State())
    /// Non-tick tuples executed so far, over every task (cheap to poll).
    let executed = Atomic<Int>(0)

    var snapshot: State { state.withLock { $0 } }
    var executedCount: Int { executed.load(ordering: .acquiring) }

    /// Counts one executed (non-tick) tuple.
    func noteExecuted() { executed.add(1, ordering: .releasing) }

    func update(_ body: (inout State) -> Void) {
        state.withLock { body(&$0) }
    }
}

/// A switch a bolt waits on; the test opens it. Open it before killing the topology.
final class Gate: Sendable {
    private let isOpen = Atomic<Bool>(false)
    /// `true` once a bolt is waiting at the gate.
    let reached = Atomic<Bool>(false)

    func open() { isOpen.store(true, ordering: .releasing) }

    /// `true` once a bolt waited at the gate.
    var hasBeenReached: Bool { reached.load(ordering: .acquiring) }

    /// `true` once opened; never waits.
    var isOpenNow: Bool { isOpen.load(ordering: .acquiring) }

    func pass() {
        reached.store(true, ordering: .releasing)
        while !isOpen.load(ordering: .acquiring) { usleep(200) }
    }
}

/// The collector and context a ``TestBolt`` behaviour works with.
struct BoltIO {
    let collector: any OutputCollector
    let context: TopologyContext
}

/// What a ``TestBolt`` does with each (non-tick) tuple after recording it.
typealias BoltBehaviour = @Sendable (Tuple, BoltIO) -> Void

enum Behaviour {
    static let ack: BoltBehaviour = { tuple, io in io.collector.ack(tuple) }
    static let fail: BoltBehaviour = { tuple, io in io.collector.fail(tuple) }
    static let ignore: BoltBehaviour = { _, _ in }

    /// Emits the input's values `copies` times on `stream`, anchored (or not) to it, then acks it.
    static func forward(
        copies: Int = 1,
        stream: String = Topology.defaultStreamId,
        anchored: Bool = true
    )
        -> BoltBehaviour
    {
        { tuple, io in
            for _ in 0..<copies {
                io.collector.emit(tuple.values, stream: stream, anchor: anchored ? tuple : nil)
            }
            io.collector.ack(tuple)
        }
    }
}

/// A configurable bolt: records what each task receives, optionally waits, then runs a behaviour.
final class TestBolt: Bolt {
    struct Options: Sendable {
        var streams: [(id: String, fields: Fields)] = []
        var directStreams: [(id: String, fields: Fields)] = []
        var recordValues = true
        /// Microseconds to sleep in every execute (a slow bolt without burning a core).
        var delayMicros: UInt32 = 0
        var gate: Gate?
        var behaviour: BoltBehaviour = Behaviour.ack
        var onTick: (@Sendable (Tuple, BoltIO) -> Void)?
    }

    let log: BoltLog
    let options: Options
    private var io: BoltIO?

    init(_ log: BoltLog, _ options: Options = Options()) {
        self.log = log
        self.options = options
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        for stream in options.streams {
            declarer.declareStream(stream.id, fields: stream.fields)
        }
        for stream in options.directStreams {
            declarer.declareStream(stream.id, fields: stream.fields, direct: true)
        }
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        io = BoltIO(collector: collector, context: context)
        log.update { s in
            s.prepared.append(context.taskId)
            s.componentTasks = context.componentTasks
        }
    }

    func execute(_ tuple: Tuple) {
        guard let io else { return }
        let task = io.context.taskId
        if tuple.isTick {
            log.update { $0.ticks[task, default: []].append(tuple) }
            options.onTick?(tuple, io)
            return
        }
        if options.recordValues {
            log.update { $0.received[task, default: []].append(tuple.values) }
        }
        options.gate?.pass()
        if options.delayMicros > 0 { usleep(options.delayMicros) }
        options.behaviour(tuple, io)
        log.noteExecuted()
    }

    func cleanup() {
        guard let task = io?.context.taskId else { return }
        log.update { $0.cleanedUp[task, default: 0] += 1 }
    }
}

/// A bolt whose `prepare` throws.
final class FailingPrepareBolt: Bolt {
    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        throw TestError("no database")
    }

    func execute(_ tuple: Tuple) {}
}

/// Joins tuples in pairs by their `key` field: emits `[key]` anchored to both, then acks both.
final class JoinBolt: Bolt {
    private var collector: (any OutputCollector)?
    private var waiting: [GaleValue: Tuple] = [:]

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["key"])
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
    }

    func execute(_ tuple: Tuple) {
        guard let collector, let key = tuple[field: "key"] else { return }
        guard let first = waiting.removeValue(forKey: key) else {
            waiting[key] = tuple
            return
        }
        collector.emit([key], anchors: [first, tuple])
        collector.ack(first)
        collector.ack(tuple)
    }
}

/// Holds every tuple unacked until `release` opens, then acks them on the next tick.
final class HoldingBolt: Bolt {
    let log: BoltLog
    let release: Gate
    private var collector: (any OutputCollector)?
    private var held: [Tuple] = []

    init(_ log: BoltLog, release: Gate) {
        self.log = log
        self.release = release
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
    }

    func execute(_ tuple: Tuple) {
        guard let collector else { return }
        if !tuple.isTick {
            held.append(tuple)
            log.update { $0.received[0, default: []].append(tuple.values) }
            log.noteExecuted()
        }
        if release.isOpenNow {
            for tuple in held { collector.ack(tuple) }
            held.removeAll()
        }
    }
}

/// A ``BasicBolt`` that throws for odd values of its first field and forwards even ones.
final class OddThrowingBasicBolt: BasicBolt {
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["n"])
    }

    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        let n = tuple.int(at: 0) ?? 0
        if n % 2 == 1 { throw TestError("odd value \(n)") }
        collector.emit(tuple.values)
    }
}

/// A custom grouping that sends value `n` to `targetTasks[n % count]` and counts its calls.
final class ModuloGrouping: CustomStreamGrouping {
    final class Log: Sendable {
        let prepared = Mutex<[(source: String, stream: String, targets: [Int])]>([])
        let calls = Atomic<Int>(0)

        var preparations: [(source: String, stream: String, targets: [Int])] { prepared.withLock { $0 } }
        var callCount: Int { calls.load(ordering: .relaxed) }
    }

    let log: Log
    private var targets: [Int] = []

    init(_ log: Log) {
        self.log = log
    }

    func prepare(context: TopologyContext, sourceComponent: String, stream: String, targetTasks: [Int]) {
        targets = targetTasks
        log.prepared.withLock { $0.append((sourceComponent, stream, targetTasks)) }
    }

    func chooseTasks(sourceTask: Int, values: [GaleValue]) -> [Int] {
        log.calls.add(1, ordering: .relaxed)
        let n = Int(values[0].intValue ?? 0)
        return [targets[n % targets.count]]
    }
}

/// An error with a fixed message.
struct TestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Running

/// Generous bound for every wait: CI runs debug builds on two slow cores.
let patience: Duration = .seconds(30)

/// Submits `topology` to a fresh ``LocalCluster``, runs `body`, and kills the topology afterwards,
/// also when `body` throws.
func withRunningTopology(
    _ topology: Topology,
    drainTimeout: Duration = .seconds(10),
    _ body: (RunningTopology) async throws -> Void
) async throws {
    let cluster = LocalCluster()
    let running = try cluster.submit(topology)
    do {
        try await body(running)
    } catch {
        await running.kill(drainTimeout: .milliseconds(200))
        throw error
    }
    await running.kill(drainTimeout: drainTimeout)
}

extension RunningTopology {
    /// Waits (polling) for `condition`, failing the test with `comment` when it does not hold in time.
    func require(
        _ comment: Comment,
        timeout: Duration = patience,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: () -> Bool
    ) async throws {
        try await GaleRuntimeTests.require(comment, timeout: timeout, sourceLocation: sourceLocation, condition)
    }
}
