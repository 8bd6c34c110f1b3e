import Foundation
import Logging
import Testing

@testable import GaleDaemons

@Suite struct BlobReplicationTests {
    static func store() throws -> BlobStore {
        try BlobStore(directory: NSTemporaryDirectory() + "gale-blobs-\(UUID().uuidString)")
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
        let used = try store.put(Array("used".utf8))
        let old = try store.put(Array("old".utf8))
        let fresh = try store.put(Array("fresh".utf8))
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
        let digest = try store.put(Array("binary".utf8))
        let now = Date()
        try Self.age(store, digest, to: now.addingTimeInterval(-7200))
        try store.put(Array("binary".utf8))
        BlobReplication(blobs: store, logger: Logger(label: "test")).removeOrphans(wanted: [], now: now)
        #expect(store.existingPath(of: digest) != nil)
    }

    @Test func aReplicaWithTheWrongBytesIsRefused() throws {
        let store = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        let digest = try store.put(Array("right".utf8))
        store.remove(digest)
        #expect(throws: BlobStoreError.self) { try store.put(Array("wrong".utf8), expected: digest) }
        #expect(store.existingPath(of: digest) == nil)
        #expect(try store.put(Array("right".utf8), expected: digest) == digest)
    }
}
