import Testing

@testable import GaleRuntime

/// When a spout's next drain runs (``SpoutExecutor/nextDrain(emitted:ranDry:dryRuns:)``).
@Suite struct SpoutIdleTests {
    @Test func aDrainStoppedByItsLimitsRunsAgainAtOnce() {
        let next = SpoutExecutor.nextDrain(emitted: true, ranDry: false, dryRuns: 5)
        #expect(next.now)
        #expect(next.dryRuns == 0)
    }

    @Test func aDrainThatRanDryAfterEmittingWaits() {
        // A trickling source: every drain emits a few tuples, then a call emits nothing.
        var dryRuns = 0
        var pauses: [UInt64] = []
        for _ in 0..<8 {
            let next = SpoutExecutor.nextDrain(emitted: true, ranDry: true, dryRuns: dryRuns)
            #expect(!next.now)
            dryRuns = next.dryRuns
            pauses.append(next.pause)
        }
        #expect(pauses == [32_000, 64_000, 128_000, 256_000, 512_000, 1_000_000, 1_000_000, 1_000_000])
    }

    @Test func aDrainThatEmittedNothingWaitsLongerUpToTheMaximum() {
        var dryRuns = 0
        for _ in 0..<100 {
            let next = SpoutExecutor.nextDrain(emitted: false, ranDry: true, dryRuns: dryRuns)
            #expect(!next.now)
            #expect(next.pause <= SpoutExecutor.maxIdleNanos)
            dryRuns = next.dryRuns
        }
        #expect(
            SpoutExecutor.nextDrain(emitted: false, ranDry: true, dryRuns: dryRuns).pause == SpoutExecutor.maxIdleNanos
        )
        // Back to full speed as soon as a drain stops at its limits.
        let back = SpoutExecutor.nextDrain(emitted: true, ranDry: false, dryRuns: dryRuns)
        #expect(back.now && back.dryRuns == 0)
    }
}
