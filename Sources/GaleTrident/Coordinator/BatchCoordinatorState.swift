/// The batch coordinator as a pure state machine: which transaction ids are open, in which
/// phase, and what to emit next. ``MasterBatchCoordinator`` (a spout) drives it and does the I/O.
///
/// A batch goes through three phases, each one tuple tree tracked by the ordinary acker:
/// 1. **process**: the batch tuple goes to every spout emitter, which emits the batch's records
///    anchored to it; the tree completes when every record was processed by every stateless
///    operation and absorbed by every aggregation that needs the whole batch.
/// 2. **finish**, once per aggregation level (0 or more): every batch bolt gets a finish tuple,
///    and the aggregations of that level emit their results for the batch, anchored to it.
/// 3. **commit**, strictly in txid order: states apply the batch (one transaction each), sinks
///    write it; then the coordinator records the txid as committed and tells the spout emitters.
///
/// Any failure (a failed tuple, a timeout, a worker gone) of a batch's tree makes that batch and
/// every later open one start again with new attempt ids, in order (as Storm Trident's master
/// coordinator does), so spout emitters always see consecutive txids. Attempt ids grow across
/// coordinator restarts (``epoch`` is persisted), so a bolt can tell stale tuples from new ones.
package struct BatchCoordinatorState: Sendable {
    /// The phase of an open batch.
    package enum Phase: Hashable, Sendable {
        case process
        case finish(level: Int)
        case commit
    }

    /// What the coordinator must do.
    package enum Action: Hashable, Sendable {
        /// Emit the batch tuple of `txid` for `attempt` (the process phase).
        case emitBatch(txid: Int64, attempt: Int64)
        /// Emit the finish tuple of `level` for the batch.
        case emitFinish(txid: Int64, attempt: Int64, level: Int)
        /// Emit the commit tuple of the batch.
        case emitCommit(txid: Int64, attempt: Int64)
        /// Record `txid` (committed by `attempt`) as committed, durably, before anything else is
        /// emitted.
        case persistCommitted(txid: Int64, attempt: Int64)
    }

    struct Batch: Sendable {
        var attempt: Int64
        var phase: Phase
        /// The current phase's tree completed (for the last finish level: ready to commit).
        var phaseDone: Bool
    }

    /// Batches processed at once, at most.
    package let maxInFlight: Int
    /// Finish phases per batch (the aggregation levels of the topology).
    package let finishLevels: Int
    /// The last committed txid (0 before the first batch: txids start at 1).
    package private(set) var lastCommitted: Int64
    /// The coordinator's incarnation, persisted and raised on every start.
    package let epoch: Int64
    /// How many times in a row the batch that failed last failed (without committing between).
    package private(set) var repeatedFailures = 0
    private var lastFailedTxid: Int64 = 0
    private var attempts: Int64 = 0
    private var batches: [Int64: Batch] = [:]
    /// The next txid to open.
    private var nextTxid: Int64

    /// A coordinator resuming after `lastCommitted`, in its `epoch`.
    package init(lastCommitted: Int64, epoch: Int64, maxInFlight: Int, finishLevels: Int) {
        self.lastCommitted = lastCommitted
        self.epoch = epoch
        self.maxInFlight = max(1, maxInFlight)
        self.finishLevels = max(0, finishLevels)
        self.nextTxid = lastCommitted + 1
    }

    /// The open txids, ascending.
    package var openTxids: [Int64] { batches.keys.sorted() }

    /// The phase of an open batch.
    package func phase(of txid: Int64) -> Phase? { batches[txid]?.phase }

    /// The current attempt of an open batch.
    package func attempt(of txid: Int64) -> Int64? { batches[txid]?.attempt }

    /// Opens batches while fewer than ``maxInFlight`` are open and `ready` says the next may
    /// open; starts the commit of the next batch in order if it is ready to commit.
    package mutating func poll(ready: (Int64) -> Bool = { _ in true }) -> [Action] {
        var actions: [Action] = []
        startCommitIfDue(into: &actions)
        while batches.count < maxInFlight, ready(nextTxid) {
            let txid = nextTxid
            nextTxid += 1
            let attempt = newAttempt()
            batches[txid] = Batch(attempt: attempt, phase: .process, phaseDone: false)
            actions.append(.emitBatch(txid: txid, attempt: attempt))
        }
        return actions
    }

    /// The tree of `txid`'s `phase` for `attempt` completed.
    package mutating func acked(txid: Int64, attempt: Int64, phase: Phase) -> [Action] {
        guard var batch = batches[txid], batch.attempt == attempt, batch.phase == phase, !batch.phaseDone else {
            return []
        }
        var actions: [Action] = []
        switch phase {
        case .process, .finish:
            let level: Int
            if case .finish(let current) = phase { level = current + 1 } else { level = 1 }
            if level <= finishLevels {
                batch.phase = .finish(level: level)
                batches[txid] = batch
                actions.append(.emitFinish(txid: txid, attempt: attempt, level: level))
            } else {
                batch.phaseDone = true
                batches[txid] = batch
                startCommitIfDue(into: &actions)
            }
        case .commit:
            batches[txid] = nil
            lastCommitted = txid
            if txid >= lastFailedTxid { repeatedFailures = 0 }
            actions.append(.persistCommitted(txid: txid, attempt: attempt))
            startCommitIfDue(into: &actions)
        }
        return actions
    }

    /// The tree of `txid`'s `phase` for `attempt` failed: that batch and every later open batch
    /// start again (``poll(ready:)`` reopens them, in order, with new attempts).
    package mutating func failed(txid: Int64, attempt: Int64, phase: Phase) {
        guard let batch = batches[txid], batch.attempt == attempt, batch.phase == phase else { return }
        if txid == lastFailedTxid {
            repeatedFailures += 1
        } else {
            (lastFailedTxid, repeatedFailures) = (txid, 1)
        }
        for open in batches.keys where open >= txid { batches[open] = nil }
        nextTxid = min(nextTxid, txid)
    }

    /// Starts the commit of `lastCommitted + 1` when its last phase is done.
    private mutating func startCommitIfDue(into actions: inout [Action]) {
        let txid = lastCommitted + 1
        guard var batch = batches[txid], batch.phaseDone, batch.phase != .commit else { return }
        batch.phase = .commit
        batch.phaseDone = false
        batches[txid] = batch
        actions.append(.emitCommit(txid: txid, attempt: batch.attempt))
    }

    private mutating func newAttempt() -> Int64 {
        attempts += 1
        return epoch << 32 | attempts
    }
}
