import Synchronization

/// The bounded inbound queue of one executor: batches from many producers, one consumer.
///
/// Producers hand over whole batches (one lock per batch); the consumer takes several batches at
/// once. The inbox also owns the executor's "scheduled" flag, so that a push schedules a drain
/// exactly when none is pending, and it reports crossing the high and low watermarks.
package final class Inbox: Sendable {
    package struct State: ~Copyable {
        var batches: [ContiguousArray<Envelope>] = []
        /// Envelopes queued and not yet taken.
        var count = 0
        /// The largest `count` seen.
        var maxCount = 0
        /// A drain is queued or running.
        var scheduled = false
        /// Above the high watermark and not yet back below the low one.
        var overloaded = false
        /// The generation of the newest pause timer; older timers find it changed and do nothing.
        var timerGeneration: UInt64 = 0
    }

    /// Result of a push.
    package struct PushResult {
        /// The caller must schedule a drain.
        package var schedule: Bool
        /// The push crossed the high watermark.
        package var becameOverloaded: Bool
    }

    private let headPadding = CacheLinePadding()
    package let capacity: Int
    package let highWatermark: Int
    package let lowWatermark: Int
    /// Whether this inbox reports watermarks (spout inboxes do not).
    package let watchesWatermarks: Bool
    private let state = Mutex(State())
    private let tailPadding = CacheLinePadding()

    package init(capacity: Int, watchesWatermarks: Bool) {
        self.capacity = capacity
        self.highWatermark = max(1, capacity / 2)
        self.lowWatermark = max(0, capacity / 4)
        self.watchesWatermarks = watchesWatermarks
    }

    /// Appends a batch.
    package func push(_ batch: ContiguousArray<Envelope>) -> PushResult {
        let n = batch.count
        return state.withLock { s in
            s.batches.append(batch)
            s.count += n
            if s.count > s.maxCount { s.maxCount = s.count }
            var result = PushResult(schedule: false, becameOverloaded: false)
            if watchesWatermarks && !s.overloaded && s.count >= highWatermark {
                s.overloaded = true
                result.becameOverloaded = true
            }
            if !s.scheduled {
                s.scheduled = true
                result.schedule = true
            }
            return result
        }
    }

    /// Moves queued batches into `taken` until it holds at least `limit` envelopes or the inbox is empty.
    /// - Returns: the number of envelopes taken.
    package func take(into taken: inout [ContiguousArray<Envelope>], limit: Int) -> Int {
        state.withLock { s in
            guard s.count > 0 else { return 0 }
            if s.count <= limit && taken.isEmpty {
                swap(&taken, &s.batches)
                let n = s.count
                s.count = 0
                return n
            }
            var n = 0
            var k = 0
            while k < s.batches.count && n < limit {
                n += s.batches[k].count
                k += 1
            }
            taken.append(contentsOf: s.batches[0..<k])
            s.batches.removeFirst(k)
            s.count -= n
            return n
        }
    }

    /// What the consumer does after a drain.
    package enum FinishDecision: Equatable {
        /// More is queued (or `wantsMore`): run again now.
        case runAgain
        /// Run again after a pause (a spout that emitted nothing), unless a push wakes the
        /// executor first: the flag is cleared meanwhile, and the timer of this generation runs
        /// the drain only if it is still the newest and nothing else claimed the drain
        /// (``claimTimer(_:)``).
        case runLater(generation: UInt64)
        /// Nothing to do: the flag is cleared, the next push schedules a drain.
        case idle
    }

    /// Ends a drain. Decides under the lock, so a push or wake-up racing with it is never lost.
    /// - Parameters:
    ///   - wantsMore: evaluated under the lock; `true` runs again now.
    ///   - wantsLater: evaluated under the lock when nothing is queued; `true` runs again later.
    ///   - paused: evaluated under the lock; `true` leaves queued input for after a ``claimSchedule()``.
    /// - Returns: the decision and whether the inbox fell below the low watermark.
    package func finish(
        wantsMore: () -> Bool,
        wantsLater: () -> Bool,
        paused: () -> Bool = { false }
    ) -> (FinishDecision, relieved: Bool) {
        state.withLock { s in
            var relieved = false
            if s.overloaded && s.count <= lowWatermark {
                s.overloaded = false
                relieved = true
            }
            if (s.count > 0 && !paused()) || wantsMore() { return (.runAgain, relieved) }
            if wantsLater() {
                s.scheduled = false
                s.timerGeneration &+= 1
                return (.runLater(generation: s.timerGeneration), relieved)
            }
            s.scheduled = false
            return (.idle, relieved)
        }
    }

    /// Sets the scheduled flag if it is clear. - Returns: `true` when the caller must schedule a drain.
    package func claimSchedule() -> Bool {
        state.withLock { s in
            if s.scheduled { return false }
            s.scheduled = true
            return true
        }
    }

    /// Claims the drain for the pause timer of `generation`. - Returns: `true` when the timer must
    /// run a drain: it is the newest timer and no drain is queued or running.
    package func claimTimer(_ generation: UInt64) -> Bool {
        state.withLock { s in
            guard s.timerGeneration == generation, !s.scheduled else { return false }
            s.scheduled = true
            return true
        }
    }

    /// Envelopes queued and not yet taken.
    package var count: Int { state.withLock { $0.count } }
    /// The largest queue length seen.
    package var maxCount: Int { state.withLock { $0.maxCount } }

    /// Above the high watermark and not yet back below the low one (the tasks feeding it pause).
    package var isOverloaded: Bool { state.withLock { $0.overloaded } }
    /// `true` when nothing is queued and no drain is scheduled.
    package var isIdle: Bool { state.withLock { $0.count == 0 && !$0.scheduled } }
}
