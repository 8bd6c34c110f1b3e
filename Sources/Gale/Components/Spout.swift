/// A source of tuples.
///
/// Threading: every method of a `Spout` runs on its task's serial executor queue, one at a time,
/// so a spout needs no locking of its own. ``nextTuple()`` must not block: emit what is ready and
/// return; the runtime backs off when a call emits nothing.
///
/// Each task gets its own instance from the factory given to ``TopologyBuilder``.
public protocol Spout: AnyObject {
    /// Declares the streams this spout emits. Called once when the topology is built.
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer)

    /// Called once before the first ``nextTuple()``; keep the collector to emit.
    /// - Throws: any error stops the topology from starting and is reported with the task.
    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws

    /// Emits zero or more tuples. Called repeatedly while the spout is active, the number of
    /// pending tuple trees is below `maxSpoutPending`, and no bolt downstream is overloaded.
    func nextTuple()

    /// The tuple tree of the tuple emitted with `messageId` completed.
    func ack(_ messageId: any Sendable)

    /// The tuple tree of the tuple emitted with `messageId` failed or timed out.
    func fail(_ messageId: any Sendable)

    /// The topology was activated (also called after ``open(context:collector:)``).
    func activate()

    /// The topology was deactivated: ``nextTuple()`` is not called until ``activate()``.
    func deactivate()

    /// The topology is shutting down. Release resources here.
    func close()
}

extension Spout {
    public func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {}
    public func ack(_ messageId: any Sendable) {}
    public func fail(_ messageId: any Sendable) {}
    public func activate() {}
    public func deactivate() {}
    public func close() {}
}
