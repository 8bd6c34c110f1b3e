import Gale
import Testing

@testable import GaleTrident

@Suite struct GaleValueCanonicalTests {
    static let values: [GaleValue] = [
        .null,
        .bool(false),
        .bool(true),
        .int(0),
        .int(-1),
        .int(.min),
        .int(.max),
        .double(1.5),
        .double(-2.25),
        .double(.infinity),
        .double(-.infinity),
        .double(.greatestFiniteMagnitude),
        .double(.leastNonzeroMagnitude),
        .string(""),
        .string("hello"),
        .string("h\u{E9}llo \u{2713} \u{1F600}"),
        .string(String(repeating: "x", count: 300)),
        .bytes([]),
        .bytes([0, 1, 127, 128, 255]),
        .bytes(Array(repeating: 7, count: 200)),
        .list([]),
        .list([.null, .int(1), .string("a")]),
        .list([.list([.list([.int(1)]), .list([])]), .bytes([9])]),
        .map([:]),
        .map(["": .null]),
        .map(["b": .int(2), "a": .int(1), "c": .list([.map(["z": .bool(true)])])]),
        .map(["outer": .map(["inner": .map(["deep": .double(0.5)])]), "list": .list([.map([:])])]),
    ]

    @Test(arguments: values)
    func everyValueRoundTrips(value: GaleValue) throws {
        let bytes = value.canonicalBytes
        #expect(try GaleValue(canonicalBytes: bytes) == value)
        #expect(try value.depthCheckedCanonicalBytes() == bytes)
    }

