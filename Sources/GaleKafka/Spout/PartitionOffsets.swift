import Gale

/// The offsets of one Kafka partition read by an at-least-once spout: what is in flight, what may
/// be committed, what is due for a retry.
///
/// A pure state machine with no I/O; the spout drives it on its serial queue and does the consuming,
/// committing, seeking and dead-lettering. Offsets are committed only up to the contiguous done
/// prefix: ``committable`` is the offset after the longest run of done records that starts at the
/// committed position, so nothing is committed past a record still pending.
///
/// **Gaps never stall.** Only offsets the consumer returned are tracked (``emitted(_:)``); offsets
/// between them that the consumer never returned (compacted, deleted by retention, transaction
/// markers) count as done. Fetched 0, 1, 2, 5, 6 and all acked commits up to 7.
///
/// **Failures** follow the ``RetryPolicy``: ``failed(_:now:)`` schedules a retry, ``dueRetries(now:)``
/// hands back the offsets to emit again, and a record failing after its last retry is handed back
/// as exhausted; the spout dead-letters or drops it (logging either way) and calls ``markDone(_:)``,
/// so a poisoned record never holds the partition.
///
/// **Back-pressure.** ``shouldPause`` is true while ``maxUncommitted`` or more fetched records are
/// not committed yet (pending, done behind a pending one, or committable but not committed), so
/// a crash replays at most ``maxUncommitted`` records. ``wantsCommitNow`` tells the spout to commit
/// at once rather than at its next interval once half the window is taken and a commit would free
/// some of it, so that a partition read steadily never fills and pauses (a pause drops what
/// librdkafka prefetched, and fetching again was seen to take half a second).
///
/// Every operation costs O(log n) in the number of tracked records, or amortised O(1).
public struct PartitionOffsets: Sendable {
    /// Where a tracked record stands.
    public enum RecordState: String, Hashable, Sendable, Codable {
        /// Emitted, waiting for its ack or failure.
        case inFlight
        /// Failed, waiting for its retry to fall due.
        case retryScheduled
        /// Failed after its last retry: to be dead-lettered or dropped, then marked done.
        case exhausted
        /// Acked, dead-lettered, dropped or skipped; waiting only for the records before it.
        case done
    }

    /// What became of a failure.
    public enum FailureOutcome: Hashable, Sendable {
        /// A retry is scheduled: ``PartitionOffsets/dueRetries(now:)`` returns the offset from `due` on.
        case retryScheduled(due: ContinuousClock.Instant, retry: Int)
        /// No retry is left: dead-letter or drop the record, then call ``PartitionOffsets/markDone(_:)``.
        case exhausted(retries: Int)
        /// The offset is not in flight (unknown, done, already failed): nothing changes.
        case ignored
    }

    /// A snapshot for `gale status`: what the partition has committed and what holds it back.
    public struct Statistics: Hashable, Sendable, Codable {
        /// The partition.
        public var partition: Int32
        /// The last offset the spout reported committed to Kafka (``PartitionOffsets/markCommitted(_:)``).
        public var committed: Int64
        /// The offset that may be committed now.
        public var committable: Int64
        /// The offset after the last one fetched: the next one the consumer returns.
        public var position: Int64
        /// The record holding the partition back (the first not done), if any.
        public var oldestPending: Int64?
        /// How many times ``oldestPending`` has been retried.
        public var oldestPendingRetries: Int?
        /// Where ``oldestPending`` stands.
        public var oldestPendingState: RecordState?
        /// Records not yet done (in flight, waiting for a retry, or exhausted).
        public var pendingCount: Int
        /// Records waiting for a retry.
        public var retryingCount: Int
        /// Records exhausted and not yet dead-lettered or dropped.
        public var exhaustedCount: Int
        /// Records fetched and not yet committable (pending, or done behind a pending one).
        public var uncommittedCount: Int
        /// Whether the spout should pause fetching the partition.
        public var paused: Bool
    }

    /// The partition tracked.
    public let partition: Int32
    /// The number of fetched, not yet committable records at which ``shouldPause`` turns true.
    public let maxUncommitted: Int
    /// When failed records are retried.
    public let retryPolicy: RetryPolicy
    /// The last offset reported committed to Kafka: the first offset to consume after a restart.
    public private(set) var committed: Int64
    /// The offset after the last one fetched.
    public private(set) var position: Int64

