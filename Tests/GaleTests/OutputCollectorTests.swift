import Testing

@testable import Gale

/// The collector protocols' conveniences: a one-value emit reaches `emit(value:...)`, and a
/// collector that implements only the array forms still gets every emit.
@Suite struct OutputCollectorTests {
    /// Implements only the array requirements: `emit(value:...)` is the protocols' default.
    final class ArrayOnly: SpoutOutputCollector, OutputCollector, BasicOutputCollector {
        var emitted: [(values: [GaleValue], stream: String)] = []
        var pendingCount: Int { 0 }
        func emit(_ values: consuming [GaleValue], stream: String, messageId: (any Sendable)?) {
            emitted.append((values, stream))
        }
        func emitDirect(task: Int, _ values: consuming [GaleValue], stream: String, messageId: (any Sendable)?) {}
        func emit(_ values: consuming [GaleValue], stream: String, anchor: Tuple?) { emitted.append((values, stream)) }
        func emit(_ values: consuming [GaleValue], stream: String, anchors: [Tuple]) {}
        func emitDirect(task: Int, _ values: consuming [GaleValue], stream: String, anchors: [Tuple]) {}
        func ack(_ tuple: Tuple) {}
        func fail(_ tuple: Tuple) {}
        func emit(_ values: consuming [GaleValue], stream: String) { emitted.append((values, stream)) }
        func emitDirect(task: Int, _ values: consuming [GaleValue], stream: String) {}
        func reportError(_ error: any Error) {}
    }

    /// Records which requirement each emit reached.
    final class Recording: BasicOutputCollector {
        var single: [GaleValue] = []
        var arrays: [[GaleValue]] = []
        func emit(_ values: consuming [GaleValue], stream: String) { arrays.append(values) }
        func emit(value: consuming GaleValue, stream: String) { single.append(value) }
        func emitDirect(task: Int, _ values: consuming [GaleValue], stream: String) {}
        func reportError(_ error: any Error) {}
    }

    @Test func aCollectorWithOnlyArrayEmitsGetsOneValueEmitsAsOneValueArrays() {
        let collector = ArrayOnly()
        let spout: any SpoutOutputCollector = collector
        let bolt: any OutputCollector = collector
        let basic: any BasicOutputCollector = collector
        spout.emit(["a"])
        spout.emit(value: "b", stream: "s", messageId: 1)
        bolt.emit(["c"], stream: "t")
        bolt.emit(value: "d", stream: "default", anchor: nil)
        basic.emit(["e"])
        basic.emit(value: "f", stream: "u")
        spout.emit(["g", 1])
        #expect(collector.emitted.map(\.values) == [["a"], ["b"], ["c"], ["d"], ["e"], ["f"], ["g", 1]])
        #expect(collector.emitted.map(\.stream) == ["default", "s", "t", "default", "default", "u", "default"])
    }

    @Test func aOneValueArrayEmitReachesTheOneValueRequirement() {
        let collector = Recording()
        let basic: any BasicOutputCollector = collector
        for word in ["the", "cow"] { basic.emit([.string(word)]) }
        basic.emit([])
        basic.emit(["pair", 2])
        #expect(collector.single == ["the", "cow"])
        #expect(collector.arrays == [[], ["pair", 2]])
    }
}
