import Testing

@testable import GaleTrident

@Suite struct BatchCoordinatorStateTests {
    typealias Action = BatchCoordinatorState.Action

    func batches(_ actions: [Action]) -> [Int64] {
        actions.compactMap { if case .emitBatch(let txid, _) = $0 { txid } else { nil } }
    }

    @Test func opensAtMostMaxInFlightBatchesInOrderAfterTheLastCommitted() {
        var state = BatchCoordinatorState(lastCommitted: 41, epoch: 1, maxInFlight: 3, finishLevels: 0)
        #expect(batches(state.poll()) == [42, 43, 44])
        #expect(batches(state.poll()).isEmpty, "three are open")
        #expect(state.openTxids == [42, 43, 44])
    }

    @Test func commitsStrictlyInTxidOrder() throws {
        var state = BatchCoordinatorState(lastCommitted: 0, epoch: 1, maxInFlight: 3, finishLevels: 0)
        _ = state.poll()
        let a2 = try #require(state.attempt(of: 2))
        let a1 = try #require(state.attempt(of: 1))
        #expect(state.acked(txid: 2, attempt: a2, phase: .process).isEmpty, "2 waits for 1")
        #expect(state.acked(txid: 1, attempt: a1, phase: .process) == [.emitCommit(txid: 1, attempt: a1)])
        #expect(
            state.acked(txid: 1, attempt: a1, phase: .commit) == [
                .persistCommitted(txid: 1, attempt: a1), .emitCommit(txid: 2, attempt: a2),
            ]
        )
        #expect(state.lastCommitted == 1)
        #expect(batches(state.poll()) == [4], "one more opens")
    }

    @Test func finishPhasesRunOneLevelAfterTheOther() throws {
        var state = BatchCoordinatorState(lastCommitted: 0, epoch: 1, maxInFlight: 1, finishLevels: 2)
        _ = state.poll()
        let a = try #require(state.attempt(of: 1))
        #expect(state.acked(txid: 1, attempt: a, phase: .process) == [.emitFinish(txid: 1, attempt: a, level: 1)])
        #expect(
            state.acked(txid: 1, attempt: a, phase: .finish(level: 1)) == [.emitFinish(txid: 1, attempt: a, level: 2)]
        )
        #expect(state.acked(txid: 1, attempt: a, phase: .finish(level: 2)) == [.emitCommit(txid: 1, attempt: a)])
    }

    @Test func countsTheFailuresOfABatchInARowUntilItCommits() throws {
        var state = BatchCoordinatorState(lastCommitted: 0, epoch: 1, maxInFlight: 2, finishLevels: 0)
        _ = state.poll()
        #expect(state.repeatedFailures == 0)
        for expected in 1...3 {
            state.failed(txid: 1, attempt: try #require(state.attempt(of: 1)), phase: .process)
            #expect(state.repeatedFailures == expected)
            _ = state.poll()
        }
        // Another batch failing starts a new count.
        state.failed(txid: 2, attempt: try #require(state.attempt(of: 2)), phase: .process)
        #expect(state.repeatedFailures == 1)
        _ = state.poll()
        state.failed(txid: 2, attempt: try #require(state.attempt(of: 2)), phase: .process)
        #expect(state.repeatedFailures == 2)
        _ = state.poll()
        // Committing batch 1 does not end batch 2's run of failures; committing batch 2 does.
        let a1 = try #require(state.attempt(of: 1))
        _ = state.acked(txid: 1, attempt: a1, phase: .process)
        _ = state.acked(txid: 1, attempt: a1, phase: .commit)
        #expect(state.repeatedFailures == 2)
        let a2 = try #require(state.attempt(of: 2))
        _ = state.acked(txid: 2, attempt: a2, phase: .process)
        _ = state.acked(txid: 2, attempt: a2, phase: .commit)
        #expect(state.lastCommitted == 2)
        #expect(state.repeatedFailures == 0)
    }

    @Test func aBatchFailingAgainWaitsLongerEachTimeUpToTheLimit() {
        var config = TridentConfig()
        config.retryDelay = .milliseconds(100)
        config.maxRetryDelay = .seconds(1)
        #expect(config.retryDelay(afterFailures: 0) == .zero)
        #expect(config.retryDelay(afterFailures: 1) == .zero, "a first failure runs again at once")
        #expect(config.retryDelay(afterFailures: 2) == .milliseconds(100))
        #expect(config.retryDelay(afterFailures: 3) == .milliseconds(200))
        #expect(config.retryDelay(afterFailures: 5) == .milliseconds(800))
        #expect(config.retryDelay(afterFailures: 6) == .seconds(1))
        #expect(config.retryDelay(afterFailures: Int.max) == .seconds(1))
    }

    @Test func aFailureRestartsThatBatchAndEveryLaterOneWithNewAttempts() throws {
        var state = BatchCoordinatorState(lastCommitted: 0, epoch: 1, maxInFlight: 3, finishLevels: 0)
        _ = state.poll()
        let first = try [1, 2, 3].map { try #require(state.attempt(of: $0)) }
        _ = state.acked(txid: 1, attempt: first[0], phase: .process)
        state.failed(txid: 2, attempt: first[1], phase: .process)
        #expect(state.openTxids == [1])
        #expect(batches(state.poll()) == [2, 3], "2 and 3 start again, in order")
        let second = try [2, 3].map { try #require(state.attempt(of: $0)) }
        #expect(second[0] > first[1] && second[1] > first[2], "attempts only grow")
        // Late news of the abandoned attempts changes nothing.
        #expect(state.acked(txid: 3, attempt: first[2], phase: .process).isEmpty)
        state.failed(txid: 3, attempt: first[2], phase: .process)
        #expect(state.openTxids == [1, 2, 3])
    }

    @Test func aFailedCommitRunsTheBatchAgainFromTheProcessPhase() throws {
        var state = BatchCoordinatorState(lastCommitted: 0, epoch: 1, maxInFlight: 2, finishLevels: 0)
        _ = state.poll()
        let a = try #require(state.attempt(of: 1))
        _ = state.acked(txid: 1, attempt: a, phase: .process)
        #expect(state.phase(of: 1) == .commit)
        state.failed(txid: 1, attempt: a, phase: .commit)
        #expect(state.lastCommitted == 0)
        #expect(batches(state.poll()) == [1, 2])
        #expect(state.phase(of: 1) == .process)
    }

    @Test func attemptsOfALaterEpochExceedThoseOfAnEarlierOne() throws {
        var old = BatchCoordinatorState(lastCommitted: 5, epoch: 1, maxInFlight: 1, finishLevels: 0)
        var restarted = BatchCoordinatorState(lastCommitted: 5, epoch: 2, maxInFlight: 1, finishLevels: 0)
        for _ in 0..<100 {
            let txid = old.openTxids.first ?? 6
            _ = old.poll()
            if let attempt = old.attempt(of: txid) { old.failed(txid: txid, attempt: attempt, phase: .process) }
        }
        _ = old.poll()
        _ = restarted.poll()
        #expect(try #require(restarted.attempt(of: 6)) > (try #require(old.attempt(of: 6))))
    }

    @Test func nothingOpensWhileTheSpoutsAreNotReady() {
        var state = BatchCoordinatorState(lastCommitted: 0, epoch: 1, maxInFlight: 3, finishLevels: 0)
        #expect(batches(state.poll { $0 <= 2 }) == [1, 2])
        #expect(batches(state.poll { _ in false }).isEmpty)
    }
}
