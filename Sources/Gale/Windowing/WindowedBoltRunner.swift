import Foundation

/// Runs a ``WindowedBolt`` as a ``Bolt`` (Storm's `WindowedBoltExecutor`): keeps each task's
/// windows, evaluates them as tuples arrive and as time passes (tick tuples), acks tuples once
/// they leave their last window (or, with a durable store, once a commit holds them), anchors
/// the bolt's emits to the window, and in event time moves the watermark and routes late tuples.
final class WindowedBoltRunner: Bolt {
    /// The field names of the late-tuple stream.
    static let lateFields: Fields = ["tuple", "component", "stream"]
    /// A durable store commits (and its tuples are acked) after this many tuples, or at the next
    /// tick.
    static let commitEvery = 512

    private let bolt: any WindowedBolt
    private let config: WindowConfig
    private var engine: WindowEngine?
    /// Event time's watermark and waiting tuples (used only when the window reads a timestamp).
    private var clock = WatermarkClock(lag: .zero, streams: 1)
    private var collector: WindowOutputCollector?
    private var nextWatermarkAt: UInt64 = 0
    private let watermarkNanos: UInt64
    private let failures = ReadFailures()
    /// Durable store: tuples added since the last commit, acked when it succeeds.
    private var uncommitted: [Tuple] = []
    /// Late tuples dropped (no late-tuple stream), reported at the first and every 10,000th.
    private var droppedLate = 0
    /// Late tuples sent on the late-tuple stream.
    private var sentLate = 0
    /// Windows the bolt was given, and the end of the last.
    private var evaluated = 0
    private var lastEnd: Int64?

    init(bolt: any WindowedBolt, window: WindowConfig) {
        self.bolt = bolt
        self.config = window
        let interval = window.watermarkInterval.inMilliseconds
        self.watermarkNanos = UInt64(max(1, interval)) * 1_000_000
    }