    /// Fetched, not yet committable records in offset order, from index `head`.
    private var entries: [Entry] = []
    private var head = 0
    /// Retries by due time; an element is stale when its record's state no longer matches it,
    /// and stale elements are popped as soon as they reach the head.
    private var retryQueue = MinHeap<ScheduledRetry>()
    private var pending = 0
    /// Done records behind ``committable`` and not yet committed (dropped from `entries`).
    private var settled = 0
    private var retrying = 0
    private var exhausted = 0

    struct Entry: Sendable {
        var offset: Int64
        var state: RecordState
        var retries: Int
        var due: ContinuousClock.Instant?
    }

    /// Tracking that starts from a committed offset (after a restart or a rebalance).
    ///
    /// - Parameters:
    ///   - partition: The partition.
    ///   - committed: The committed offset: the first offset to consume.
    ///   - maxUncommitted: The number of uncommitted fetched records at which to pause (at least 1).
    ///   - retryPolicy: When failed records are retried.
    public init(
        partition: Int32,
        committed: Int64,
        maxUncommitted: Int = 10_000,
        retryPolicy: RetryPolicy = RetryPolicy()
    ) {
        self.partition = partition
        self.committed = committed
        self.position = committed
        self.maxUncommitted = max(1, maxUncommitted)
        self.retryPolicy = retryPolicy
    }

    // MARK: - Queries

    /// The offset to commit: after the last record of the done prefix, skipping offsets never fetched.
    public var committable: Int64 {
        head < entries.count ? entries[head].offset : position
    }

    /// Whether ``committable`` is ahead of what was committed.
    public var needsCommit: Bool { committable > committed }

    /// Fetched records that are not committed yet: pending, done behind a pending one, or
    /// committable but not yet committed (``markCommitted(_:)``).
    public var uncommittedCount: Int { entries.count - head + settled }

    /// Whether the spout should pause fetching this partition: ``uncommittedCount`` reached ``maxUncommitted``.
    public var shouldPause: Bool { uncommittedCount >= maxUncommitted }

    /// Whether half of ``maxUncommitted`` or more is taken and a commit would release some of it.
    public var wantsCommitNow: Bool { settled > 0 && uncommittedCount >= (maxUncommitted + 1) / 2 }

    /// Records not yet done.
    public var pendingCount: Int { pending }

    /// Records waiting for a retry.
    public var retryingCount: Int { retrying }

    /// The earliest time a scheduled retry falls due, for the spout's timer.
    public var nextRetryDue: ContinuousClock.Instant? {
        retryQueue.min?.due
    }

    /// Where a fetched, not yet committable record stands; `nil` for offsets not tracked.
    public func state(of offset: Int64) -> RecordState? {
        index(of: offset).map { entries[$0].state }
    }

    /// How many times a tracked record has been retried.
    public func retries(of offset: Int64) -> Int? {
        index(of: offset).map { entries[$0].retries }
    }

    /// A snapshot for `gale status`, naming the record that holds the partition back.
    public var statistics: Statistics {
        let oldest = head < entries.count ? entries[head] : nil
        return Statistics(
            partition: partition,
            committed: committed,
            committable: committable,
            position: position,
            oldestPending: oldest?.offset,
            oldestPendingRetries: oldest?.retries,
            oldestPendingState: oldest?.state,
            pendingCount: pending,
            retryingCount: retrying,
            exhaustedCount: exhausted,
            uncommittedCount: uncommittedCount,
            paused: shouldPause
        )
    }

    // MARK: - Transitions

    /// Records a fetched record that the spout emits (or holds, like a chunk of an incomplete payload).
    ///
    /// Offsets must rise; offsets skipped over are never fetched and count as done.
    /// - Returns: `false` when the offset is below ``position`` (already seen, for example fetched
    ///   again after a seek) and is not tracked again; the spout emits such a record only when
    ///   ``dueRetries(now:)`` named it.
    @discardableResult
    public mutating func emitted(_ offset: Int64) -> Bool {
        guard offset >= position else { return false }
        entries.append(Entry(offset: offset, state: .inFlight, retries: 0, due: nil))
        position = offset + 1
        pending += 1
        return true
    }

