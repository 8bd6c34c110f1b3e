public import Gale
import Logging

/// The message id of a coordinator tuple: which batch, which attempt, which phase.
package struct CoordinatorMessageId: Hashable, Sendable {
    package var txid: Int64
    package var attempt: Int64
    package var phase: BatchCoordinatorState.Phase
}

/// The spout that drives the transactional layer: it opens batches (txids) in order, keeps at
/// most ``TridentConfig/maxBatchesInFlight`` open, moves each through its process, finish and
/// commit phases (``BatchCoordinatorState``), commits strictly in txid order, and records each
/// committed txid in the ``TransactionalStore`` before anything else happens, so a restart (of
/// its worker, or of the whole topology) resumes after the last committed batch.
///
/// Threading: like every spout, all of it runs on its task's serial queue.
final class MasterBatchCoordinator: Spout {
    static let componentId = "$coordinator"
    static let batchStream = "$batch"
    static let finishStream = "$finish"
    static let commitStream = "$commit"
    /// Tells the spout emitters, untracked, that a txid is committed and recorded: they need not
    /// be part of the commit's tree (and its latency), and hear of a commit only once it is final.
    static let committedStream = "$committed"
    /// Where its progress is stored.
    static let storePath = "coordinator"

    private let topologyName: String
    private let config: TridentConfig
    private let finishLevels: Int
    private let spouts: [any TridentSpout]
    private var logger = Logger(label: "gale.trident.coordinator")
    private var collector: (any SpoutOutputCollector)?
    private var store: (any TransactionalStore)?
    private var state: BatchCoordinatorState?
    /// Actions not yet performed because recording a commit failed; retried first.
    private var deferred: [BatchCoordinatorState.Action] = []
    private var lastOpened = ContinuousClock.now - .seconds(3600)
    /// Nothing opens before this after a batch failed repeatedly (``TridentConfig/retryDelay``).
    private var retryAt: ContinuousClock.Instant?
    /// When each open batch was opened (first attempt) and when its commit began.
    private var openedAt: [Int64: ContinuousClock.Instant] = [:]
    private var commitStartedAt: [Int64: ContinuousClock.Instant] = [:]
    private lazy var metrics = CoordinatorMetrics.of(topologyName)

    init(topologyName: String, config: TridentConfig, finishLevels: Int, spouts: [any TridentSpout]) {
        self.topologyName = topologyName
        self.config = config
        self.finishLevels = finishLevels
        self.spouts = spouts
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declareStream(Self.batchStream, fields: ["$txid", "$attempt"])
        declarer.declareStream(Self.finishStream, fields: ["$txid", "$attempt", "$level"])
        declarer.declareStream(Self.commitStream, fields: ["$txid", "$attempt"])
        declarer.declareStream(Self.committedStream, fields: ["$txid", "$attempt"])
    }

    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {
        self.collector = collector
        logger[metadataKey: "topology"] = "\(topologyName)"
        let store = try config.storeFactory.makeStore(topology: topologyName, settings: context.config.custom)
        self.store = store
        var (lastCommitted, epoch) = try Self.progress(in: store)
        epoch += 1
        try store.put(Self.storePath, Self.record(lastCommitted: lastCommitted, epoch: epoch))
        state = BatchCoordinatorState(
            lastCommitted: lastCommitted,
            epoch: epoch,
            maxInFlight: config.maxBatchesInFlight,
            finishLevels: finishLevels
        )
        logger.info("resuming after txid \(lastCommitted) (epoch \(epoch))")
    }

    /// The last committed txid and the epoch recorded in `store` (zeros before the first start).
    static func progress(in store: any TransactionalStore) throws -> (lastCommitted: Int64, epoch: Int64) {
        guard let bytes = try store.get(storePath) else { return (0, 0) }
        let record = try GaleValue(canonicalBytes: bytes).mapValue
        return (record?["lastCommitted"]?.intValue ?? 0, record?["epoch"]?.intValue ?? 0)
    }

    static func record(lastCommitted: Int64, epoch: Int64) -> [UInt8] {
        GaleValue.map(["lastCommitted": .int(lastCommitted), "epoch": .int(epoch)]).canonicalBytes
    }

    func nextTuple() {
        guard var state else { return }
        if !deferred.isEmpty {
            let actions = deferred
            deferred = []
            perform(actions)
            guard deferred.isEmpty else { return }
        }
        let now = ContinuousClock.now
        if let retryAt {
            guard now >= retryAt else { return }
            self.retryAt = nil
        }
        var opened = 0
        let interval = config.batchEmitInterval
        let spouts = spouts
        let lastOpened = lastOpened
        let actions = state.poll { txid in
            guard interval == .zero || (opened == 0 && now - lastOpened >= interval) else { return false }
            guard spouts.contains(where: { $0.isReady(txid: txid) }) else { return false }
            opened += 1
            return true
        }
        if opened > 0 { self.lastOpened = now }
        self.state = state
        perform(actions)
    }

