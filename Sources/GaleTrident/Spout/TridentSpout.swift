public import Gale

/// How a spout's batches behave when a transaction id is processed again.
public enum TridentSpoutKind: String, Sendable {
    /// A txid always carries exactly the same records (its metadata, stored per txid, is reused).
    case transactional
    /// A replayed txid may carry other records (the emitter may ignore what it stored); pair it
    /// with an opaque state.
    case opaque
}

/// What an emitter task knows of its place.
public struct EmitterContext: Sendable {
    /// The topology's name.
    public var topologyName: String
    /// The stream's name (``TridentTopology/newStream(_:_:)``).
    public var streamName: String
    /// This emitter task's index among ``tasks``.
    public var taskIndex: Int
    /// The number of emitter tasks.
    public var tasks: Int
    /// The topology's custom settings (in a cluster, `gale.zookeeper.servers` among them).
    public var settings: [String: String]

    /// A context from its parts (the layer makes them; tests and tools driving an emitter too).
    public init(topologyName: String, streamName: String, taskIndex: Int, tasks: Int, settings: [String: String] = [:])
    {
        self.topologyName = topologyName
        self.streamName = streamName
        self.taskIndex = taskIndex
        self.tasks = tasks
        self.settings = settings
    }
}

/// A source of batches for the transactional layer (Storm Trident's `ITridentSpout`).
///
/// The layer runs ``parallelism`` emitter tasks; for each batch (txid) each task's emitter emits
/// its share of the records and returns metadata (for example offset ranges) that the layer stores
/// durably per txid before the batch is processed, so that a transactional spout replays a txid
/// exactly.
public protocol TridentSpout: Sendable {
    /// The fields of the records it emits.
    var outputFields: [String] { get }
    /// Whether a replayed txid carries the same records.
    var kind: TridentSpoutKind { get }
    /// The number of emitter tasks.
    var parallelism: Int { get }
    /// The most records one emitter task puts in one batch, for the layer's limit check.
    var maxBatchSize: Int { get }
    /// The emitter of one task.
    func makeEmitter(context: EmitterContext) throws -> any BatchEmitter
    /// Whether batch `txid` may open now (for example: data is there). Called by the coordinator.
    func isReady(txid: Int64) -> Bool
}

extension TridentSpout {
    public var kind: TridentSpoutKind { .transactional }
    public var parallelism: Int { 1 }
    public func isReady(txid: Int64) -> Bool { true }
}

/// Emits one task's share of each batch.
///
/// Threading: every method runs on the emitter task's serial queue.
public protocol BatchEmitter: AnyObject {
    /// Emits the records of batch `txid` and returns the metadata to store for it.
    ///
    /// - Parameters:
    ///   - txid: The batch. Txids come in order; after a failure the failed txid comes again, then
    ///     the ones after it.
    ///   - stored: The metadata this task stored for `txid` when it was emitted before (a replay),
    ///     or `nil`. A transactional emitter must emit exactly the records it describes.
    ///   - previous: This task's metadata for `txid - 1`, or `nil` for the first batch.
    ///   - emit: Emits one record's values (one per ``TridentSpout/outputFields``).
    func emitBatch(
        txid: Int64,
        stored: GaleValue?,
        previous: GaleValue?,
        emit: (_ values: [GaleValue]) -> Void
    ) throws -> GaleValue

    /// Batch `txid`, described by `metadata`, is committed (for example: commit consumer offsets
    /// for monitoring).
    func committed(txid: Int64, metadata: GaleValue)

    /// The task stops.
    func close()
}

extension BatchEmitter {
    public func committed(txid: Int64, metadata: GaleValue) {}
    public func close() {}
}
