import Foundation
import GaleCoordination
import Testing

/// The API's encoder writes what Foundation's `JSONEncoder` writes, up to key order and number
/// spelling: both outputs are parsed and compared as values.
@Suite struct StreamingJSONEncoderTests {
    struct Inner: Codable, Equatable {
        var name: String
        var count: UInt64
        var ratio: Double
        var tags: [String]
        var note: String?
    }

    enum Shape: Codable, Equatable {
        case circle(radius: Double)
        case polygon([Int], label: String?)
        case empty
    }

    struct Empty: Codable, Equatable {}

    struct Outer: Codable, Equatable {
        var id: Int
        var small: Int8
        var negative: Int64
        var big: UInt64
        var flag: Bool
        var float: Float
        var inner: Inner
        var inners: [Inner]
        var missing: Inner?
        var grid: [[Int]]
        var byName: [String: Inner]
        var byNumber: [Int: String]
        var shapes: [Shape]
        var empty: Empty
        var emptyList: [String]
        var emptyMap: [String: Int]
        var when: Date
        var blob: Data
        var link: URL
        var optionalNumbers: [Int?]
    }

    class Base: Codable {
        var base = "b"
    }

    final class Derived: Base, @unchecked Sendable {
        var extra = 7

        enum CodingKeys: String, CodingKey { case extra }

        override init() { super.init() }

        required init(from decoder: any Decoder) throws {
            extra = try decoder.container(keyedBy: CodingKeys.self).decode(Int.self, forKey: .extra)
            try super.init(from: decoder.container(keyedBy: CodingKeys.self).superDecoder())
        }

        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(extra, forKey: .extra)
            try super.encode(to: container.superEncoder())
        }
    }

    /// Writes into the same keyed container twice (as a subclass that does not call
    /// `superEncoder` does): one object.
    struct TwoPasses: Encodable {
        enum A: String, CodingKey { case a }
        enum B: String, CodingKey { case b }
        func encode(to encoder: any Encoder) throws {
            var first = encoder.container(keyedBy: A.self)
            try first.encode(1, forKey: .a)
            var second = encoder.container(keyedBy: B.self)
            try second.encode(2, forKey: .b)
        }
    }

    /// Encodes nothing at all.
    struct Silent: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    static let sample = Outer(
        id: -42,
        small: -8,
        negative: Int64.min,
        big: UInt64.max,
        flag: true,
        float: 1.5,
        inner: Inner(name: "q\"uote\\back\nline\ttab\u{1}ctl/é😀", count: 3, ratio: 0.1, tags: ["a", ""], note: nil),
        inners: [
            Inner(name: "x", count: 0, ratio: 1.0, tags: [], note: "n"),
            Inner(name: "y", count: 1, ratio: -2.5e-7, tags: ["t"], note: nil),
            Inner(name: "z", count: 2, ratio: 1e20, tags: [], note: ""),
        ],
        missing: nil,
        grid: [[1, 2], [], [3]],
        byName: [
            "one": Inner(name: "1", count: 1, ratio: 123_456.789, tags: [], note: nil),
            "": Inner(name: "", count: 0, ratio: 0, tags: [], note: nil),
        ],
        byNumber: [1: "a", -2: "b"],
        shapes: [.circle(radius: 2), .polygon([1, 2, 3], label: nil), .polygon([], label: "p"), .empty],
        empty: Empty(),
        emptyList: [],
        emptyMap: [:],
        when: Date(timeIntervalSinceReferenceDate: 1_234.5),
        blob: Data([0, 1, 2, 250]),
        link: URL(string: "https://example.com/a?b=c")!,
        optionalNumbers: [1, nil, 3]
    )

    /// Both encodings parsed as JSON values.
    func parsedBoth<T: Encodable>(_ value: T) throws -> (mine: NSObject, foundation: NSObject) {
        let mine = try StreamingJSONEncoder().encode(value)
        let theirs = try JSONEncoder().encode(value)
        let a = try JSONSerialization.jsonObject(with: Data(mine), options: [.fragmentsAllowed])
        let b = try JSONSerialization.jsonObject(with: theirs, options: [.fragmentsAllowed])
        return (try #require(a as? NSObject), try #require(b as? NSObject))
    }

    @Test func nestedValuesMeanWhatJSONEncodersDo() throws {
        let (mine, foundation) = try parsedBoth(Self.sample)
        #expect(mine == foundation, "\(mine)\nvs\n\(foundation)")
        // And decode back to the same value.
        let bytes = try StreamingJSONEncoder().encode(Self.sample)
        #expect(try JSONDecoder().decode(Outer.self, from: Data(bytes)) == Self.sample)
    }

    @Test func topLevelValuesSuperEncodersAndRepeatedContainers() throws {
        for (mine, foundation) in [
            try parsedBoth("text"), try parsedBoth(3.25), try parsedBoth([Int]()), try parsedBoth(Empty()),
            try parsedBoth(Derived()), try parsedBoth([Derived(), Derived()]), try parsedBoth(TwoPasses()),
            try parsedBoth(["k": Silent()]), try parsedBoth([String: [String: Int]]()), try parsedBoth([[Empty()]]),
        ] {
            #expect(mine == foundation, "\(mine) vs \(foundation)")
        }
        #expect(String(decoding: try StreamingJSONEncoder().encode(TwoPasses()), as: UTF8.self) == #"{"a":1,"b":2}"#)
        #expect(String(decoding: try StreamingJSONEncoder().encode(Silent()), as: UTF8.self) == "{}")
    }

    @Test func keysKeepTheirEncodingOrderAndNumbersTheirShortSpelling() throws {
        let text = String(
            decoding: try StreamingJSONEncoder().encode(Inner(name: "a/b", count: 1, ratio: 2.0, tags: [], note: nil)),
            as: UTF8.self
        )
        #expect(text == #"{"name":"a/b","count":1,"ratio":2,"tags":[]}"#)
    }

    @Test func aNumberJSONCannotHoldIsAnError() {
        for bad in [Double.nan, .infinity, -.infinity] {
            #expect(throws: EncodingError.self) { try StreamingJSONEncoder().encode(["x": bad]) }
        }
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder().encode([Float.nan]) }
        let response = HTTPResponse.json(["x": Double.nan])
        #expect(response.status == 500)
    }
}
