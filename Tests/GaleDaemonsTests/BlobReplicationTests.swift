import Foundation
import Logging
import Testing

@testable import GaleDaemons

@Suite struct BlobReplicationTests {
    static func store() throws -> BlobStore {
        try BlobStore(directory: NSTemporaryDirectory() + "gale-blobs-\(UUID().uuidString)")
    }

    /// Stores `text` the way nimbus stores an upload: a file in the incoming directory, installed.
    @discardableResult
    static func add(_ store: BlobStore, _ text: String) throws -> String {
        let file = "\(store.incomingDirectory)/\(UUID().uuidString)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return try store.install(file: file)
    }

    /// Sets blob `digest`'s stored time.
    static func age(_ store: BlobStore, _ digest: String, to date: Date) throws {
        try FileManager.default.setAttributes(
            [.modificationDate: date],
            ofItemAtPath: try #require(store.existingPath(of: digest))
        )
    }

    @Test func onlyBlobsNoTopologyNamesAndOlderThanTheOrphanAgeAreRemoved() throws {
        let store = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        let used = try Self.add(store, "used")
        let old = try Self.add(store, "old")
        let fresh = try Self.add(store, "fresh")
        let now = Date()
        try Self.age(store, used, to: now.addingTimeInterval(-7200))
        try Self.age(store, old, to: now.addingTimeInterval(-7200))
        try Self.age(store, fresh, to: now.addingTimeInterval(-60))
        let replication = BlobReplication(blobs: store, logger: Logger(label: "test"), orphanAge: .seconds(3600))
        replication.removeOrphans(wanted: [used], now: now)
        #expect(store.existingPath(of: used) != nil)
        #expect(store.existingPath(of: old) == nil)
        #expect(store.existingPath(of: fresh) != nil, "an upload not yet named by its submission stays")
    }

    @Test func storingAnOldBlobAgainMakesItNewForTheSweep() throws {
        let store = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        let digest = try Self.add(store, "binary")
        let now = Date()
        try Self.age(store, digest, to: now.addingTimeInterval(-7200))
        try Self.add(store, "binary")
        BlobReplication(blobs: store, logger: Logger(label: "test")).removeOrphans(wanted: [], now: now)
        #expect(store.existingPath(of: digest) != nil)
    }

    @Test func aReplicaWithTheWrongBytesIsRefused() throws {
        let store = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        let digest = try Self.add(store, "right")
        store.remove(digest)
        let wrong = store.incomingDirectory + "/wrong"
        try Data("wrong".utf8).write(to: URL(fileURLWithPath: wrong))
        #expect(throws: BlobStoreError.self) { try store.install(file: wrong, expected: digest) }
        #expect(store.existingPath(of: digest) == nil)
        #expect(!FileManager.default.fileExists(atPath: wrong), "a refused replica is not kept")
        let right = store.incomingDirectory + "/right"
        try Data("right".utf8).write(to: URL(fileURLWithPath: right))
        #expect(try store.install(file: right, expected: digest) == digest)
        #expect(store.existingPath(of: digest) != nil)
    }
}
