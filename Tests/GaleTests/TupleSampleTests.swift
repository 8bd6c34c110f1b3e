import Gale
import Testing

@Suite struct TupleSampleTests {
    @Test func valuesRenderAsAListAndLongOnesAreCut() {
        #expect(
            TupleSample.render([.string("alpha"), .int(3), .double(0.5), .bool(true), .null])
                == #"["alpha", 3, 0.5, true, null]"#
        )
        #expect(
            TupleSample.render([.bytes([1, 2, 3]), .list([.int(1)]), .map(["b": .int(2), "a": .int(1)])])
                == #"[<3 bytes>, [1], {"a": 1, "b": 2}]"#
        )
        #expect(TupleSample.render([]) == "[]")
        let long = TupleSample.render([.string(String(repeating: "x", count: 10_000))])
        #expect(long.count == TupleSample.maxValuesLength)
        #expect(long.hasPrefix("[\"xxx") && long.hasSuffix("…"))
        #expect(TupleSample.render((0..<1000).map { .int(Int64($0)) }).count == TupleSample.maxValuesLength)
        #expect(TupleSample.render([.string("abc")], limit: 4) == "[\"a…")
    }
}
