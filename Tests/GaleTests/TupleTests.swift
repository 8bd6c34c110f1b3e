import Testing

@testable import Gale

@Suite struct TupleTests {
    static let source = TupleSource.intern(component: "split", stream: "words", fields: ["word", "count", "flag"])

    static func tuple(_ values: [GaleValue] = ["hello", 3, true], sourceTask: Int = 4) -> Tuple {
        Tuple(values: values, source: source, sourceTask: sourceTask)
    }

    @Test func sourceAccessorsDescribeTheEmitter() {
        let tuple = Self.tuple()
        #expect(tuple.sourceComponent == "split")
        #expect(tuple.sourceStreamId == "words")
        #expect(tuple.sourceTask == 4)
        #expect(tuple.fields == ["word", "count", "flag"])
        #expect(tuple.count == 3)
        #expect(!tuple.isTick)
    }

    @Test func valuesAreReadableByIndex() {
        let tuple = Self.tuple()
        #expect(tuple[0] == "hello")
        #expect(tuple[1] == 3)
        #expect(tuple[2] == true)
        #expect(tuple.string(at: 0) == "hello")
        #expect(tuple.int(at: 1) == 3)
    }

    @Test func typedIndexAccessorsReturnNilForTheWrongTypeOrOutOfRange() {
        let tuple = Self.tuple()
        #expect(tuple.string(at: 1) == nil)
        #expect(tuple.int(at: 0) == nil)
        #expect(tuple.string(at: 3) == nil)
        #expect(tuple.int(at: 99) == nil)
    }

    @Test func aOneValueTupleKeepsItsValueInlineAndReadsLikeAnyOther() {
        let one = Tuple(values: ["word"], source: Self.source, sourceTask: 1)
        guard case .one(let value) = one.storage else {
            Issue.record("a one-value tuple stores \(one.storage)")
            return
        }
        #expect(value == "word")
        #expect(one.count == 1)
        #expect(one.values == ["word"])
        #expect(one[0] == "word")
        #expect(one.string(at: 0) == "word")
        #expect(one.string(at: 1) == nil)
        #expect(one.int(at: 0) == nil)
        #expect(one[field: "word"] == "word")
        #expect(one[field: "count"] == nil, "the stream declares count, the tuple has no second value")
        #expect(one.words(at: 0).map { $0 } == ["word"])
    }

    @Test func zeroAndSeveralValueTuplesKeepTheirArray() {
        let none = Tuple(values: [], source: .tick, sourceTask: -1)
        #expect(none.count == 0)
        #expect(none.values.isEmpty)
        #expect(none.string(at: 0) == nil)
        let three = Self.tuple()
        guard case .many(let values) = three.storage else {
            Issue.record("a three-value tuple stores \(three.storage)")
            return
        }
        #expect(values == ["hello", 3, true])
        #expect(three.storage.at(3) == nil)
        #expect(three.storage.at(-1) == nil)
        #expect(three.storage.array == three.values)
    }

    @Test func valuesAreReadableByFieldName() throws {
        let tuple = Self.tuple()
        #expect(tuple[field: "word"] == "hello")
        #expect(tuple[field: "count"] == 3)
        #expect(tuple[field: "flag"] == true)
        #expect(tuple[field: "missing"] == nil)
        #expect(tuple.string(named: "word") == "hello")
        #expect(tuple.int(named: "count") == 3)
        #expect(tuple.string(named: "count") == nil)
        #expect(tuple.int(named: "missing") == nil)
        #expect(try tuple.value(named: "count") == 3)
    }

    @Test func valueNamedThrowsNamingFieldComponentAndStream() {
        let tuple = Self.tuple()
        #expect(throws: TupleAccessError.unknownField("colour", component: "split", stream: "words")) {
            try tuple.value(named: "colour")
        }
        let description = TupleAccessError.unknownField("colour", component: "split", stream: "words").description
        #expect(description.contains("[colour]"))
        #expect(description.contains("[split]"))
        #expect(description.contains("[words]"))
    }

    @Test func fieldBeyondTheValuesIsNil() {
        let short = Self.tuple(["only"])
        #expect(short[field: "word"] == "only")
        #expect(short[field: "count"] == nil)
    }

    @Test func descriptionNamesValueTypesButNeverValues() {
        let tuple = Self.tuple(["secret-password", 3, true])
        #expect(tuple.description == "Tuple(split:words task 4, [string, int, bool])")
        #expect(!tuple.description.contains("secret"))
    }

    @Test func tickTuplesComeFromTheSystemTickStream() {
        let tick = Tuple(values: [], source: TupleSource.tick, sourceTask: -1)
        #expect(tick.isTick)
        #expect(tick.sourceComponent == Topology.systemComponentId)
        #expect(tick.sourceStreamId == Topology.tickStreamId)
        #expect(tick.count == 0)
    }

    @Test func untrackedTupleHasNoMessageIds() {
        let tuple = Self.tuple()
        #expect(!tuple.messageId.isTracked)
        #expect(tuple.messageId.anchorsToIds.isEmpty)
        var visited = 0
        tuple.forEachAnchor { _, _ in visited += 1 }
        #expect(visited == 0)
    }

    @Test func trackedTupleExposesEveryRootWithItsEdge() {
        let tuple = Tuple(
            values: ["a", 1, false],
            source: Self.source,
            sourceTask: 1,
            root: 10,
            edge: 0b0011,
            moreAnchors: [20, 0b0101, 10, 0b0110]
        )
        #expect(tuple.messageId.isTracked)
        // Root 10 is reached twice: its edges XOR together.
        #expect(tuple.messageId.anchorsToIds == [10: 0b0101, 20: 0b0101])
        var pairs: [[UInt64]] = []
        tuple.forEachAnchor { root, edge in pairs.append([root, edge]) }
        #expect(pairs == [[10, 0b0011], [20, 0b0101], [10, 0b0110]])
    }
}
