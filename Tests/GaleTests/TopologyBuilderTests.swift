import Gale
import Testing

/// One topology that `build()` must reject, with the exact error and the names its message must carry.
struct InvalidTopologyCase: Sendable, CustomTestStringConvertible {
    let name: String
    let topologyName: String
    let expected: TopologyError
    let mentions: [String]
    let declare: @Sendable (TopologyBuilder) -> Void

    init(
        _ name: String,
        topologyName: String = "valid-name",
        expected: TopologyError,
        mentions: [String],
        declare: @escaping @Sendable (TopologyBuilder) -> Void
    ) {
        self.name = name
        self.topologyName = topologyName
        self.expected = expected
        self.mentions = mentions
        self.declare = declare
    }

    var testDescription: String { name }

    static let all: [InvalidTopologyCase] = [
        InvalidTopologyCase(
            "unknown component",
            expected: .unknownComponent("missing", referencedBy: "bolt"),
            mentions: ["[missing]", "[bolt]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.setBolt("bolt") { DeclaringBolt() }.shuffleGrouping("missing")
        },
        InvalidTopologyCase(
            "unknown stream",
            expected: .unknownStream(component: "spout", stream: "other", referencedBy: "bolt"),
            mentions: ["[spout]", "[other]", "[bolt]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.setBolt("bolt") { DeclaringBolt() }.shuffleGrouping("spout", stream: "other")
        },
        InvalidTopologyCase(
            "fields grouping on an undeclared field",
            expected: .unknownField(component: "spout", stream: "default", field: "colour", referencedBy: "bolt"),
            mentions: ["[spout]", "[default]", "[colour]", "[bolt]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.setBolt("bolt") { DeclaringBolt() }.fieldsGrouping("spout", fields: ["word", "colour"])
        },
        InvalidTopologyCase(
            "partial-key grouping on an undeclared field",
            expected: .unknownField(component: "spout", stream: "words", field: "size", referencedBy: "bolt"),
            mentions: ["[spout]", "[words]", "[size]", "[bolt]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout([DeclaredStream("words", ["word"])]) }
            b.setBolt("bolt") { DeclaringBolt() }.partialKeyGrouping("spout", stream: "words", fields: ["size"])
        },
        InvalidTopologyCase(
            "fields grouping on no fields",
            expected: .emptyGroupingFields(component: "spout", stream: "default", referencedBy: "bolt"),
            mentions: ["[spout]", "[default]", "[bolt]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.setBolt("bolt") { DeclaringBolt() }.fieldsGrouping("spout", fields: [])
        },
        InvalidTopologyCase(
            "duplicate component id",
            expected: .duplicateComponentId("twice"),
            mentions: ["[twice]"]
        ) { b in
            b.setSpout("twice") { DeclaringSpout() }
            b.setBolt("twice") { DeclaringBolt() }.shuffleGrouping("twice")
        },
        InvalidTopologyCase(
            "zero parallelism",
            expected: .nonPositiveParallelism(component: "bolt", value: 0),
            mentions: ["[bolt]", "0"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.setBolt("bolt", parallelism: 0, tasks: 1) { DeclaringBolt() }.shuffleGrouping("spout")
        },
        InvalidTopologyCase(
            "negative parallelism",
            expected: .nonPositiveParallelism(component: "spout", value: -2),
            mentions: ["[spout]", "-2"]
        ) { b in
            b.setSpout("spout", parallelism: -2, tasks: 1) { DeclaringSpout() }
        },
        InvalidTopologyCase(
            "zero tasks",
            expected: .nonPositiveTasks(component: "bolt", value: 0),
            mentions: ["[bolt]", "0 tasks"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.setBolt("bolt", parallelism: 2, tasks: 0) { DeclaringBolt() }.shuffleGrouping("spout")
        },
        InvalidTopologyCase(
            "direct grouping on a non-direct stream",
            expected: .directGroupingOnNonDirectStream(component: "spout", stream: "default", referencedBy: "bolt"),
            mentions: ["[spout]", "[default]", "[bolt]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.setBolt("bolt") { DeclaringBolt() }.directGrouping("spout")
        },
        InvalidTopologyCase(
            "shuffle grouping on a direct stream",
            expected: .nonDirectGroupingOnDirectStream(component: "spout", stream: "to-one", referencedBy: "bolt"),
            mentions: ["[spout]", "[to-one]", "[bolt]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout([DeclaredStream("to-one", ["n"], direct: true)]) }
            b.setBolt("bolt") { DeclaringBolt() }.shuffleGrouping("spout", stream: "to-one")
        },
        InvalidTopologyCase(
            "duplicate stream declaration",
            expected: .duplicateStream(component: "spout", stream: "words"),
            mentions: ["[spout]", "[words]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout([DeclaredStream("words", ["a"]), DeclaredStream("words", ["b"])]) }
        },
        InvalidTopologyCase(
            "duplicate field in a stream",
            expected: .duplicateField(component: "bolt", stream: "out", field: "x"),
            mentions: ["[bolt]", "[out]", "[x]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.setBolt("bolt") { DeclaringBolt([DeclaredStream("out", ["x", "y", "x"])]) }.shuffleGrouping("spout")
        },
        InvalidTopologyCase(
            "duplicate subscription",
            expected: .duplicateSubscription(component: "spout", stream: "default", referencedBy: "bolt"),
            mentions: ["[spout]", "[default]", "[bolt]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.setBolt("bolt") { DeclaringBolt() }.shuffleGrouping("spout").allGrouping("spout")
        },
        InvalidTopologyCase(
            "no components at all",
            topologyName: "empty-one",
            expected: .emptyTopology(topology: "empty-one"),
            mentions: ["[empty-one]"]
        ) { _ in },
        InvalidTopologyCase(
            "bolts without a spout",
            topologyName: "no-spouts",
            expected: .emptyTopology(topology: "no-spouts"),
            mentions: ["[no-spouts]"]
        ) { b in
            b.setBolt("a") { DeclaringBolt([DeclaredStream(["x"])]) }
            b.setBolt("b") { DeclaringBolt() }.shuffleGrouping("a")
        },
        InvalidTopologyCase(
            "reserved component id",
            expected: .invalidComponentId("__x", reason: "ids starting with '__' are reserved"),
            mentions: ["[__x]", "reserved"]
        ) { b in
            b.setSpout("__x") { DeclaringSpout() }
        },
        InvalidTopologyCase(
            "empty component id",
            expected: .invalidComponentId("", reason: "it is empty"),
            mentions: ["[]", "empty"]
        ) { b in
            b.setSpout("") { DeclaringSpout() }
        },
        InvalidTopologyCase(
            "topology name with a space",
            topologyName: "word count",
            expected: .invalidTopologyName("word count"),
            mentions: ["[word count]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
        },
        InvalidTopologyCase(
            "topology name with a slash",
            topologyName: "a/b",
            expected: .invalidTopologyName("a/b"),
            mentions: ["[a/b]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
        },
        InvalidTopologyCase(
            "empty topology name",
            topologyName: "",
            expected: .invalidTopologyName(""),
            mentions: ["[]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
        },
        InvalidTopologyCase(
            "topology name of 129 characters",
            topologyName: String(repeating: "n", count: 129),
            expected: .invalidTopologyName(String(repeating: "n", count: 129)),
            mentions: [String(repeating: "n", count: 129)]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
        },
        InvalidTopologyCase(
            "negative ackers in the config",
            expected: .invalidConfig(key: "topology.acker.executors", value: "-1", reason: "must not be negative"),
            mentions: ["[topology.acker.executors]", "[-1]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.config.ackers = -1
        },
        InvalidTopologyCase(
            "queue capacity below 64 in the config",
            expected: .invalidConfig(
                key: "topology.executor.receive.buffer.size",
                value: "63",
                reason: "must be at least 64"
            ),
            mentions: ["[topology.executor.receive.buffer.size]", "[63]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.config.executorQueueCapacity = 63
        },
        InvalidTopologyCase(
            "zero message timeout in the config",
            expected: .invalidConfig(key: "topology.message.timeout.secs", value: "0.0", reason: "must be positive"),
            mentions: ["[topology.message.timeout.secs]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.config.messageTimeoutSeconds = 0
        },
        InvalidTopologyCase(
            "non-positive max spout pending of one spout",
            expected: .invalidConfig(key: "spout.max.spout.pending", value: "0", reason: "must be positive"),
            mentions: ["[spout.max.spout.pending]", "[0]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }.maxSpoutPending(0)
        },
        InvalidTopologyCase(
            "zero tick frequency",
            expected: .invalidTickFrequency(component: "ticker", seconds: 0),
            mentions: ["[ticker]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.setBolt("ticker") { DeclaringBolt() }.shuffleGrouping("spout").tickFrequency(seconds: 0)
        },
        InvalidTopologyCase(
            "negative tick frequency",
            expected: .invalidTickFrequency(component: "ticker", seconds: -0.5),
            mentions: ["[ticker]", "-0.5"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.setBolt("ticker") { DeclaringBolt() }.tickFrequency(seconds: -0.5)
        },
        InvalidTopologyCase(
            "infinite tick frequency",
            expected: .invalidTickFrequency(component: "ticker", seconds: .infinity),
            mentions: ["[ticker]"]
        ) { b in
            b.setSpout("spout") { DeclaringSpout() }
            b.setBolt("ticker") { DeclaringBolt() }.tickFrequency(seconds: .infinity)
        },
    ]
}

@Suite struct TopologyBuilderTests {
    @Test(arguments: InvalidTopologyCase.all)
    func buildThrowsTheExactErrorForAnInvalidTopology(_ invalid: InvalidTopologyCase) {
        let builder = TopologyBuilder(name: invalid.topologyName)
        invalid.declare(builder)
        #expect(throws: invalid.expected) { try builder.build() }
    }

    @Test(arguments: InvalidTopologyCase.all)
    func errorDescriptionNamesWhatIsAtFault(_ invalid: InvalidTopologyCase) {
        let description = invalid.expected.description
        for name in invalid.mentions {
            #expect(description.contains(name), "\(description) does not mention \(name)")
        }
    }

    @Test func aBoltsDefaultTickFrequencyAppliesUnlessTheDeclarationSetsOne() throws {
        final class TickingBolt: Bolt {
            var defaultTickFrequencySeconds: Double? { 0.25 }
            func execute(_ tuple: Tuple) {}
        }
        let b = TopologyBuilder(name: "ticks")
        b.setSpout("spout") { DeclaringSpout() }
        b.setBolt("default") { TickingBolt() }.shuffleGrouping("spout")
        b.setBolt("explicit") { TickingBolt() }.shuffleGrouping("spout").tickFrequency(seconds: 2)
        b.setBolt("none") { DeclaringBolt() }.shuffleGrouping("spout")
        let topology = try b.build()
        #expect(topology.component("default")?.tickFrequencySeconds == 0.25)
        #expect(topology.component("explicit")?.tickFrequencySeconds == 2)
        #expect(topology.component("none")?.tickFrequencySeconds == nil)
    }

    @Test func nanTickFrequencyIsRejected() throws {
        let builder = TopologyBuilder(name: "ticks")
        builder.setSpout("spout") { DeclaringSpout() }
        builder.setBolt("ticker") { DeclaringBolt() }.tickFrequency(seconds: .nan)
        let error = #expect(throws: TopologyError.self) { try builder.build() }
        guard case .invalidTickFrequency(let component, let seconds) = error else {
            Issue.record("unexpected error \(String(describing: error))")
            return
        }
        #expect(component == "ticker")
        #expect(seconds.isNaN)
    }

    @Test func firstProblemInDeclarationOrderIsReported() {
        let builder = TopologyBuilder(name: "two-problems")
        builder.setSpout("spout") { DeclaringSpout() }
        builder.setBolt("first", parallelism: 0) { DeclaringBolt() }.shuffleGrouping("spout")
        builder.setBolt("second", parallelism: -1) { DeclaringBolt() }.shuffleGrouping("spout")
        #expect(throws: TopologyError.nonPositiveParallelism(component: "first", value: 0)) { try builder.build() }
    }

    @Test func validTopologyKeepsComponentsInDeclarationOrder() throws {
        let builder = TopologyBuilder(name: "word.count_1")
        builder.setSpout("sentences", parallelism: 2) { DeclaringSpout([DeclaredStream(["sentence"])]) }
        builder.setBolt("split", parallelism: 3, tasks: 6) { DeclaringBolt([DeclaredStream(["word"])]) }
            .shuffleGrouping("sentences")
        builder.setBolt("count", parallelism: 2) { DeclaringBolt() }
            .fieldsGrouping("split", fields: ["word"])
            .tickFrequency(seconds: 1)
        let topology = try builder.build()

        #expect(topology.name == "word.count_1")
        #expect(topology.components.map(\.id) == ["sentences", "split", "count"])
        #expect(topology.spouts.map(\.id) == ["sentences"])
        #expect(topology.bolts.map(\.id) == ["split", "count"])
        let split = try #require(topology.component("split"))
        #expect(split.kind == .bolt)
        #expect(split.parallelism == 3)
        #expect(split.tasks == 6)
        #expect(split.stream("default")?.fields == ["word"])
        #expect(split.inputs.map(\.component) == ["sentences"])
        let count = try #require(topology.component("count"))
        #expect(count.tasks == 2)
        #expect(count.tickFrequencySeconds == 1)
        #expect(count.inputs.first?.grouping.groupingFields == ["word"])
        #expect(topology.component("nope") == nil)
    }

    @Test func directGroupingOnADirectStreamIsValid() throws {
        let builder = TopologyBuilder(name: "direct")
        builder.setSpout("spout") { DeclaringSpout([DeclaredStream("to-one", ["n"], direct: true)]) }
        builder.setBolt("bolt") { DeclaringBolt() }.directGrouping("spout", stream: "to-one")
        let topology = try builder.build()
        #expect(topology.component("spout")?.stream("to-one")?.isDirect == true)
    }

    @Test func cyclesAreValid() throws {
        let builder = TopologyBuilder(name: "cycle")
        builder.setSpout("spout") { DeclaringSpout([DeclaredStream(["n"])]) }
        builder.setBolt("a") { DeclaringBolt([DeclaredStream(["n"])]) }
            .shuffleGrouping("spout")
            .shuffleGrouping("b", stream: "back")
        builder.setBolt("b") { DeclaringBolt([DeclaredStream("back", ["n"])]) }.shuffleGrouping("a")
        #expect(throws: Never.self) { try builder.build() }
    }

    @Test func withConfigValidatesTheNewConfiguration() throws {
        let builder = TopologyBuilder(name: "config")
        builder.setSpout("spout") { DeclaringSpout() }
        let topology = try builder.build()
        var bad = TopologyConfig()
        bad.workers = 0
        #expect(throws: TopologyError.invalidConfig(key: "topology.workers", value: "0", reason: "must be positive")) {
            try topology.with(config: bad)
        }
        var good = TopologyConfig()
        good.ackers = 3
        #expect(try topology.with(config: good).config.ackers == 3)
    }

    @Test(arguments: ["a", "word-count", "v1.2_beta", String(repeating: "x", count: 128)])
    func validTopologyNamesAreAccepted(_ name: String) {
        #expect(Topology.isValidName(name))
    }

    @Test(arguments: ["", "a b", "a/b", "é", "tab\t", String(repeating: "x", count: 129)])
    func invalidTopologyNamesAreRejected(_ name: String) {
        #expect(!Topology.isValidName(name))
    }
}
