/// The tuples of one window evaluation (Storm's `TupleWindow`).
public struct TupleWindow: Sendable {
    /// Every tuple in the window, oldest first.
    public let tuples: WindowTuples
    /// The tuples that were not in the previous evaluation.
    public let new: WindowTuples
    /// The tuples of the previous evaluation that are not in this one.
    public let expired: WindowTuples
    /// The window's start in milliseconds since 1970, inclusive, for duration windows (`nil` for
    /// count windows).
    public let start: Int64?
    /// The window's end in milliseconds since 1970, exclusive: every tuple in the window is
    /// older. For a count-slid window, just after the tuple that completed it.
    public let end: Int64

    /// Creates a window of these tuples (for tests of a bolt).
    public init(tuples: [Tuple], new: [Tuple], expired: [Tuple], start: Int64?, end: Int64) {
        self.init(
            tuples: WindowTuples(tuples),
            new: WindowTuples(new),
            expired: WindowTuples(expired),
            start: start,
            end: end
        )
    }

    init(tuples: WindowTuples, new: WindowTuples, expired: WindowTuples, start: Int64?, end: Int64) {
        self.tuples = tuples
        self.new = new
        self.expired = expired
        self.start = start
        self.end = end
    }
}

/// A bolt that processes windows of tuples rather than single tuples (Storm's `IWindowedBolt`).
/// Add it with ``TopologyBuilder/setBolt(_:parallelism:tasks:window:_:)``.
///
/// ```swift
/// final class MovingAverage: WindowedBolt {
///     private var collector: (any OutputCollector)?
///     func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["average"]) }
///     func prepare(context: TopologyContext, collector: any OutputCollector) throws { self.collector = collector }
///     func execute(_ window: TupleWindow) {
///         let values = window.tuples.compactMap { $0.int(at: 0) }
///         guard !values.isEmpty else { return }
///         collector?.emit([.double(Double(values.reduce(0, +)) / Double(values.count))])
///     }
/// }
/// builder.setBolt("average", window: .sliding(length: .count(30), every: .count(10))) { MovingAverage() }
///     .shuffleGrouping("numbers")
/// ```
///
/// Acking is the runtime's. With the default memory store a tuple is acked once it has left
/// every window that can hold it, so its spout sees the tree complete only after the last window
/// with the tuple was processed, and what the bolt emits without anchors is anchored to every
/// tuple of the window being evaluated (a failure downstream replays the window's tuples). With a
/// durable store (``WindowConfig/stored(in:)``) a tuple is acked once the store has it durably,
/// and emits are not anchored. ``OutputCollector/ack(_:)`` on a window's tuple does nothing;
/// ``OutputCollector/fail(_:)`` fails its trees at once.
///
/// Threading: every method runs on the task's serial executor queue, like a ``Bolt``'s.
public protocol WindowedBolt: AnyObject {
    /// Declares the streams this bolt emits (the late-tuple stream, if any, is declared for it).
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer)

    /// Called once before the first window; keep the collector to emit.
    func prepare(context: TopologyContext, collector: any OutputCollector) throws

    /// Processes one window evaluation.
    func execute(_ window: TupleWindow)

    /// The topology is shutting down.
    func cleanup()
}

extension WindowedBolt {
    public func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {}
    public func prepare(context: TopologyContext, collector: any OutputCollector) throws {}
    public func cleanup() {}
}

extension TopologyBuilder {
    /// Adds a ``WindowedBolt`` evaluated over `window`, with `parallelism` executors (each task
    /// keeps the windows of the tuples it receives).
    ///
    /// ``build()`` checks that the topology's message timeout is longer than a duration window
    /// can hold a tuple (``WindowConfig/longestHold``) and, with a max spout pending, that a
    /// count window can fill.
    @discardableResult
    public func setBolt(
        _ id: String,
        parallelism: Int = 1,
        tasks: Int? = nil,
        window: WindowConfig,
        _ factory: @escaping @Sendable () -> any WindowedBolt
    ) -> BoltDeclarer {
        let declarer = setBolt(id, parallelism: parallelism, tasks: tasks) { () -> any Bolt in
            WindowedBoltRunner(bolt: factory(), window: window)
        }
        components[components.count - 1].window = window
        return declarer
    }
}
