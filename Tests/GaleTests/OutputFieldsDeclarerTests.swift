import Gale
import Testing

@Suite struct OutputFieldsDeclarerTests {
    @Test func declareUsesTheDefaultStream() {
        var declarer = OutputFieldsDeclarer()
        declarer.declare(["a", "b"])
        #expect(declarer.streams.count == 1)
        #expect(declarer.streams.first?.id == "default")
        #expect(declarer.streams.first?.fields == ["a", "b"])
        #expect(declarer.streams.first?.isDirect == false)
        #expect(declarer.duplicates.isEmpty)
    }

    @Test func streamsKeepDeclarationOrderAndDirectness() {
        var declarer = OutputFieldsDeclarer()
        declarer.declareStream("z", fields: ["n"])
        declarer.declareStream("a", fields: ["m"], direct: true)
        #expect(declarer.streams.map(\.id) == ["z", "a"])
        #expect(declarer.streams.map(\.isDirect) == [false, true])
    }

    @Test func aSecondDeclarationIsRecordedAsDuplicateAndIgnored() {
        var declarer = OutputFieldsDeclarer()
        declarer.declareStream("s", fields: ["first"])
        declarer.declareStream("s", fields: ["second"], direct: true)
        declarer.declare(["x"])
        declarer.declare(["y"])
        #expect(declarer.streams.map(\.id) == ["s", "default"])
        #expect(declarer.streams.first?.fields == ["first"])
        #expect(declarer.duplicates == ["s", "default"])
    }
}
