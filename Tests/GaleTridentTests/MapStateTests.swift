import Gale
import GaleTrident
import Testing

/// Counts the calls of update closures.
private final class CallCounter {
    var calls = 0
}

private struct Boom: Error {}

/// An update adding `amount` to a count (none counts as 0), counting its calls.
private func add(_ amount: Int64, counter: CallCounter? = nil) -> (GaleValue?) throws -> GaleValue {
    { current in
        counter?.calls += 1
        return .int((current?.intValue ?? 0) + amount)
    }
}

@Suite struct MapStateTests {
    @Test(arguments: BackingFixture.allCases)
    func transactionalReplayOfTheSameTxidDoesNotDoubleCount(fixture: BackingFixture) throws {
        try fixture.withMap { backing throws in
            let state = MapState(kind: .transactional, backing: backing)
            #expect(try state.applyBatch(txid: 1, updates: [["a"]: add(1), ["b"]: add(10)]) == [["a"]: 1, ["b"]: 10])

            let replayCounter = CallCounter()
            let replay = try state.applyBatch(
                txid: 1,
                updates: [["a"]: add(1, counter: replayCounter), ["b"]: add(10, counter: replayCounter)]
            )
            #expect(replay == [["a"]: 1, ["b"]: 10])
            #expect(replayCounter.calls == 0)
            #expect(try state.get([["a"], ["b"]]) == [1, 10])

            #expect(try state.applyBatch(txid: 2, updates: [["a"]: add(1)]) == [["a"]: 2])
            #expect(try state.get([["a"], ["b"]]) == [2, 10])
            #expect(try backing.multiGet([["a"]]) == [StoredValue(value: 2, previous: nil, txid: 2)])
            #expect(try state.lastCommittedTxid == 2)
        }
    }

    @Test(arguments: BackingFixture.allCases)
    func transactionalReplayAppliesToKeysTheTxidHadNotWritten(fixture: BackingFixture) throws {
        try fixture.withMap { backing throws in
            let state = MapState(kind: .transactional, backing: backing)
            _ = try state.applyBatch(txid: 1, updates: [["a"]: add(1)])
            _ = try state.applyBatch(txid: 2, updates: [["a"]: add(1)])
            let result = try state.applyBatch(txid: 2, updates: [["a"]: add(1), ["new"]: add(5)])
            #expect(result == [["a"]: 2, ["new"]: 5])
        }
    }

    @Test(arguments: BackingFixture.allCases)
    func opaqueReplayWithDifferentUpdatesRecomputesFromThePreviousValue(fixture: BackingFixture) throws {
        try fixture.withMap { backing throws in
            let state = MapState(kind: .opaque, backing: backing)
            #expect(try state.applyBatch(txid: 3, updates: [["w"]: add(5)]) == [["w"]: 5])
            #expect(try backing.multiGet([["w"]]) == [StoredValue(value: 5, previous: nil, txid: 3)])

            #expect(try state.applyBatch(txid: 4, updates: [["w"]: add(2)]) == [["w"]: 7])
            #expect(try backing.multiGet([["w"]]) == [StoredValue(value: 7, previous: 5, txid: 4)])

            // Batch 4 replayed with different tuples: computed again from 5, not from 7.
            #expect(try state.applyBatch(txid: 4, updates: [["w"]: add(3)]) == [["w"]: 8])
            #expect(try backing.multiGet([["w"]]) == [StoredValue(value: 8, previous: 5, txid: 4)])
            #expect(try state.get([["w"]]) == [8])

            #expect(try state.applyBatch(txid: 5, updates: [["w"]: add(1)]) == [["w"]: 9])
            #expect(try backing.multiGet([["w"]]) == [StoredValue(value: 9, previous: 8, txid: 5)])
            #expect(try state.lastCommittedTxid == 5)
        }
    }

    @Test(arguments: BackingFixture.allCases)
    func opaqueReplayOfAKeysFirstBatchStartsFromNone(fixture: BackingFixture) throws {
        try fixture.withMap { backing throws in
            let state = MapState(kind: .opaque, backing: backing)
            _ = try state.applyBatch(txid: 1, updates: [["k"]: add(4)])
            let seen = CallCounter()
            let result = try state.applyBatch(
                txid: 1,
                updates: [
                    ["k"]: { current in
                        seen.calls += 1
                        #expect(current == nil)
                        return .int(6)
                    }
                ]
            )
            #expect(result == [["k"]: 6])
            #expect(seen.calls == 1)
        }
    }

    @Test(arguments: BackingFixture.allCases)
    func nonTransactionalReplayAppliesTwice(fixture: BackingFixture) throws {
        try fixture.withMap { backing throws in
            let state = MapState(kind: .nonTransactional, backing: backing)
            #expect(try state.applyBatch(txid: 1, updates: [["a"]: add(1)]) == [["a"]: 1])
            #expect(try state.applyBatch(txid: 1, updates: [["a"]: add(1)]) == [["a"]: 2])
            #expect(try state.get([["a"]]) == [2])
            #expect(try state.lastCommittedTxid == 1)
        }
    }

    @Test(arguments: BackingFixture.allCases, [StateKind.transactional, .opaque, .nonTransactional])
    func anUpdateThatThrowsLeavesNothingWritten(fixture: BackingFixture, kind: StateKind) throws {
        try fixture.withMap { backing throws in
            let state = MapState(kind: kind, backing: backing)
            let keys: [StateKey] = (0..<5).map { ["key", .int(Int64($0))] }
            _ = try state.applyBatch(txid: 1, updates: Dictionary(uniqueKeysWithValues: keys.map { ($0, add(1)) }))

            let calls = CallCounter()
            var failingKey: StateKey?
            var updates: [StateKey: (GaleValue?) throws -> GaleValue] = [:]
            for key in keys {
                updates[key] = { current in
                    calls.calls += 1
                    if calls.calls == 3 {
                        failingKey = key
                        throw Boom()
                    }
                    return .int((current?.intValue ?? 0) + 100)
                }
            }
            let error = #expect(throws: StateError.self) { try state.applyBatch(txid: 2, updates: updates) }
            guard case .updateFailed(let key, let txid, let underlying) = error else {
                Issue.record("expected .updateFailed, got \(String(describing: error))")
                return
            }
            #expect(key == failingKey)
            #expect(txid == 2)
            #expect(underlying is Boom)
            #expect(error?.description.contains("[string, int]") == true)

            #expect(try state.get(keys) == Array(repeating: 1, count: 5))
            #expect(try backing.multiGet(keys).allSatisfy { $0?.txid == 1 })
            #expect(try state.lastCommittedTxid == 1)
        }
    }

    @Test(arguments: BackingFixture.allCases)
    func anEmptyBatchRecordsItsTxid(fixture: BackingFixture) throws {
        try fixture.withMap { backing throws in
            let state = MapState(kind: .opaque, backing: backing)
            #expect(try state.lastCommittedTxid == nil)
            #expect(try state.applyBatch(txid: 7, updates: [:]).isEmpty)
            #expect(try state.lastCommittedTxid == 7)
        }
    }

    @Test(arguments: BackingFixture.allCases)
    func getReturnsNilForKeysNeverWritten(fixture: BackingFixture) throws {
        try fixture.withMap { backing throws in
            let state = MapState(kind: .transactional, backing: backing)
            _ = try state.applyBatch(txid: 1, updates: [["a"]: add(3)])
            #expect(try state.get([["zzz"], ["a"]]) == [nil, 3])
        }
    }
}