    func ack(_ messageId: any Sendable) {
        guard let id = messageId as? CoordinatorMessageId, var state else { return }
        let actions = state.acked(txid: id.txid, attempt: id.attempt, phase: id.phase)
        self.state = state
        if deferred.isEmpty { perform(actions) } else { deferred += actions }
    }

    func fail(_ messageId: any Sendable) {
        guard let id = messageId as? CoordinatorMessageId, var state else { return }
        guard state.attempt(of: id.txid) == id.attempt else { return }
        state.failed(txid: id.txid, attempt: id.attempt, phase: id.phase)
        metrics.recordReplay(
            failure: "batch \(id.txid) attempt \(id.attempt) failed in phase \(id.phase)",
            repeated: state.repeatedFailures
        )
        self.state = state
        let delay = config.retryDelay(afterFailures: state.repeatedFailures)
        if delay > .zero {
            retryAt = .now + delay
            logger.warning(
                "batch \(id.txid) failed in phase \(id.phase), \(state.repeatedFailures) times in a row; it and the later open batches start again in \(delay)"
            )
        } else {
            logger.warning("batch \(id.txid) failed in phase \(id.phase); it and the later open batches start again")
        }
        // Deferred emits of the failed batches are moot; a pending commit record is not.
        deferred.removeAll {
            if case .persistCommitted = $0 { return false }
            return true
        }
    }

    private func perform(_ actions: [BatchCoordinatorState.Action]) {
        guard let collector else { return }
        for (index, action) in actions.enumerated() {
            switch action {
            case .emitBatch(let txid, let attempt):
                if openedAt[txid] == nil { openedAt[txid] = .now }
                collector.emit(
                    [.int(txid), .int(attempt)],
                    stream: Self.batchStream,
                    messageId: CoordinatorMessageId(txid: txid, attempt: attempt, phase: .process)
                )
            case .emitFinish(let txid, let attempt, let level):
                collector.emit(
                    [.int(txid), .int(attempt), .int(Int64(level))],
                    stream: Self.finishStream,
                    messageId: CoordinatorMessageId(txid: txid, attempt: attempt, phase: .finish(level: level))
                )
            case .emitCommit(let txid, let attempt):
                commitStartedAt[txid] = .now
                collector.emit(
                    [.int(txid), .int(attempt)],
                    stream: Self.commitStream,
                    messageId: CoordinatorMessageId(txid: txid, attempt: attempt, phase: .commit)
                )
            case .persistCommitted(let txid, let attempt):
                do {
                    guard let store, let state else { return }
                    try store.put(Self.storePath, Self.record(lastCommitted: txid, epoch: state.epoch))
                    collector.emit([.int(txid), .int(attempt)], stream: Self.committedStream, messageId: nil)
                    let now = ContinuousClock.now
                    metrics.recordCommit(
                        txid: txid,
                        commit: now - (commitStartedAt.removeValue(forKey: txid) ?? now),
                        batch: now - (openedAt.removeValue(forKey: txid) ?? now)
                    )
                } catch {
                    // Nothing moves on until the commit is recorded: a restart must never process
                    // a committed txid again.
                    logger.error("cannot record txid \(txid) as committed: \(error); retrying")
                    collector.reportError(error)
                    deferred = Array(actions[index...])
                    return
                }
            }
        }
    }
}

extension MasterBatchCoordinator: StatusReporting {
    /// The last committed txid, the open ones, and commit latencies (for `gale status`).
    func statusLines() -> [String] {
        guard let state else { return [] }
        var line =
            "committed txid \(state.lastCommitted), open \(state.openTxids.map(String.init).joined(separator: ","))"
        if let p50 = metrics.commitLatency(quantile: 0.5), let p99 = metrics.commitLatency(quantile: 0.99) {
            line += ", commit p50 \(p50.inSeconds * 1000) ms, p99 \(p99.inSeconds * 1000) ms"
        }
        line += ", replays \(metrics.replays)"
        return [line]
    }

    /// The table `transactional`: last committed txid, open batches, commit latency, replays and
    /// the last failure.
    func statusTable() -> StatusTable? {
        guard let state else { return nil }
        let p50 = metrics.commitLatency(quantile: 0.5).map { "\($0.inSeconds * 1000)" } ?? ""
        let p99 = metrics.commitLatency(quantile: 0.99).map { "\($0.inSeconds * 1000)" } ?? ""
        return StatusTable(
            name: "transactional",
            columns: [
                "committedTxid", "openBatches", "commitP50Ms", "commitP99Ms", "replays", "failuresInARow",
                "lastFailure",
            ],
            rows: [
                [
                    "\(state.lastCommitted)", state.openTxids.map(String.init).joined(separator: ","), p50, p99,
                    "\(metrics.replays)", "\(state.repeatedFailures)", metrics.lastFailure ?? "",
                ]
            ]
        )
    }
}
