import Testing

@testable import GaleRuntime

@Suite struct AckerStateTests {
    @Test func treeCompletesOnceWhenXorReturnsToZero() {
        var state = AckerState()
        let (a, b, c): (UInt64, UInt64, UInt64) = (0x1111, 0x2222_0000, 0x4444_0000_0000)
        // The spout emitted a and b; the bolt that got a emitted c anchored to it.
        #expect(state.initTree(root: 7, xor: a ^ b, spoutTask: 3, now: 100) == .none)
        #expect(state.ack(root: 7, xor: a ^ c, now: 110) == .none)
        #expect(state.pendingCount == 1)
        #expect(state.ack(root: 7, xor: b, now: 120) == .none)
        #expect(state.ack(root: 7, xor: c, now: 130) == .completed(root: 7, spoutTask: 3))
        #expect(state.pendingCount == 0)
    }

    @Test func aCompletedTreeIsNotCompletedAgain() {
        var state = AckerState()
        #expect(state.initTree(root: 1, xor: 5, spoutTask: 2, now: 0) == .none)
        #expect(state.ack(root: 1, xor: 5, now: 1) == .completed(root: 1, spoutTask: 2))
        // A stray ack for the finished tree starts an uninitialised entry, never a second completion.
        #expect(state.ack(root: 1, xor: 5, now: 2) == .none)
        #expect(state.ack(root: 1, xor: 5, now: 3) == .none)
    }

    @Test func ackBeforeInitCompletesWhenTheInitArrives() {
        var state = AckerState()
        #expect(state.ack(root: 9, xor: 0xAB, now: 10) == .none)
        #expect(state.pendingCount == 1)
        #expect(state.initTree(root: 9, xor: 0xAB, spoutTask: 4, now: 20) == .completed(root: 9, spoutTask: 4))
        #expect(state.pendingCount == 0)
    }

    @Test func xorOfZeroBeforeInitDoesNotComplete() {
        var state = AckerState()
        // Acks whose edges cancel out leave the value at zero, but the tree is not initialised yet.
        #expect(state.ack(root: 5, xor: 0xF0, now: 0) == .none)
        #expect(state.ack(root: 5, xor: 0xF0, now: 0) == .none)
        #expect(state.pendingCount == 1)
        #expect(state.initTree(root: 5, xor: 0x0F, spoutTask: 1, now: 0) == .none)
        #expect(state.ack(root: 5, xor: 0x0F, now: 0) == .completed(root: 5, spoutTask: 1))
    }

    @Test func failBeforeInitFailsTheTreeWhenTheInitArrives() {
        var state = AckerState()
        #expect(state.fail(root: 3, now: 0) == .none)
        #expect(state.initTree(root: 3, xor: 0x77, spoutTask: 8, now: 1) == .failed(root: 3, spoutTask: 8))
        #expect(state.pendingCount == 0)
    }

    @Test func failAfterInitFailsTheTreeAtOnce() {
        var state = AckerState()
        #expect(state.initTree(root: 3, xor: 0x77, spoutTask: 8, now: 0) == .none)
        #expect(state.fail(root: 3, now: 1) == .failed(root: 3, spoutTask: 8))
        #expect(state.pendingCount == 0)
        // Later acks of the failed tree never complete it.
        #expect(state.ack(root: 3, xor: 0x77, now: 2) == .none)
    }

    @Test func failWinsOverAnAckThatWouldComplete() {
        var state = AckerState()
        #expect(state.fail(root: 4, now: 0) == .none)
        #expect(state.ack(root: 4, xor: 0x10, now: 0) == .none)
        #expect(state.initTree(root: 4, xor: 0x10, spoutTask: 2, now: 0) == .failed(root: 4, spoutTask: 2))
    }

    @Test func treesAreIndependent() {
        var state = AckerState()
        #expect(state.initTree(root: 1, xor: 0xA, spoutTask: 1, now: 0) == .none)
        #expect(state.initTree(root: 2, xor: 0xB, spoutTask: 2, now: 0) == .none)
        #expect(state.ack(root: 2, xor: 0xB, now: 0) == .completed(root: 2, spoutTask: 2))
        #expect(state.pendingCount == 1)
        #expect(state.ack(root: 1, xor: 0xA, now: 0) == .completed(root: 1, spoutTask: 1))
    }

    @Test func expireForgetsOnlyTreesStartedBeforeTheDeadline() {
        var state = AckerState()
        _ = state.initTree(root: 1, xor: 1, spoutTask: 1, now: 100)
        _ = state.initTree(root: 2, xor: 1, spoutTask: 1, now: 200)
        _ = state.ack(root: 3, xor: 1, now: 150)
        _ = state.initTree(root: 4, xor: 1, spoutTask: 1, now: 300)
        #expect(state.expire(startedBefore: 200) == 2)
        #expect(Set(state.entries.keys.map(\.raw)) == [2, 4])
        #expect(state.expire(startedBefore: 200) == 0)
        // An expired tree is gone: a late ack does not complete it.
        #expect(state.ack(root: 1, xor: 1, now: 400) == .none)
        #expect(state.expire(startedBefore: 1_000) == 3)
        #expect(state.pendingCount == 0)
    }

    @Test func startTimeIsTheFirstMessageSeen() {
        var state = AckerState()
        _ = state.ack(root: 1, xor: 1, now: 50)
        _ = state.initTree(root: 1, xor: 3, spoutTask: 1, now: 500)
        #expect(state.entries[TreeId(1)]?.startedAt == 50)
        #expect(state.expire(startedBefore: 51) == 1)
    }
}

@Suite struct TreeIdTests {
    @Test func equalIdsAreEqualKeysAndDistinctIdsDistinctKeys() {
        var table: [TreeId: Int] = [:]
        var random = SplitMix64(seed: 9)
        var ids: [UInt64] = []
        for i in 0..<10_000 {
            let id = random.nextId()
            ids.append(id)
            table[TreeId(id)] = i
        }
        // Sequential ids (the worst case for an identity-like hash) work as well.
        for id in UInt64(1)...1_000 { table[TreeId(id)] = -Int(id) }
        #expect(table.count == 11_000)
        for (i, id) in ids.enumerated() { #expect(table[TreeId(id)] == i) }
        for id in UInt64(1)...1_000 { #expect(table.removeValue(forKey: TreeId(id)) == -Int(id)) }
        #expect(table.count == 10_000)
    }
}
