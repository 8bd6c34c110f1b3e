/// A processing step: receives tuples, may emit new ones, and acks or fails each input.
///
/// Threading: every method of a `Bolt` runs on its task's serial executor queue, one at a time.
/// ``execute(_:)`` should not block for long: the executor drains its input in batches and a
/// blocked bolt holds up its whole batch.
///
/// A bolt in a topology with acking must ack or fail every input tuple, or its tree times out.
/// ``BasicBolt`` does this automatically.
public protocol Bolt: AnyObject {
    /// Declares the streams this bolt emits. Called once when the topology is built.
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer)

    /// Called once before the first tuple; keep the collector to emit, ack and fail.
    /// - Throws: any error stops the topology from starting and is reported with the task.
    func prepare(context: TopologyContext, collector: any OutputCollector) throws

    /// Processes one input tuple (or a tick tuple, see ``Tuple/isTick``).
    func execute(_ tuple: Tuple)

    /// The topology is shutting down. Release resources here.
    func cleanup()

    /// Seconds between the tick tuples this bolt asks for when its declaration sets no
    /// ``BoltDeclarer/tickFrequency(seconds:)`` (Storm's per-component
    /// `topology.tick.tuple.freq.secs`); `nil` (the default) for none. Read once when the
    /// topology is built.
    var defaultTickFrequencySeconds: Double? { get }
}

extension Bolt {
    public var defaultTickFrequencySeconds: Double? { nil }
    public func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {}
    public func prepare(context: TopologyContext, collector: any OutputCollector) throws {}
    public func cleanup() {}
}

/// A bolt whose emits are anchored to the input and whose input is acked after ``execute(_:collector:)``
/// returns, or failed when it throws.
///
/// Threading: as ``Bolt``, every method runs on the task's serial executor queue.
public protocol BasicBolt: AnyObject {
    /// Declares the streams this bolt emits. Called once when the topology is built.
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer)

    /// Called once before the first tuple.
    func prepare(context: TopologyContext) throws

    /// Processes one tuple. Everything emitted through `collector` is anchored to `tuple`.
    /// - Throws: any error fails `tuple` (its spout replays it) and is reported as the component's error.
    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws

    /// The topology is shutting down.
    func cleanup()
}

extension BasicBolt {
    public func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {}
    public func prepare(context: TopologyContext) throws {}
    public func cleanup() {}
}
