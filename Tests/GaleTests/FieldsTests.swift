import Gale
import Testing

@Suite struct FieldsTests {
    @Test func indexOfFindsEachNameAtItsPosition() {
        let fields: Fields = ["word", "count", "lang"]
        #expect(fields.count == 3)
        #expect(fields.index(of: "word") == 0)
        #expect(fields.index(of: "count") == 1)
        #expect(fields.index(of: "lang") == 2)
        #expect(fields.index(of: "missing") == nil)
        #expect(fields.contains("count"))
        #expect(!fields.contains("Count"))
    }

    @Test func arrayLiteralAndInitializerAgree() {
        let literal: Fields = ["a", "b"]
        #expect(literal == Fields(["a", "b"]))
        #expect(literal.names == ["a", "b"])
        #expect(literal != Fields(["b", "a"]))
        #expect(Set([literal, Fields(["a", "b"])]).count == 1)
    }

    @Test func firstDuplicateIsNilForDistinctNames() {
        #expect(Fields(["a", "b", "c"]).firstDuplicate == nil)
        #expect(Fields([]).firstDuplicate == nil)
    }

    @Test func firstDuplicateReportsTheFirstRepeatedName() {
        #expect(Fields(["a", "b", "b", "a"]).firstDuplicate == "b")
        #expect(Fields(["x", "y", "x"]).firstDuplicate == "x")
    }

    @Test func aRepeatedNameResolvesToItsFirstPosition() {
        let fields = Fields(["x", "y", "x"])
        #expect(fields.count == 3)
        #expect(fields.index(of: "x") == 0)
    }

    @Test func emptyFieldsHaveNoNames() {
        let fields = Fields([])
        #expect(fields.count == 0)
        #expect(fields.index(of: "") == nil)
        #expect(fields.description == "[]")
    }

    @Test func descriptionListsTheNames() {
        #expect(Fields(["word", "count"]).description == "[word, count]")
    }
}
