import Foundation
import Gale
import GaleTrident
import Testing

@Suite struct MemoryStateFactoryTests {
    private static func add(_ amount: Int64) -> (GaleValue?) throws -> GaleValue {
        { .int(($0?.intValue ?? 0) + amount) }
    }

    private static func uniqueRegistry() -> String { "test-\(UUID().uuidString)" }

    @Test func aRerunInTheSameProcessSeesTheSameState() throws {
        let registry = Self.uniqueRegistry()
        do {
            let state = MapState(
                kind: .opaque,
                backing: try MemoryStateFactory(registry: registry)
                    .makeBackingMap(stateName: "counts", partition: 0, partitions: 1)
            )
            _ = try state.applyBatch(txid: 1, updates: [["a"]: Self.add(4)])
        }
        let rerun = MapState(
            kind: .opaque,
            backing: try MemoryStateFactory(registry: registry).makeBackingMap(
                stateName: "counts",
                partition: 0,
                partitions: 1
            )
        )
        #expect(try rerun.lastCommittedTxid == 1)
        #expect(try rerun.get([["a"]]) == [4])
    }

    @Test func registriesAreIsolated() throws {
        let first = MemoryStateFactory(registry: Self.uniqueRegistry())
        let second = MemoryStateFactory(registry: Self.uniqueRegistry())
        try first.makeBackingMap(stateName: "counts", partition: 0, partitions: 1)
            .commit([(["a"], StoredValue(value: 1, txid: 1))], txid: 1)
        let other = try second.makeBackingMap(stateName: "counts", partition: 0, partitions: 1)
        #expect(try other.multiGet([["a"]]) == [nil])
        #expect(try other.lastCommittedTxid() == nil)
        #expect(second.snapshot(stateName: "counts").isEmpty)
    }

    @Test func snapshotSpansPartitionsAndPartitionsKeepTheirOwnTxid() throws {
        let factory = MemoryStateFactory(registry: Self.uniqueRegistry())
        let zero = try factory.makeBackingMap(stateName: "counts", partition: 0, partitions: 2)
        let one = try factory.makeBackingMap(stateName: "counts", partition: 1, partitions: 2)
        try zero.commit([(["a"], StoredValue(value: 1, txid: 3))], txid: 3)
        try one.commit([(["b"], StoredValue(value: 2, previous: 1, txid: 6))], txid: 6)
        #expect(try zero.lastCommittedTxid() == 3)
        #expect(try one.lastCommittedTxid() == 6)
        #expect(
            factory.snapshot(stateName: "counts") == [
                ["a"]: StoredValue(value: 1, txid: 3), ["b"]: StoredValue(value: 2, previous: 1, txid: 6),
            ]
        )
        #expect(factory.snapshot(stateName: "other").isEmpty)
        #expect(factory.snapshot(stateName: "").isEmpty)
    }

    @Test func theSamePartitionIsTheSameMap() throws {
        let factory = MemoryStateFactory(registry: Self.uniqueRegistry())
        let first = try factory.makeBackingMap(stateName: "counts", partition: 0, partitions: 1)
        let second = try factory.makeBackingMap(stateName: "counts", partition: 0, partitions: 1)
        #expect(first === second)
    }

    @Test func invalidNamesAndPartitionsAreRefused() {
        let factory = MemoryStateFactory(registry: Self.uniqueRegistry())
        #expect(throws: StateError.self) { try factory.makeBackingMap(stateName: "", partition: 0, partitions: 1) }
        #expect(throws: StateError.self) {
            try factory.makeBackingMap(stateName: "counts", partition: 1, partitions: 1)
        }
    }
}
