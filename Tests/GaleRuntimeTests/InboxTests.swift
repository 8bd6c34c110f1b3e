import Testing

@testable import GaleRuntime

@Suite struct InboxTests {
    static func batch(_ n: Int) -> ContiguousArray<Envelope> {
        ContiguousArray(repeating: .sweep, count: n)
    }

    @Test func watermarksAreHalfAndQuarterOfCapacity() {
        let inbox = Inbox(capacity: 1_000, watchesWatermarks: true)
        #expect(inbox.highWatermark == 500)
        #expect(inbox.lowWatermark == 250)
    }

    @Test func onlyTheFirstPushSchedulesADrain() {
        let inbox = Inbox(capacity: 64, watchesWatermarks: true)
        #expect(inbox.push(Self.batch(1)).schedule)
        #expect(!inbox.push(Self.batch(1)).schedule)
        #expect(!inbox.claimSchedule())
        var taken: [ContiguousArray<Envelope>] = []
        #expect(inbox.take(into: &taken, limit: 100) == 2)
        #expect(inbox.finish(wantsMore: { false }, wantsLater: { false }).0 == .idle)
        #expect(inbox.isIdle)
        #expect(inbox.push(Self.batch(1)).schedule)
    }

    @Test func claimScheduleSucceedsOnlyWhenIdle() {
        let inbox = Inbox(capacity: 64, watchesWatermarks: false)
        #expect(inbox.claimSchedule())
        #expect(!inbox.claimSchedule())
        #expect(!inbox.push(Self.batch(3)).schedule)
    }

    @Test func crossingTheHighWatermarkIsReportedOnce() {
        let inbox = Inbox(capacity: 64, watchesWatermarks: true)
        #expect(!inbox.push(Self.batch(31)).becameOverloaded)
        #expect(inbox.push(Self.batch(1)).becameOverloaded)
        #expect(!inbox.push(Self.batch(10)).becameOverloaded)
        #expect(inbox.count == 42)
        #expect(inbox.maxCount == 42)
    }

    @Test func reliefComesOnlyAtOrBelowTheLowWatermark() {
        let inbox = Inbox(capacity: 64, watchesWatermarks: true)
        _ = inbox.push(Self.batch(20))
        _ = inbox.push(Self.batch(20))
        var taken: [ContiguousArray<Envelope>] = []
        // 40 queued, take one batch of 20: 20 left, above the low watermark of 16.
        #expect(inbox.take(into: &taken, limit: 10) == 20)
        let first = inbox.finish(wantsMore: { false }, wantsLater: { false })
        #expect(first.0 == .runAgain)
        #expect(!first.relieved)
        #expect(inbox.take(into: &taken, limit: 100) == 20)
        let second = inbox.finish(wantsMore: { false }, wantsLater: { false })
        #expect(second.0 == .idle)
        #expect(second.relieved)
        // Relief is reported once, and the next crossing is reported again.
        #expect(!inbox.finish(wantsMore: { false }, wantsLater: { false }).relieved)
        #expect(inbox.push(Self.batch(32)).becameOverloaded)
        #expect(inbox.maxCount == 40)
    }

    @Test func inboxWithoutWatermarksNeverReportsOverload() {
        let inbox = Inbox(capacity: 64, watchesWatermarks: false)
        #expect(!inbox.push(Self.batch(1_000)).becameOverloaded)
        var taken: [ContiguousArray<Envelope>] = []
        _ = inbox.take(into: &taken, limit: 10_000)
        #expect(!inbox.finish(wantsMore: { false }, wantsLater: { false }).relieved)
    }

    @Test func takeMovesWholeBatchesUpToTheLimit() {
        let inbox = Inbox(capacity: 64, watchesWatermarks: false)
        for n in [3, 4, 5] { _ = inbox.push(Self.batch(n)) }
        var taken: [ContiguousArray<Envelope>] = []
        #expect(inbox.take(into: &taken, limit: 6) == 7)
        #expect(taken.map(\.count) == [3, 4])
        #expect(inbox.count == 5)
        // Executors hand in an emptied array each drain.
        taken.removeAll()
        #expect(inbox.take(into: &taken, limit: 6) == 5)
        #expect(taken.map(\.count) == [5])
        #expect(inbox.count == 0)
        taken.removeAll()
        #expect(inbox.take(into: &taken, limit: 6) == 0)
        #expect(taken.isEmpty)
    }

    @Test func finishDecidesBetweenNowLaterAndIdle() {
        let inbox = Inbox(capacity: 64, watchesWatermarks: false)
        _ = inbox.claimSchedule()
        #expect(inbox.finish(wantsMore: { true }, wantsLater: { false }).0 == .runAgain)
        #expect(inbox.finish(wantsMore: { false }, wantsLater: { true }).0 == .runLater(generation: 1))
        #expect(inbox.claimTimer(1), "the pause timer runs the drain")
        #expect(inbox.finish(wantsMore: { false }, wantsLater: { false }).0 == .idle)
        #expect(inbox.isIdle)
    }

    @Test func aPushDuringAPauseSchedulesADrainAndTheTimerThenDoesNothing() {
        let inbox = Inbox(capacity: 64, watchesWatermarks: false)
        _ = inbox.claimSchedule()
        #expect(inbox.finish(wantsMore: { false }, wantsLater: { true }).0 == .runLater(generation: 1))
        #expect(inbox.push(ContiguousArray([.sweep])).schedule, "the push wakes the paused executor at once")
        #expect(!inbox.claimTimer(1), "the drain is already scheduled")
        // That drain pauses again: only the newest timer may run.
        var taken: [ContiguousArray<Envelope>] = []
        _ = inbox.take(into: &taken, limit: 10)
        #expect(inbox.finish(wantsMore: { false }, wantsLater: { true }).0 == .runLater(generation: 2))
        #expect(!inbox.claimTimer(1), "a stale timer does nothing")
        #expect(inbox.claimTimer(2))
    }
}
