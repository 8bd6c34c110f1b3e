import Testing

@testable import Gale

@Suite struct TupleSourceTests {
    @Test func internReturnsOneInstancePerComponentStreamAndFields() {
        let a = TupleSource.intern(component: "c", stream: "s", fields: ["x"])
        let b = TupleSource.intern(component: "c", stream: "s", fields: ["x"])
        #expect(a === b)
        #expect(a.componentId == "c")
        #expect(a.streamId == "s")
        #expect(a.fields == ["x"])
    }

    @Test func internSeparatesDifferentFieldsStreamsAndComponents() {
        let base = TupleSource.intern(component: "c", stream: "s", fields: ["x"])
        #expect(base !== TupleSource.intern(component: "c", stream: "s", fields: ["y"]))
        #expect(base !== TupleSource.intern(component: "c", stream: "t", fields: ["x"]))
        #expect(base !== TupleSource.intern(component: "d", stream: "s", fields: ["x"]))
    }

    @Test func tickSourceIsTheSystemTickStream() {
        #expect(TupleSource.tick.componentId == "__system")
        #expect(TupleSource.tick.streamId == "__tick")
        #expect(TupleSource.tick.fields.count == 0)
        #expect(TupleSource.tick === TupleSource.intern(component: "__system", stream: "__tick", fields: []))
    }
}
