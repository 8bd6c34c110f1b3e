import Testing

@testable import GaleKafka

@Suite struct PartitionOffsetsTests {
    let t0 = ContinuousClock.now
    let policy = RetryPolicy(initialDelay: .seconds(1), multiplier: 2, maxDelay: .seconds(10), maxRetries: 3)

    func tracker(committed: Int64 = 0, maxUncommitted: Int = 100) -> PartitionOffsets {
        PartitionOffsets(partition: 7, committed: committed, maxUncommitted: maxUncommitted, retryPolicy: policy)
    }

    @Test func aContiguousAckedPrefixIsCommittable() {
        var offsets = tracker(committed: 100)
        #expect(offsets.committable == 100)
        for offset in Int64(100)..<105 { offsets.emitted(offset) }
        #expect(offsets.committable == 100)
        offsets.acked(100)
        offsets.acked(101)
        #expect(offsets.committable == 102)
        offsets.acked(102)
        offsets.acked(103)
        offsets.acked(104)
        #expect(offsets.committable == 105)
        #expect(offsets.pendingCount == 0)
        #expect(offsets.uncommittedCount == 5, "committable, not committed")
        offsets.markCommitted(105)
        #expect(offsets.uncommittedCount == 0)
    }

    @Test func outOfOrderAcksCommitOnlyOnceThePrefixIsComplete() {
        var offsets = tracker()
        for offset in Int64(0)..<5 { offsets.emitted(offset) }
        offsets.acked(3)
        offsets.acked(1)
        offsets.acked(4)
        #expect(offsets.committable == 0)
        offsets.acked(0)
        #expect(offsets.committable == 2)
        offsets.acked(2)
        #expect(offsets.committable == 5)
    }

    @Test func offsetsNeverFetchedAreSkipped() {
        var offsets = tracker()
        for offset: Int64 in [0, 1, 2, 5, 6] { offsets.emitted(offset) }
        for offset: Int64 in [0, 1, 2] { offsets.acked(offset) }
        #expect(offsets.committable == 5)
        offsets.acked(6)
        #expect(offsets.committable == 5)
        offsets.acked(5)
        #expect(offsets.committable == 7)
        #expect(offsets.state(of: 3) == nil)
        let result1 = offsets.acked(3)
        #expect(!result1)
    }

    @Test func aGapBeforeTheFirstFetchedOffsetIsSkipped() {
        var offsets = tracker(committed: 10)
        offsets.emitted(250)  // 10..<250 deleted by retention
        #expect(offsets.committable == 250)
        offsets.acked(250)
        #expect(offsets.committable == 251)
    }

    @Test func aPendingRecordBlocksCommitsPastIt() {
        var offsets = tracker()
        for offset in Int64(0)..<1000 { offsets.emitted(offset) }
        for offset in Int64(0)..<1000 where offset != 17 { offsets.acked(offset) }
        #expect(offsets.committable == 17)
        #expect(offsets.pendingCount == 1)
        #expect(offsets.uncommittedCount == 1000, "983 behind the pending one, 17 committable")
        offsets.markCommitted(offsets.committable)
        #expect(offsets.uncommittedCount == 983)
        offsets.acked(17)
        #expect(offsets.committable == 1000)
    }

    @Test func offsetsAlreadySeenAreNotTrackedAgain() {
        var offsets = tracker(committed: 5)
        let result2 = offsets.emitted(4)
        #expect(!result2)
        let result3 = offsets.emitted(5)
        #expect(result3)
        let result4 = offsets.emitted(5)
        #expect(!result4)
        let result5 = offsets.emitted(8)
        #expect(result5)
        let result6 = offsets.emitted(6)
        #expect(!result6)
        #expect(offsets.position == 9)
        #expect(offsets.pendingCount == 2)
    }

    @Test func reachingMaxUncommittedPausesThePartitionUntilCommitsDrain() {
        var offsets = tracker(maxUncommitted: 3)
        offsets.emitted(0)
        offsets.emitted(1)
        #expect(!offsets.shouldPause)
        offsets.emitted(2)
        #expect(offsets.shouldPause)
        offsets.acked(2)
        offsets.acked(1)
        #expect(offsets.shouldPause)  // done, but behind 0: not committable yet
        offsets.acked(0)
        #expect(offsets.committable == 3)
        #expect(offsets.shouldPause, "acked but not committed: a crash would replay them")
        #expect(offsets.wantsCommitNow)
        offsets.markCommitted(offsets.committable)
        #expect(!offsets.shouldPause)
        #expect(!offsets.wantsCommitNow)
    }

    @Test func aCommitIsWantedOnceHalfTheWindowIsTakenAndACommitWouldFreeSome() {
        var offsets = tracker(maxUncommitted: 4)
        offsets.emitted(0)
        offsets.emitted(1)
        #expect(!offsets.wantsCommitNow, "half taken, but nothing is committable")
        offsets.acked(0)
        #expect(offsets.wantsCommitNow, "half taken, one record committable")
        #expect(!offsets.shouldPause, "well before the partition would pause")
        offsets.markCommitted(offsets.committable)
        #expect(!offsets.wantsCommitNow, "one uncommitted of four")
    }