    /// Records that a record's tuple tree completed.
    ///
    /// - Returns: `false` when the offset is not pending (unknown, or already done).
    @discardableResult
    public mutating func acked(_ offset: Int64) -> Bool {
        markDone(offset)
    }

    /// Records that a record needs no more work: acked, dead-lettered or dropped after exhaustion,
    /// or skipped (a duplicate chunk, a chunk of a failed payload).
    ///
    /// - Returns: `false` when the offset is not pending (unknown, or already done).
    @discardableResult
    public mutating func markDone(_ offset: Int64) -> Bool {
        guard let index = index(of: offset) else { return false }
        switch entries[index].state {
        case .done: return false
        case .inFlight: break
        case .retryScheduled: retrying -= 1
        case .exhausted: exhausted -= 1
        }
        let wasScheduled = entries[index].state == .retryScheduled
        entries[index].state = .done
        entries[index].due = nil
        pending -= 1
        advance()
        if wasScheduled { dropStaleRetries() }
        return true
    }

    /// Records that a record's tuple tree failed: schedules its next retry, or hands it back exhausted.
    ///
    /// - Parameters:
    ///   - offset: The failed record.
    ///   - now: The current time; the retry falls due after the policy's delay.
    public mutating func failed(_ offset: Int64, now: ContinuousClock.Instant) -> FailureOutcome {
        guard let index = index(of: offset), entries[index].state == .inFlight else { return .ignored }
        let retry = entries[index].retries + 1
        guard let delay = retryPolicy.delay(beforeRetry: retry) else {
            entries[index].state = .exhausted
            exhausted += 1
            return .exhausted(retries: entries[index].retries)
        }
        let due = now + delay
        entries[index].state = .retryScheduled
        entries[index].due = due
        retrying += 1
        retryQueue.push(ScheduledRetry(due: due, offset: offset))
        return .retryScheduled(due: due, retry: retry)
    }

    /// The records whose retry is due, in offset order; each is in flight again and its retry counted.
    ///
    /// The spout emits them again (from a retained copy, or by seeking to the lowest).
    public mutating func dueRetries(now: ContinuousClock.Instant) -> [Int64] {
        var due: [Int64] = []
        while let next = retryQueue.min, next.due <= now {
            retryQueue.popMin()
            guard let index = index(of: next.offset), entries[index].state == .retryScheduled,
                entries[index].due == next.due
            else { continue }
            entries[index].state = .inFlight
            entries[index].due = nil
            entries[index].retries += 1
            retrying -= 1
            due.append(next.offset)
        }
        dropStaleRetries()
        due.sort()
        return due
    }

    /// Records that the spout committed `offset` to Kafka.
    public mutating func markCommitted(_ offset: Int64) {
        committed = max(committed, offset)
        // Records between the old and new committed offset are no longer uncommitted. The spout
        // commits the committable offset, so all settled records are covered; an older offset
        // (a commit that raced further acks) leaves the count as it is, erring towards pausing.
        if committed >= committable { settled = 0 }
    }

    // MARK: - Internals

    /// Drops the done prefix, so ``committable`` moves to the first record not done.
    private mutating func advance() {
        while head < entries.count, entries[head].state == .done {
            head += 1
            settled += 1
        }
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    /// The index of a tracked offset, by binary search.
    private func index(of offset: Int64) -> Int? {
        var low = head
        var high = entries.count
        while low < high {
            let middle = low + (high - low) / 2
            if entries[middle].offset < offset {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < entries.count && entries[low].offset == offset ? low : nil
    }

    /// Pops retries whose record was acked meanwhile, so the queue's head is always live.
    private mutating func dropStaleRetries() {
        while let next = retryQueue.min {
            if let index = index(of: next.offset), entries[index].state == .retryScheduled,
                entries[index].due == next.due
            {
                return
            }
            retryQueue.popMin()
        }
    }
}

// MARK: - Retry queue

/// A scheduled retry in the retry queue (a ``MinHeap``), first by due time, then by offset.
struct ScheduledRetry: Sendable, HeapOrdered {
    var due: ContinuousClock.Instant
    var offset: Int64

    func precedes(_ other: ScheduledRetry) -> Bool {
        due < other.due || (due == other.due && offset < other.offset)
    }
}
