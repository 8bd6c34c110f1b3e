import Foundation
import Gale
import Testing

@testable import GaleTrident

@Suite struct StateKindTransitionTests {
    private static func plusOne(_ value: GaleValue?) -> GaleValue { .int((value?.intValue ?? 0) + 1) }

    @Test func aFirstWriteStartsFromNoneForEveryKind() {
        #expect(
            StateKind.transactional.transition(from: nil, txid: 1, update: Self.plusOne)
                == StoredValue(value: 1, txid: 1)
        )
        #expect(StateKind.opaque.transition(from: nil, txid: 1, update: Self.plusOne) == StoredValue(value: 1, txid: 1))
        #expect(
            StateKind.nonTransactional.transition(from: nil, txid: 1, update: Self.plusOne)
                == StoredValue(value: 1, txid: 1)
        )
    }

    @Test func aNewTxidUpdatesTheCurrentValue() {
        let stored = StoredValue(value: 5, previous: 2, txid: 3)
        #expect(
            StateKind.transactional.transition(from: stored, txid: 4, update: Self.plusOne)
                == StoredValue(value: 6, previous: nil, txid: 4)
        )
        #expect(
            StateKind.opaque.transition(from: stored, txid: 4, update: Self.plusOne)
                == StoredValue(value: 6, previous: 5, txid: 4)
        )
        #expect(
            StateKind.nonTransactional.transition(from: stored, txid: 4, update: Self.plusOne)
                == StoredValue(value: 6, previous: nil, txid: 4)
        )
    }

    @Test func theSameTxidFollowsEachKindsRule() {
        let stored = StoredValue(value: 5, previous: 2, txid: 3)
        #expect(StateKind.transactional.transition(from: stored, txid: 3, update: Self.plusOne) == stored)
        #expect(
            StateKind.opaque.transition(from: stored, txid: 3, update: Self.plusOne)
                == StoredValue(value: 3, previous: 2, txid: 3)
        )
        #expect(
            StateKind.nonTransactional.transition(from: stored, txid: 3, update: Self.plusOne)
                == StoredValue(value: 6, previous: nil, txid: 3)
        )
    }

    @Test func stateKindCodesAsItsName() throws {
        let data = try JSONEncoder().encode([StateKind.transactional, .opaque, .nonTransactional])
        #expect(String(decoding: data, as: UTF8.self) == #"["transactional","opaque","nonTransactional"]"#)
        #expect(try JSONDecoder().decode([StateKind].self, from: data) == [.transactional, .opaque, .nonTransactional])
    }
}