    @Test func failuresAreRetriedWithBackoffThenExhausted() {
        var offsets = tracker()
        offsets.emitted(0)
        let result7 = offsets.failed(0, now: t0)
        #expect(result7 == .retryScheduled(due: t0 + .seconds(1), retry: 1))
        #expect(offsets.retryingCount == 1)
        #expect(offsets.state(of: 0) == .retryScheduled)
        #expect(offsets.nextRetryDue == t0 + .seconds(1))
        let result8 = offsets.dueRetries(now: t0 + .milliseconds(999))
        #expect(result8.isEmpty)
        let result9 = offsets.dueRetries(now: t0 + .seconds(1))
        #expect(result9 == [0])
        #expect(offsets.retries(of: 0) == 1)
        #expect(offsets.retryingCount == 0)
        #expect(offsets.state(of: 0) == .inFlight)

        let t1 = t0 + .seconds(5)
        let result10 = offsets.failed(0, now: t1)
        #expect(result10 == .retryScheduled(due: t1 + .seconds(2), retry: 2))
        let result11 = offsets.dueRetries(now: t1 + .seconds(2))
        #expect(result11 == [0])
        let result12 = offsets.failed(0, now: t1)
        #expect(result12 == .retryScheduled(due: t1 + .seconds(4), retry: 3))
        let result13 = offsets.dueRetries(now: t1 + .seconds(4))
        #expect(result13 == [0])
        let result14 = offsets.failed(0, now: t1)
        #expect(result14 == .exhausted(retries: 3))
        #expect(offsets.state(of: 0) == .exhausted)
        #expect(offsets.committable == 0)
        #expect(offsets.statistics.exhaustedCount == 1)
        // A second failure report of the same record changes nothing.
        let result15 = offsets.failed(0, now: t1)
        #expect(result15 == .ignored)
    }

    @Test func anExhaustedRecordDroppedOrDeadLetteredUnblocksThePartition() {
        var offsets = PartitionOffsets(partition: 1, committed: 0, maxUncommitted: 3, retryPolicy: .noRetries)
        for offset in Int64(0)..<3 { offsets.emitted(offset) }
        offsets.acked(1)
        offsets.acked(2)
        let result16 = offsets.failed(0, now: t0)
        #expect(result16 == .exhausted(retries: 0))
        #expect(offsets.shouldPause)
        #expect(offsets.committable == 0)
        let result17 = offsets.markDone(0)
        #expect(result17)
        #expect(offsets.committable == 3)
        offsets.markCommitted(3)
        #expect(!offsets.shouldPause)
        #expect(offsets.pendingCount == 0)
    }

    @Test func dueRetriesComeBackInOffsetOrderAndOnlyOnce() {
        var offsets = tracker()
        for offset in Int64(0)..<4 { offsets.emitted(offset) }
        _ = offsets.failed(3, now: t0)
        _ = offsets.failed(1, now: t0 + .milliseconds(10))
        _ = offsets.failed(2, now: t0 + .seconds(100))
        let result18 = offsets.dueRetries(now: t0 + .seconds(2))
        #expect(result18 == [1, 3])
        let result19 = offsets.dueRetries(now: t0 + .seconds(2))
        #expect(result19.isEmpty)
        #expect(offsets.nextRetryDue == t0 + .seconds(101))
    }

    @Test func anAckWhileARetryIsScheduledCompletesTheRecordAndCancelsTheRetry() {
        var offsets = tracker()
        offsets.emitted(0)
        _ = offsets.failed(0, now: t0)
        let result20 = offsets.acked(0)
        #expect(result20)
        #expect(offsets.retryingCount == 0)
        #expect(offsets.committable == 1)
        let result21 = offsets.dueRetries(now: t0 + .seconds(60))
        #expect(result21.isEmpty)
        #expect(offsets.nextRetryDue == nil)
    }

    @Test func statisticsNameTheRecordHoldingThePartitionBack() {
        var offsets = tracker(committed: 40)
        for offset: Int64 in [40, 41, 42, 45] { offsets.emitted(offset) }
        offsets.acked(40)
        offsets.acked(42)
        _ = offsets.failed(41, now: t0)
        _ = offsets.dueRetries(now: t0 + .seconds(1))
        _ = offsets.failed(41, now: t0 + .seconds(1))
        offsets.markCommitted(offsets.committable)
        let stats = offsets.statistics
        #expect(stats.partition == 7)
        #expect(stats.committed == 41)
        #expect(stats.committable == 41)
        #expect(stats.position == 46)
        #expect(stats.oldestPending == 41)
        #expect(stats.oldestPendingRetries == 1)
        #expect(stats.oldestPendingState == .retryScheduled)
        #expect(stats.pendingCount == 2)
        #expect(stats.retryingCount == 1)
        #expect(stats.uncommittedCount == 3)
        #expect(!stats.paused)
        #expect(!offsets.needsCommit)
    }

