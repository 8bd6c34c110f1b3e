import Dispatch
import Foundation
import Gale
import GaleTrident
import Testing

@Suite struct SQLiteStateFactoryTests {
    private static func add(_ amount: Int64) -> (GaleValue?) throws -> GaleValue {
        { .int(($0?.intValue ?? 0) + amount) }
    }

    @Test func aNewFactoryOnTheSameFileSeesValuesAndTheLastTxid() throws {
        try withTemporaryDirectory { directory throws in
            let path = directory.file("state.sqlite")
            do {
                let factory = SQLiteStateFactory(path: path)
                let state = MapState(
                    kind: .opaque,
                    backing: try factory.makeBackingMap(stateName: "counts", partition: 0, partitions: 1)
                )
                _ = try state.applyBatch(txid: 1, updates: [["apple"]: Self.add(2), ["pear"]: Self.add(1)])
                _ = try state.applyBatch(txid: 2, updates: [["apple"]: Self.add(3)])
            }
            let reopened = MapState(
                kind: .opaque,
                backing: try SQLiteStateFactory(path: path).makeBackingMap(
                    stateName: "counts",
                    partition: 0,
                    partitions: 1
                )
            )
            #expect(try reopened.lastCommittedTxid == 2)
            #expect(try reopened.get([["apple"], ["pear"]]) == [5, 1])
            // The replay of batch 2 after the restart is computed from the value before it.
            #expect(try reopened.applyBatch(txid: 2, updates: [["apple"]: Self.add(10)]) == [["apple"]: 12])

            #expect(
                try SQLiteStateFactory.readAll(path: path, stateName: "counts") == [
                    ["apple"]: StoredValue(value: 12, previous: 2, txid: 2),
                    ["pear"]: StoredValue(value: 1, previous: nil, txid: 1),
                ]
            )
        }
    }

    @Test func twoPartitionsKeepSeparateLastTxids() throws {
        try withTemporaryDirectory { directory throws in
            let path = directory.file("state.sqlite")
            let factory = SQLiteStateFactory(path: path)
            let zero = MapState(
                kind: .transactional,
                backing: try factory.makeBackingMap(stateName: "counts", partition: 0, partitions: 2)
            )
            let one = MapState(
                kind: .transactional,
                backing: try factory.makeBackingMap(stateName: "counts", partition: 1, partitions: 2)
            )
            _ = try zero.applyBatch(txid: 5, updates: [["a"]: Self.add(1)])
            _ = try one.applyBatch(txid: 7, updates: [["b"]: Self.add(1)])
            _ = try one.applyBatch(txid: 8, updates: [:])
            #expect(try zero.lastCommittedTxid == 5)
            #expect(try one.lastCommittedTxid == 8)

            let again = SQLiteStateFactory(path: path)
            #expect(try again.makeBackingMap(stateName: "counts", partition: 0, partitions: 2).lastCommittedTxid() == 5)
            #expect(try again.makeBackingMap(stateName: "counts", partition: 1, partitions: 2).lastCommittedTxid() == 8)
            #expect(
                try SQLiteStateFactory.readAll(path: path, stateName: "counts") == [
                    ["a"]: StoredValue(value: 1, txid: 5), ["b"]: StoredValue(value: 1, txid: 7),
                ]
            )
        }
    }

    @Test func statesInOneFileAreSeparate() throws {
        try withTemporaryDirectory { directory throws in
            let path = directory.file("state.sqlite")
            let factory = SQLiteStateFactory(path: path)
            let counts = try factory.makeBackingMap(stateName: "counts", partition: 0, partitions: 1)
            let sums = try factory.makeBackingMap(stateName: "sums", partition: 0, partitions: 1)
            try counts.commit([(["k"], StoredValue(value: 1, txid: 1))], txid: 1)
            try sums.commit([(["k"], StoredValue(value: 100, txid: 3))], txid: 3)
            #expect(try counts.multiGet([["k"]]) == [StoredValue(value: 1, txid: 1)])
            #expect(try sums.multiGet([["k"]]) == [StoredValue(value: 100, txid: 3)])
            #expect(try counts.lastCommittedTxid() == 1)
            #expect(try sums.lastCommittedTxid() == 3)
        }
    }

    @Test func namesThatSanitizeAlikeShareAState() throws {
        try withTemporaryDirectory { directory throws in
            let path = directory.file("state.sqlite")
            let factory = SQLiteStateFactory(path: path)
            let map = try factory.makeBackingMap(stateName: "word-count.v2", partition: 0, partitions: 1)
            try map.commit([(["k"], StoredValue(value: 1, txid: 1))], txid: 1)
            #expect(try SQLiteStateFactory.readAll(path: path, stateName: "word_count_v2").count == 1)
            let sqliteMap = try #require(map as? SQLiteBackingMap)
            #expect(sqliteMap.stateName == "word_count_v2")
        }
    }

    @Test func processesSharingAFileCommitConcurrently() throws {
        try withTemporaryDirectory { directory throws in
            let path = directory.file("state.sqlite")
            // Two factories stand for two worker processes: each has its own connections.
            let factories = [SQLiteStateFactory(path: path), SQLiteStateFactory(path: path)]
            let maps = try (0..<2).map {
                try factories[$0].makeBackingMap(stateName: "counts", partition: $0, partitions: 2)
            }
            let failures = Failures()
            DispatchQueue.concurrentPerform(iterations: 2) { partition in
                let state = MapState(kind: .transactional, backing: maps[partition])
                do {
                    for txid in 1...40 {
                        _ = try state.applyBatch(
                            txid: Int64(txid),
                            updates: [["p", .int(Int64(partition))]: { .int(($0?.intValue ?? 0) + 1) }]
                        )
                    }
                } catch {
                    failures.record("\(error)")
                }
            }
            #expect(failures.all.isEmpty)
            let all = try SQLiteStateFactory.readAll(path: path, stateName: "counts")
            #expect(all == [["p", 0]: StoredValue(value: 40, txid: 40), ["p", 1]: StoredValue(value: 40, txid: 40)])
            #expect(try maps.map { try $0.lastCommittedTxid() } == [40, 40])
        }
    }

    // MARK: - Opening failures

    @Test func aMissingDirectoryCannotBeOpened() throws {
        try withTemporaryDirectory { directory throws in
            let path = directory.file("no-such-directory/state.sqlite")
            let error = #expect(throws: StateError.self) {
                try SQLiteStateFactory(path: path).makeBackingMap(stateName: "counts", partition: 0, partitions: 1)
            }
            guard case .cannotOpen(let errorPath, let reason) = error else {
                Issue.record("expected .cannotOpen, got \(String(describing: error))")
                return
            }
            #expect(errorPath == path)
            #expect(reason.contains("does not exist"))
            #expect(error?.description.contains(path) == true)
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func aFileOfGarbageCannotBeOpened() throws {
        try withTemporaryDirectory { directory throws in
            let path = directory.file("garbage.sqlite")
            var generator = SplitMix64(seed: 99)
            var garbage = randomBytes(8192, using: &generator)
            garbage[0] = 0xFF  // never the start of "SQLite format 3"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(garbage)))

            let factory = SQLiteStateFactory(path: path)
            for _ in 0..<2 {  // a failed open is not cached as a success
                let error = #expect(throws: StateError.self) {
                    try factory.makeBackingMap(stateName: "counts", partition: 0, partitions: 1)
                }
                guard case .cannotOpen(let errorPath, let reason) = error else {
                    Issue.record("expected .cannotOpen, got \(String(describing: error))")
                    return
                }
                #expect(errorPath == path)
                #expect(reason.contains("not a database"))
                #expect(error?.description.contains(path) == true)
            }
            let readError = #expect(throws: StateError.self) {
                try SQLiteStateFactory.readAll(path: path, stateName: "counts")
            }
            guard case .cannotOpen = readError else {
                Issue.record("expected .cannotOpen, got \(String(describing: readError))")
                return
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(garbage))
        }
    }

    @Test func aDirectoryCannotBeOpened() throws {
        try withTemporaryDirectory { directory throws in
            let error = #expect(throws: StateError.self) {
                try SQLiteStateFactory(path: directory.path).makeBackingMap(
                    stateName: "counts",
                    partition: 0,
                    partitions: 1
                )
            }
            guard case .cannotOpen(let errorPath, let reason) = error else {
                Issue.record("expected .cannotOpen, got \(String(describing: error))")
                return
            }
            #expect(errorPath == directory.path)
            #expect(reason.contains("directory"))
        }
    }

    @Test func readAllOfAMissingFileOrStateSaysWhich() throws {
        try withTemporaryDirectory { directory throws in
            let path = directory.file("state.sqlite")
            let missingFile = #expect(throws: StateError.self) {
                try SQLiteStateFactory.readAll(path: path, stateName: "counts")
            }
            guard case .cannotOpen(let errorPath, _) = missingFile else {
                Issue.record("expected .cannotOpen, got \(String(describing: missingFile))")
                return
            }
            #expect(errorPath == path)
            #expect(!FileManager.default.fileExists(atPath: path))

            _ = try SQLiteStateFactory(path: path).makeBackingMap(stateName: "counts", partition: 0, partitions: 1)
            #expect(try SQLiteStateFactory.readAll(path: path, stateName: "counts").isEmpty)
            let missingState = #expect(throws: StateError.self) {
                try SQLiteStateFactory.readAll(path: path, stateName: "other")
            }
            guard case .storage(let message) = missingState else {
                Issue.record("expected .storage, got \(String(describing: missingState))")
                return
            }
            #expect(message.contains("gale_state_other"))
            #expect(message.contains(path))
        }
    }

    // MARK: - Validation

    @Test(arguments: ["", "   ", "---", "a\nb", String(repeating: "x", count: 65)])
    func invalidNamesAreRefused(name: String) throws {
        try withTemporaryDirectory { directory throws in
            let error = #expect(throws: StateError.self) {
                try SQLiteStateFactory(path: directory.file("state.sqlite"))
                    .makeBackingMap(stateName: name, partition: 0, partitions: 1)
            }
            guard case .invalidName(let errorName, let reason) = error else {
                Issue.record("expected .invalidName, got \(String(describing: error))")
                return
            }
            #expect(errorName == name)
            #expect(!reason.isEmpty)
        }
    }

    @Test(arguments: [(-1, 2), (2, 2), (0, 0)])
    func partitionsOutsideTheRangeAreRefused(partition: Int, partitions: Int) throws {
        try withTemporaryDirectory { directory throws in
            let error = #expect(throws: StateError.self) {
                try SQLiteStateFactory(path: directory.file("state.sqlite"))
                    .makeBackingMap(stateName: "counts", partition: partition, partitions: partitions)
            }
            guard case .invalidPartition(let name, partition, partitions) = error else {
                Issue.record("expected .invalidPartition, got \(String(describing: error))")
                return
            }
            #expect(name == "counts")
        }
    }
}

/// Error messages collected from several threads.
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []

    func record(_ message: String) {
        lock.withLock { messages.append(message) }
    }

    var all: [String] {
        lock.withLock { messages }
    }
}