    /// Milliseconds since 1970 by the system clock (processing time).
    static func nowMillis() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        bolt.declareOutputFields(&declarer)
        if let stream = config.lateTupleStream { declarer.declareStream(stream, fields: Self.lateFields) }
    }

    /// Ticks often enough to evaluate duration windows within a tenth of their sliding interval,
    /// to move the watermark on time and to commit a durable store within a second: 10 ms to 1 s.
    /// Count windows in memory in processing time need none.
    var defaultTickFrequencySeconds: Double? {
        var periods: [Int64] = []
        if let slide = config.slide.milliseconds { periods.append(slide / 10) }
        if config.isEventTime {
            periods.append(config.watermarkInterval.inMilliseconds / 2)
        }
        if config.store.isDurable { periods.append(500) }
        guard let shortest = periods.min() else { return nil }
        return Double(min(max(shortest, 10), 1_000)) / 1_000
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        let windowCollector = WindowOutputCollector(collector)
        self.collector = windowCollector
        if config.isEventTime {
            let streams = Set(context.inputs.map { "\($0.component)\u{0}\($0.stream)" }).count
            clock = WatermarkClock(lag: config.lag, streams: streams)
        }
        engine = WindowEngine(config, store: try config.store.makeStore(context: context))
        try bolt.prepare(context: context, collector: windowCollector)
    }

    func execute(_ tuple: Tuple) {
        guard let collector else { return }
        if tuple.isTick {
            tick()
            return
        }
        guard let field = config.timestampField else {
            add(tuple, at: Self.nowMillis())
            return
        }
        guard let time = tuple[field: field]?.intValue else {
            // A tuple without a usable time cannot be placed in any window: fail it (its spout
            // decides whether to replay) and say why.
            let found = tuple[field: field].map { "\($0)" } ?? "no such field"
            collector.reportError(
                WindowError.missingTimestamp(field: field, component: tuple.sourceComponent, found: found)
            )
            collector.base.fail(tuple)
            return
        }
        if clock.isLate(time) {
            late(tuple)
            return
        }
        clock.add(tuple, at: time, stream: tuple.source.serial)
    }

    func cleanup() {
        commit()
        bolt.cleanup()
    }

    /// Time passed: evaluates due processing-time windows, or moves the watermark; commits a
    /// durable store.
    private func tick() {
        defer { commit() }
        guard config.isEventTime else {
            evaluate { try $0.advance(to: Self.nowMillis()) }
            return
        }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now >= nextWatermarkAt else { return }
        nextWatermarkAt = now &+ watermarkNanos
        guard let (watermark, released) = clock.tick() else { return }
        for (tuple, time) in released { add(tuple, at: time) }
        evaluate { try $0.advance(to: watermark) }
    }

    /// Adds `tuple` to the windows at `time`.
    private func add(_ tuple: Tuple, at time: Int64) {
        guard evaluate({ try $0.add(tuple, at: time) }) else {
            // Not stored: its spout replays it.
            collector?.base.fail(tuple)
            return
        }
        guard config.store.isDurable else { return }
        uncommitted.append(tuple)
        if uncommitted.count >= Self.commitEvery { commit() }
    }

    /// Runs `step` on the engine, then hands each window it evaluated to the bolt and finishes
    /// it (acking, with the memory store, the tuples that left for good). Returns whether the
    /// store did all it was asked; after a store error, see ``recover(_:)``.
    @discardableResult
    private func evaluate(_ step: (inout WindowEngine) throws -> [WindowEngine.Evaluation]) -> Bool {
        guard var engine, let collector else { return false }
        do {
            let evaluations = try step(&engine)
            for evaluation in evaluations {
                if let window = try engine.window(for: evaluation, failures: failures) {
                    evaluated += 1
                    lastEnd = window.end
                    if !config.store.isDurable { collector.anchors = window.tuples.array }
                    bolt.execute(window)
                    collector.anchors = []
                    for (error, sequence) in failures.take() {
                        collector.reportError(
                            WindowError.incompleteWindow(end: window.end, sequence: sequence, reason: "\(error)")
                        )
                    }
                }
                for tuple in try engine.finish(evaluation) { collector.release(tuple) }
            }
            self.engine = engine
            return true
        } catch {
            recover(error)
            return false
        }
    }

    /// Makes a durable store's changes durable and acks the tuples it now holds.
    private func commit() {
        guard config.store.isDurable, let engine, let collector,
            !uncommitted.isEmpty || engine.store.position != engine.position
        else { return }
        do {
            try engine.store.commit(position: engine.position)
            for tuple in uncommitted { collector.base.ack(tuple) }
            uncommitted.removeAll(keepingCapacity: true)
        } catch {
            recover(error)
        }
    }

    /// After a store error: reports it, rolls the store back to its last commit, takes the
    /// windows up from there, and fails the tuples added since (their spouts replay them). Windows
    /// evaluated since the last commit are evaluated again.
    private func recover(_ error: any Error) {
        guard let engine, let collector else { return }
        collector.reportError(WindowError.store(String(describing: error)))
        do {
            try engine.store.rollback()
        } catch {
            collector.reportError(WindowError.store("rollback: \(error)"))
        }
        self.engine = WindowEngine(config, store: engine.store)
        for tuple in uncommitted { collector.base.fail(tuple) }
        uncommitted.removeAll(keepingCapacity: true)
    }

    /// A tuple behind the watermark: on the late stream (anchored to it) or dropped, then acked.
    private func late(_ tuple: Tuple) {
        guard let collector else { return }
        if let stream = config.lateTupleStream {
            sentLate += 1
            collector.base.emit(
                [.list(tuple.values), .string(tuple.sourceComponent), .string(tuple.sourceStreamId)],
                stream: stream,
                anchor: tuple
            )
        } else {
            droppedLate += 1
            if droppedLate == 1 || droppedLate % 10_000 == 0 {
                collector.reportError(WindowError.lateTuplesDropped(count: droppedLate))
            }
        }
        collector.base.ack(tuple)
    }
}

