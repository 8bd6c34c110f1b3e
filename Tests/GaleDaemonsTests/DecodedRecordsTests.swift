import GaleCoordination
import Synchronization
import Testing

@testable import GaleDaemons

@Suite struct DecodedRecordsTests {
    /// Counts how often it is decoded.
    struct Counted: Decodable, Sendable, Equatable {
        static let decodes = Atomic<Int>(0)
        var name: String

        init(from decoder: any Decoder) throws {
            Self.decodes.add(1, ordering: .relaxed)
            name = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .name)
        }

        enum CodingKeys: String, CodingKey { case name }
    }

    @Test func theSameBytesAreDecodedOnceAndChangedBytesAgain() throws {
        let records = DecodedRecords<Counted>()
        let a = Array(#"{"name":"a"}"#.utf8)
        let b = Array(#"{"name":"b"}"#.utf8)
        let before = Counted.decodes.load(ordering: .relaxed)
        #expect(try records.record(at: "/t/1", from: a).name == "a")
        #expect(try records.record(at: "/t/1", from: a).name == "a")
        #expect(Counted.decodes.load(ordering: .relaxed) - before == 1)
        #expect(try records.record(at: "/t/1", from: b).name == "b", "the record changed in ZooKeeper")
        #expect(try records.record(at: "/t/2", from: a).name == "a", "another path is another record")
        #expect(Counted.decodes.load(ordering: .relaxed) - before == 3)
        records.keep(only: ["/t/2"])
        _ = try records.record(at: "/t/1", from: b)
        #expect(Counted.decodes.load(ordering: .relaxed) - before == 4, "a forgotten path decodes again")
        #expect(throws: (any Error).self) { try records.record(at: "/t/3", from: Array("not json".utf8)) }
    }
}