    @Test func restartingFromACommittedOffsetResumesThere() {
        var first = tracker()
        for offset in Int64(0)..<10 { first.emitted(offset) }
        for offset in Int64(0)..<6 { first.acked(offset) }
        first.markCommitted(first.committable)
        // The worker dies; a new owner of the partition starts from the committed offset.
        var second = tracker(committed: first.committed)
        #expect(second.committable == 6)
        let result22 = second.emitted(5)
        #expect(!result22)
        let result23 = second.emitted(6)
        #expect(result23)
        second.acked(6)
        #expect(second.committable == 7)
    }

    @Test func trackingManyRecordsCompactsItsStorage() {
        var offsets = tracker(maxUncommitted: 1_000_000)
        for offset in Int64(0)..<100_000 {
            offsets.emitted(offset)
            if offset >= 10 { offsets.acked(offset - 10) }
        }
        #expect(offsets.committable == 99_990)
        #expect(offsets.uncommittedCount == 100_000)
        offsets.markCommitted(offsets.committable)
        #expect(offsets.uncommittedCount == 10)
    }

    // MARK: - Randomized

    /// Random fetches with random gaps, acks and failures in random order, retries and exhaustion:
    /// the committable offset never passes a pending record, never goes back, and ends at last + 1.
    @Test(arguments: [1, 2, 3])
    func committedNeverPassesAPendingOffsetAndEventuallyReachesTheEnd(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let retryPolicy = RetryPolicy(
            initialDelay: .milliseconds(10),
            multiplier: 2,
            maxDelay: .milliseconds(50),
            maxRetries: 2
        )
        var offsets = PartitionOffsets(partition: 0, committed: 0, maxUncommitted: 500, retryPolicy: retryPolicy)
        var now = t0

        // The model: fetched offsets in order, which are done, and the lowest not done.
        var fetched: [Int64] = []
        var done: [Int64: Bool] = [:]
        var lowestNotDone = 0
        var inFlight: [Int64] = []
        var nextOffset: Int64 = 0
        var lastCommittable: Int64 = 0
        var exhaustedSeen = 0
        var deadLetters: [Int64] = []

        func check() {
            while lowestNotDone < fetched.count, done[fetched[lowestNotDone]] == true { lowestNotDone += 1 }
            let expected = lowestNotDone < fetched.count ? fetched[lowestNotDone] : nextOffset
            #expect(offsets.committable == expected)
            #expect(offsets.committable >= lastCommittable)
            lastCommittable = offsets.committable
        }

        while fetched.count < 10_000 || !inFlight.isEmpty || !deadLetters.isEmpty || offsets.retryingCount > 0 {
            let action = Int.random(in: 0..<10, using: &generator)
            if action < 4, fetched.count < 10_000, !offsets.shouldPause {
                nextOffset +=
                    Int64.random(in: 0...3, using: &generator) == 0 ? Int64.random(in: 1...5, using: &generator) : 0
                let result24 = offsets.emitted(nextOffset)
                #expect(result24)
                fetched.append(nextOffset)
                inFlight.append(nextOffset)
                nextOffset += 1
            } else if action < 8, !inFlight.isEmpty {
                let i = Int.random(in: 0..<inFlight.count, using: &generator)
                inFlight.swapAt(i, inFlight.count - 1)
                let offset = inFlight.removeLast()
                if Int.random(in: 0..<4, using: &generator) == 0 {
                    switch offsets.failed(offset, now: now) {
                    case .retryScheduled: break
                    case .exhausted:
                        exhaustedSeen += 1
                        deadLetters.append(offset)  // dead-lettered (asynchronously) or dropped later
                    case .ignored: Issue.record("failure of in-flight offset \(offset) ignored")
                    }
                } else {
                    let result26 = offsets.acked(offset)
                    #expect(result26)
                    done[offset] = true
                }
            } else {
                if offsets.wantsCommitNow || Int.random(in: 0..<4, using: &generator) == 0 {
                    offsets.markCommitted(offsets.committable)
                }
                now = now + .milliseconds(Int.random(in: 1...20, using: &generator))
                inFlight += offsets.dueRetries(now: now)
                for offset in deadLetters {
                    let result = offsets.markDone(offset)
                    #expect(result)
                    done[offset] = true
                }
                deadLetters.removeAll()
            }
            check()
        }
        #expect(offsets.committable == nextOffset)
        #expect(offsets.pendingCount == 0)
        offsets.markCommitted(offsets.committable)
        #expect(offsets.uncommittedCount == 0)
        #expect(exhaustedSeen > 0)
    }
}