extension WindowedBoltRunner: StatusReporting {
    /// The window, what the task holds, the windows evaluated, in event time the watermark and
    /// the late tuples; then the bolt's own lines, if it reports any.
    func statusLines() -> [String] {
        func time(_ millis: Int64) -> String {
            Date(timeIntervalSince1970: Double(millis) / 1_000).formatted(.iso8601)
        }
        var lines = ["window: \(config)"]
        if let engine { lines.append("held: \(engine.held) tuples (\(config.store))") }
        lines.append("windows evaluated: \(evaluated)" + (lastEnd.map { ", the last ending \(time($0))" } ?? ""))
        if config.isEventTime {
            let watermark = clock.watermark == .min ? "none yet" : time(clock.watermark)
            lines.append("watermark: \(watermark); waiting for it: \(clock.waitingCount) tuples")
            lines.append("late tuples: \(sentLate) sent on the late stream, \(droppedLate) dropped")
        }
        if let own = bolt as? any StatusReporting { lines += own.statusLines() }
        return lines
    }

    func statusTable() -> StatusTable? { (bolt as? any StatusReporting)?.statusTable() }
}

/// Problems a windowed bolt reports.
public enum WindowError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An event-time tuple's timestamp field is missing or not an integer.
    case missingTimestamp(field: String, component: String, found: String)
    /// Tuples behind the watermark were dropped (no late-tuple stream is configured).
    case lateTuplesDropped(count: Int)
    /// The window store failed.
    case store(String)
    /// The bolt saw a stored window only up to the tuple numbered `sequence`: reading the
    /// rest failed.
    case incompleteWindow(end: Int64, sequence: Int, reason: String)

    public var description: String {
        switch self {
        case .missingTimestamp(let field, let component, let found):
            "a tuple from [\(component)] has no integer timestamp (milliseconds since 1970) in field [\(field)] (found: \(found)); it was failed"
        case .lateTuplesDropped(let count):
            "\(count) tuple(s) behind the watermark dropped so far (set a late-tuple stream to keep them)"
        case .store(let reason):
            "the window store failed: \(reason)"
        case .incompleteWindow(let end, let sequence, let reason):
            "the window ending at \(end) was read only up to tuple \(sequence): \(reason)"
        }
    }
}

/// The collector a ``WindowedBolt`` gets: unanchored emits are anchored to the window being
/// evaluated; acks of window tuples are the runner's (a bolt's own ack does nothing), and a
/// failed tuple is not acked when it leaves its windows.
final class WindowOutputCollector: OutputCollector {
    let base: any OutputCollector
    /// The tuples of the window being evaluated.
    var anchors: [Tuple] = []
    /// Edges of tuples the bolt failed, not to be acked on eviction.
    private var failed: Set<UInt64> = []

    init(_ base: any OutputCollector) {
        self.base = base
    }

    func emit(_ values: consuming [GaleValue], stream: String, anchor: Tuple?) {
        if let anchor {
            base.emit(values, stream: stream, anchor: anchor)
        } else {
            base.emit(values, stream: stream, anchors: anchors)
        }
    }

    func emit(value: consuming GaleValue, stream: String, anchor: Tuple?) {
        if let anchor {
            base.emit(value: value, stream: stream, anchor: anchor)
        } else {
            base.emit([value], stream: stream, anchors: anchors)
        }
    }

    func emit(_ values: consuming [GaleValue], stream: String, anchors: [Tuple]) {
        base.emit(values, stream: stream, anchors: anchors)
    }

    func emitDirect(task: Int, _ values: consuming [GaleValue], stream: String, anchors: [Tuple]) {
        base.emitDirect(task: task, values, stream: stream, anchors: anchors)
    }

    /// Does nothing: the runner acks each tuple once it leaves its last window.
    func ack(_ tuple: Tuple) {}

    func fail(_ tuple: Tuple) {
        guard tuple.root != 0, failed.insert(tuple.edge).inserted else { return }
        base.fail(tuple)
    }

    func reportError(_ error: any Error) {
        base.reportError(error)
    }

    func flush() {
        base.flush()
    }

    /// Acks `tuple`, which left its last window, unless the bolt failed it.
    func release(_ tuple: Tuple) {
        if tuple.root != 0, failed.remove(tuple.edge) != nil { return }
        base.ack(tuple)
    }
}
