import Gale
import Logging

/// Runs one ``BatchEmitter`` task of a ``TridentSpout``: on each batch tuple it emits the task's
/// records of the batch (anchored to it, prefixed by txid and attempt), after storing the batch's
/// metadata per txid in the ``TransactionalStore``; once a txid is committed and recorded (the
/// coordinator's untracked `$committed` notice, so that emitters stay off the commit's critical
/// path) it tells the emitter and forgets the metadata of older txids.
///
/// A batch tuple of an attempt older than one this task already emitted for its txid, or of an
/// older coordinator epoch than the newest seen (a tuple of a dead coordinator arriving late, over
/// another connection than its successor's), is acked and ignored: emitting it would store its
/// metadata over the newer attempt's, and an opaque emitter's next batch would start from where
/// the stale attempt ended rather than where the committed one did.
///
/// Threading: like every bolt, all of it runs on its task's serial queue.
final class EmitterBolt: Bolt {
    private let spout: any TridentSpout
    private let streamName: String
    private let outputStream: String
    private let topologyName: String
    private let config: TridentConfig
    private var logger = Logger(label: "gale.trident.emitter")
    private var collector: (any OutputCollector)?
    private var emitter: (any BatchEmitter)?
    private var store: (any TransactionalStore)?
    private var directory = ""
    /// The newest coordinator epoch seen (attempt ids carry it in their upper 32 bits).
    private var newestEpoch: Int64 = 0
    /// The newest attempt emitted per open txid.
    private var attempts: [Int64: Int64] = [:]

    init(spout: any TridentSpout, streamName: String, outputStream: String, topologyName: String, config: TridentConfig)
    {
        self.spout = spout
        self.streamName = streamName
        self.outputStream = outputStream
        self.topologyName = topologyName
        self.config = config
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declareStream(outputStream, fields: Fields(["$txid", "$attempt"] + spout.outputFields))
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
        logger[metadataKey: "stream"] = "\(streamName)"
        logger[metadataKey: "task"] = "\(context.taskIndex)"
        store = try config.storeFactory.makeStore(topology: topologyName, settings: context.config.custom)
        directory = "emitters/\(streamName)/\(context.taskIndex)"
        if let store { newestEpoch = try MasterBatchCoordinator.progress(in: store).epoch }
        emitter = try spout.makeEmitter(
            context: EmitterContext(
                topologyName: topologyName,
                streamName: streamName,
                taskIndex: context.taskIndex,
                tasks: max(1, context.componentTasks.count),
                settings: context.config.custom
            )
        )
    }

    func execute(_ tuple: Tuple) {
        guard let collector, let emitter, let store,
            let txid = tuple.int(at: 0), tuple.count >= 2, let attempt = tuple[1].intValue
        else { return }
        do {
            switch tuple.sourceStreamId {
            case MasterBatchCoordinator.batchStream:
                let epoch = attempt >> 32
                if epoch < newestEpoch || attempt < attempts[txid, default: 0] {
                    logger.info("batch \(txid): attempt \(attempt) is stale; ignored")
                    collector.ack(tuple)
                    break
                }
                newestEpoch = epoch
                attempts[txid] = attempt
                let path = "\(directory)/\(txid)"
                let stored = try store.get(path).map { try GaleValue(canonicalBytes: $0) }
                let previous = try store.get("\(directory)/\(txid - 1)").map { try GaleValue(canonicalBytes: $0) }
                var count = 0
                let limit = config.maxBatchSize
                let prefix: [GaleValue] = [.int(txid), .int(attempt)]
                let metadata = try emitter.emitBatch(txid: txid, stored: stored, previous: previous) { values in
                    count += 1
                    guard count <= limit else { return }
                    collector.emit(prefix + values, stream: outputStream, anchor: tuple)
                }
                guard count <= limit else {
                    throw TridentError.batchTooLarge(stream: streamName, txid: txid, records: count, limit: limit)
                }
                if metadata != stored { try store.put(path, metadata.canonicalBytes) }
                collector.ack(tuple)
            case MasterBatchCoordinator.committedStream:
                attempts = attempts.filter { $0.key > txid }
                if let bytes = try store.get("\(directory)/\(txid)") {
                    emitter.committed(txid: txid, metadata: try GaleValue(canonicalBytes: bytes))
                }
                // Keep this txid's metadata: the next batch starts where it ended (and a replay of the
                // next batch needs it as its previous). Older ones are over: this txid is recorded.
                for child in try store.children(directory) {
                    if let old = Int64(child), old < txid { try store.delete("\(directory)/\(child)") }
                }
                collector.ack(tuple)
            default:
                collector.ack(tuple)
            }
        } catch {
            logger.error("batch \(txid) of stream \(streamName): \(error)")
            collector.reportError(error)
            collector.fail(tuple)
        }
        // Every tuple here comes from the coordinator, which waits on it (see SegmentBolt).
        collector.flush()
    }

    func cleanup() {
        emitter?.close()
    }
}