    @Test func theLayoutIsPinned() {
        #expect(GaleValue.null.canonicalBytes == [0x00])
        #expect(GaleValue.bool(false).canonicalBytes == [0x01])
        #expect(GaleValue.bool(true).canonicalBytes == [0x02])
        #expect(GaleValue.int(1).canonicalBytes == [0x03, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(GaleValue.int(-2).canonicalBytes == [0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE])
        #expect(GaleValue.double(1).canonicalBytes == [0x04, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0])
        #expect(GaleValue.string("a").canonicalBytes == [0x05, 0x01, 0x61])
        #expect(GaleValue.bytes([7, 8]).canonicalBytes == [0x06, 0x02, 7, 8])
        #expect(GaleValue.list([.null, .bool(true)]).canonicalBytes == [0x07, 0x02, 0x00, 0x02])
        #expect(
            GaleValue.map(["b": .null, "a": .bool(true)]).canonicalBytes
                == [0x08, 0x02, 0x01, 0x61, 0x02, 0x01, 0x62, 0x00]
        )
        #expect(GaleValue.bytes(Array(repeating: 0, count: 300)).canonicalBytes.prefix(3) == [0x06, 0xAC, 0x02])
    }

    @Test func equalMapsBuiltInDifferentOrdersGiveEqualBytes() {
        let keys = (0..<64).map { "key-\($0)" }
        var forward: [String: GaleValue] = [:]
        for (index, key) in keys.enumerated() {
            forward[key] = .list([.int(Int64(index)), .map(["x": .int(1), "y": .int(2)])])
        }
        var backward: [String: GaleValue] = [:]
        backward.reserveCapacity(1000)
        for (index, key) in keys.enumerated().reversed() {
            var inner: [String: GaleValue] = [:]
            inner["y"] = .int(2)
            inner["x"] = .int(1)
            backward[key] = .list([.int(Int64(index)), .map(inner)])
        }
        #expect(GaleValue.map(forward) == GaleValue.map(backward))
        #expect(GaleValue.map(forward).canonicalBytes == GaleValue.map(backward).canonicalBytes)
        #expect(GaleValue.list([.map(forward)]).canonicalBytes == GaleValue.list([.map(backward)]).canonicalBytes)
    }

    @Test func canonicallyEquivalentStringsGiveEqualBytes() {
        let precomposed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        #expect(GaleValue.string(precomposed) == GaleValue.string(decomposed))
        #expect(GaleValue.string(precomposed).canonicalBytes == GaleValue.string(decomposed).canonicalBytes)
        #expect(
            GaleValue.map([precomposed: .int(1)]).canonicalBytes == GaleValue.map([decomposed: .int(1)]).canonicalBytes
        )
    }

    @Test func bothZerosGiveEqualBytes() {
        #expect(GaleValue.double(-0.0) == GaleValue.double(0.0))
        #expect(GaleValue.double(-0.0).canonicalBytes == GaleValue.double(0.0).canonicalBytes)
    }

    @Test func differentValuesGiveDifferentBytes() {
        let values = Self.values + [.double(1), .string("1"), .bytes([1]), .list([.int(1)]), .map(["1": .int(1)])]
        var seen: [[UInt8]: GaleValue] = [:]
        for value in values {
            let bytes = value.canonicalBytes
            if let earlier = seen[bytes] {
                Issue.record("\(value) and \(earlier) encode alike")
            }
            seen[bytes] = value
        }
        #expect(seen.count == values.count)
    }

    static let corruptInputs: [(name: String, bytes: [UInt8])] = [
        ("empty", []),
        ("unknown tag", [0x09]),
        ("truncated int", [0x03, 1, 2, 3]),
        ("truncated double", [0x04]),
        ("string longer than its bytes", [0x05, 0x05, 0x61]),
        ("truncated varint", [0x05, 0x80]),
        ("overlong varint", [0x05, 0x80, 0x00]),
        ("varint over 64 bits", [0x06] + Array(repeating: 0xFF, count: 10) + [0x01]),
        ("invalid UTF-8", [0x05, 0x02, 0xC3, 0x28]),
        ("list shorter than its count", [0x07, 0x02, 0x00]),
        ("huge list count", [0x07, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        ("huge bytes length", [0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
        ("map keys out of order", [0x08, 0x02, 0x01, 0x62, 0x00, 0x01, 0x61, 0x00]),
        ("repeated map key", [0x08, 0x02, 0x01, 0x61, 0x00, 0x01, 0x61, 0x00]),
        ("map key not UTF-8", [0x08, 0x01, 0x01, 0xFF, 0x00]),
        ("map without its value", [0x08, 0x01, 0x01, 0x61]),
        ("trailing bytes", [0x00, 0x00]),
        ("nested too deep", Array(repeating: [0x07, 0x01], count: 300).flatMap { $0 } + [0x00]),
    ]

    @Test(arguments: corruptInputs.map(\.name))
    func corruptInputThrowsCorrupt(name: String) throws {
        let bytes = try #require(Self.corruptInputs.first { $0.name == name }).bytes
        let error = #expect(throws: StateError.self) { try GaleValue(canonicalBytes: bytes) }
        guard case .corrupt(let message) = error else {
            Issue.record("expected .corrupt, got \(String(describing: error))")
            return
        }
        #expect(message.contains("offset"))
    }

    @Test func everyTruncationOfAnEncodingThrows() {
        let value = GaleValue.map([
            "list": .list([.int(7), .string("h\u{E9}"), .bytes([1, 2, 3])]),
            "map": .map(["x": .double(2.5), "y": .null]),
            "flag": .bool(true),
        ])
        let bytes = value.canonicalBytes
        for length in 0..<bytes.count {
            #expect(throws: StateError.self, "prefix of \(length) bytes") {
                try GaleValue(canonicalBytes: Array(bytes.prefix(length)))
            }
        }
    }

    @Test func randomBytesNeverTrap() {
        var generator = SplitMix64(seed: 7)
        var decoded = 0
        for round in 0..<5000 {
            var bytes = randomBytes(Int.random(in: 0...40, using: &generator), using: &generator)
            // Steer the first byte to a valid tag most of the time, so decoding goes deeper.
            if !bytes.isEmpty, round % 4 != 0 { bytes[0] %= 9 }
            do {
                let value = try GaleValue(canonicalBytes: bytes)
                decoded += 1
                #expect(try GaleValue(canonicalBytes: value.canonicalBytes) == value || value.containsNaN)
            } catch {
                guard case .corrupt = error else {
                    Issue.record("expected .corrupt, got \(error)")
                    return
                }
            }
        }
        #expect(decoded > 0)
    }

    @Test func nestingIsLimitedAlikeWhenEncodingAndDecoding() throws {
        func nested(_ depth: Int) -> GaleValue {
            var value = GaleValue.int(1)
            for level in 0..<depth {
                value = level.isMultiple(of: 2) ? .list([value]) : .map(["k": value])
            }
            return value
        }
        let deepest = nested(GaleValue.canonicalMaximumDepth)
        #expect(try GaleValue(canonicalBytes: try deepest.depthCheckedCanonicalBytes()) == deepest)

        let tooDeep = nested(GaleValue.canonicalMaximumDepth + 1)
        #expect(throws: StateError.self) { try tooDeep.depthCheckedCanonicalBytes() }
        #expect(throws: StateError.self) { try GaleValue(canonicalBytes: tooDeep.canonicalBytes) }
    }
}

extension GaleValue {
    fileprivate var containsNaN: Bool {
        switch self {
        case .double(let double): double.isNaN
        case .list(let list): list.contains { $0.containsNaN }
        case .map(let map): map.values.contains { $0.containsNaN }
        default: false
        }
    }
}
