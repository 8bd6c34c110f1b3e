import Gale
import Testing

@Suite struct GaleValueTests {
    static func stableHash(_ values: GaleValue...) -> UInt64 {
        var hash = GaleValue.hashSeed
        for value in values { value.stableHash(into: &hash) }
        return hash
    }

    /// FNV-1a over `bytes`, written independently of the implementation.
    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    // MARK: - Literals

    @Test func literalsBuildTheMatchingCase() {
        let string: GaleValue = "word"
        let int: GaleValue = 42
        let double: GaleValue = 2.5
        let bool: GaleValue = true
        let null: GaleValue = nil
        let list: GaleValue = [1, "a", nil]
        let map: GaleValue = ["k": 1, "l": [true]]
        #expect(string == .string("word"))
        #expect(int == .int(42))
        #expect(double == .double(2.5))
        #expect(bool == .bool(true))
        #expect(null == .null)
        #expect(list == .list([.int(1), .string("a"), .null]))
        #expect(map == .map(["k": .int(1), "l": .list([.bool(true)])]))
    }

    @Test func dictionaryLiteralKeepsTheLastValueOfARepeatedKey() {
        let map: GaleValue = ["k": 1, "k": 2]
        #expect(map.mapValue == ["k": .int(2)])
    }

    // MARK: - Accessors

    @Test func accessorsReturnTheValueOfTheirOwnCaseOnly() {
        let values: [GaleValue] = [
            .null, .bool(false), .int(-7), .double(0.5), .string("s"), .bytes([1, 2]), .list([.int(1)]),
            .map(["a": .null]),
        ]
        for value in values {
            #expect((value.stringValue != nil) == (value.typeName == "string"))
            #expect((value.intValue != nil) == (value.typeName == "int"))
            #expect((value.boolValue != nil) == (value.typeName == "bool"))
            #expect((value.bytesValue != nil) == (value.typeName == "bytes"))
            #expect((value.listValue != nil) == (value.typeName == "list"))
            #expect((value.mapValue != nil) == (value.typeName == "map"))
            #expect(value.isNull == (value.typeName == "null"))
        }
        #expect(GaleValue.string("s").stringValue == "s")
        #expect(GaleValue.int(-7).intValue == -7)
        #expect(GaleValue.bool(false).boolValue == false)
        #expect(GaleValue.bytes([1, 2]).bytesValue == [1, 2])
        #expect(GaleValue.list([.int(1)]).listValue == [.int(1)])
        #expect(GaleValue.map(["a": .null]).mapValue == ["a": .null])
    }

    @Test func doubleValueConvertsIntegersButNothingElse() {
        #expect(GaleValue.double(1.25).doubleValue == 1.25)
        #expect(GaleValue.int(3).doubleValue == 3.0)
        #expect(GaleValue.string("3").doubleValue == nil)
        #expect(GaleValue.bool(true).doubleValue == nil)
    }

    @Test(arguments: [
        (GaleValue.null, "null"), (.bool(true), "bool"), (.int(1), "int"), (.double(1), "double"),
        (.string(""), "string"), (.bytes([]), "bytes"), (.list([]), "list"), (.map([:]), "map"),
    ])
    func typeNameNamesTheCase(_ value: GaleValue, _ name: String) {
        #expect(value.typeName == name)
    }

    @Test func descriptionPrintsBytesAsACountAndMapsSortedByKey() {
        #expect(GaleValue.bytes([1, 2, 3]).description == "<3 bytes>")
        #expect(GaleValue.map(["b": 2, "a": "x"]).description == "{a: x, b: 2}")
        #expect(GaleValue.list([1, nil, true]).description == "[1, null, true]")
    }

    // MARK: - Stable hash

    @Test func stableHashIsPinned() {
        // These constants are part of the wire contract: workers of different builds must route a key
        // to the same task. Changing the hash function must be a deliberate, versioned decision.
        #expect(Self.stableHash("gale") == 0xbe5e_931c_dd89_227f)
        #expect(Self.stableHash(.int(42)) == 0x12a8_62ef_58b0_20b8)
        #expect(Self.stableHash(.list([.int(1), .string("a"), .null])) == 0x8e0b_8b97_f3fd_c060)
    }

    @Test func stableHashIsFnv1aOverATypeTagAndTheValueBytes() {
        #expect(Self.stableHash("gale") == Self.fnv1a([5] + Array("gale".utf8)))
        #expect(Self.stableHash(.int(-1)) == Self.fnv1a([3] + Array(repeating: 0xFF, count: 8)))
        #expect(Self.stableHash(.bytes([9, 8])) == Self.fnv1a([6, 9, 8]))
        #expect(Self.stableHash(.null) == Self.fnv1a([0]))
        #expect(Self.stableHash(.bool(true)) == Self.fnv1a([1]))
        #expect(Self.stableHash(.bool(false)) == Self.fnv1a([2]))
    }

    @Test(arguments: [
        GaleValue.null, .bool(true), .int(Int64.min), .double(-3.75), .string("naïve ☃"), .bytes([0, 255]),
        .list([.int(1), .list([.string("x")])]), .map(["z": .int(1), "a": .map(["b": .null])]),
    ])
    func stableHashIsEqualForEqualValues(_ value: GaleValue) {
        let copy = value
        #expect(Self.stableHash(value) == Self.stableHash(copy))
        #expect(Self.stableHash(value) != GaleValue.hashSeed)
    }

    @Test func stableHashOfAMapDoesNotDependOnInsertionOrder() {
        var forward: [String: GaleValue] = [:]
        var backward: [String: GaleValue] = [:]
        let keys = (0..<50).map { "key\($0)" }
        for key in keys { forward[key] = .string(key) }
        for key in keys.reversed() { backward[key] = .string(key) }
        #expect(Self.stableHash(.map(forward)) == Self.stableHash(.map(backward)))
    }

    @Test func stableHashDistinguishesTypesAndValues() {
        let values: [GaleValue] = [
            .null, .bool(true), .bool(false), .int(0), .int(1), .double(0), .double(1), .string(""), .string("1"),
            .bytes([]), .bytes([1]), .list([]), .list([.int(1)]), .map([:]), .map(["1": .int(1)]),
        ]
        let hashes = Set(values.map { Self.stableHash($0) })
        #expect(hashes.count == values.count)
    }

    @Test func stableHashIsEqualForCanonicallyEquivalentStrings() {
        // "é" precomposed (U+00E9) and decomposed (e + U+0301) are equal Swift strings, hence equal
        // GaleValues; fields grouping must therefore send them to the same task.
        let precomposed = GaleValue.string("caf\u{E9}")
        let decomposed = GaleValue.string("cafe\u{301}")
        #expect(precomposed == decomposed)
        #expect(Self.stableHash(precomposed) == Self.stableHash(decomposed))
    }

    @Test func stableHashIsEqualForPositiveAndNegativeZero() {
        #expect(GaleValue.double(0.0) == GaleValue.double(-0.0))
        #expect(Self.stableHash(.double(0.0)) == Self.stableHash(.double(-0.0)))
    }
}
