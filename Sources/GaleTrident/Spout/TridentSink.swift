public import Gale

/// What a sink task knows of its place.
public struct SinkContext: Sendable {
    /// The topology's name.
    public var topologyName: String
    /// The sink's name (``Stream/sink(_:_:)``), unique in the topology.
    public var sinkName: String
    /// This task's index among ``tasks``.
    public var taskIndex: Int
    /// The number of sink tasks.
    public var tasks: Int
    /// The fields of the records the sink gets.
    public var fields: [String]
    /// The names of the spout streams upstream of the sink (their emitters' metadata per txid is
    /// in ``store`` under `emitters/<stream>/<task>/<txid>`).
    public var upstreamStreams: [String]
    /// The topology's store (see ``TransactionalStore``).
    public var store: any TransactionalStore
    /// The topology's custom settings.
    public var settings: [String: String]
}

/// A destination that receives each batch at commit, in txid order (an exactly-once Kafka sink,
/// for example): ``Stream/sink(_:_:)``.
public protocol TridentSink: Sendable {
    /// The writer of one task.
    func makeWriter(context: SinkContext) throws -> any BatchWriter
}

/// Writes one task's share of each batch.
///
/// Threading: every method runs on the sink task's serial queue.
public protocol BatchWriter: AnyObject {
    /// Writes the records of batch `txid` this task received (possibly none), at commit.
    ///
    /// Called in txid order. A batch whose commit fails anywhere is processed and committed
    /// again, so `write` may see a txid again, with the same records for a transactional spout
    /// (in the same order: they come sorted by their values) and possibly others for an opaque
    /// one; it must make the repetition harmless (Kafka transactions, or records that name their
    /// txid and position so that readers skip repeats). A thrown error fails the batch.
    func write(txid: Int64, records: [[GaleValue]]) throws

    /// The task stops.
    func close()
}

extension BatchWriter {
    public func close() {}
}
