import Foundation
import Testing

@testable import Gale

@Suite struct TopologyDescriptionTests {
    static func threeComponentTopology() throws -> Topology {
        let builder = TopologyBuilder(name: "described")
        builder.setSpout("sentences", parallelism: 2, tasks: 4) {
            DeclaringSpout([DeclaredStream(["sentence", "lang"])])
        }
        .maxSpoutPending(250)
        builder.setBolt("split", parallelism: 3) {
            DeclaringBolt([DeclaredStream(["word"]), DeclaredStream("single", ["word"], direct: true)])
        }
        .shuffleGrouping("sentences")
        .tickFrequency(seconds: 0.5)
        builder.setBolt("count", parallelism: 2, tasks: 8) { DeclaringBolt() }
            .fieldsGrouping("split", fields: ["word"])
            .directGrouping("split", stream: "single")
            .customGrouping("sentences", name: "first-task") { FirstTaskGrouping() }
        builder.config.messageTimeoutSeconds = 12
        builder.config.ackers = 2
        builder.config.maxSpoutPending = 1000
        builder.config.custom = ["min.length": "3"]
        return try builder.build()
    }

    @Test func rescalingANamedComponentChangesItsTasksAndAnUnknownOneIsNamedWithTheTopologysComponents() throws {
        let topology = try Self.threeComponentTopology()
        let description = try topology.describe().rescaled(["split": 5])
        #expect(description.components.first { $0.id == "split" }?.tasks == 5)
        #expect(try topology.rescaled(["count": 1]).components.first { $0.id == "count" }?.tasks == 1)
        let expected = TopologyError.noSuchComponent(
            "nosuch",
            topology: "described",
            components: ["sentences", "split", "count"]
        )
        #expect(throws: expected) { try topology.describe().rescaled(["nosuch": 3]) }
        #expect(throws: expected) { try topology.rescaled(["nosuch": 3]) }
        #expect(
            "\(expected)"
                == "topology [described] has no component [nosuch]; its components are [sentences], [split], [count]"
        )
    }

    @Test func describeListsComponentsStreamsGroupingsParallelismAndConfig() throws {
        let description = try Self.threeComponentTopology().describe()
        #expect(description.v == 1)
        #expect(description.name == "described")
        #expect(description.config.messageTimeoutSeconds == 12)
        #expect(description.config.ackers == 2)
        #expect(description.config.maxSpoutPending == 1000)
        #expect(description.config.custom == ["min.length": "3"])
        #expect(description.components.map(\.id) == ["sentences", "split", "count"])

        let spout = description.components[0]
        #expect(spout.kind == .spout)
        #expect(spout.parallelism == 2)
        #expect(spout.tasks == 4)
        #expect(spout.maxSpoutPending == 250)
        #expect(spout.streams == [.init(id: "default", fields: ["sentence", "lang"], direct: false)])
        #expect(spout.inputs.isEmpty)

        let split = description.components[1]
        #expect(split.kind == .bolt)
        #expect(split.parallelism == 3)
        #expect(split.tasks == 3)
        #expect(split.tickFrequencySeconds == 0.5)
        #expect(
            split.streams == [
                .init(id: "default", fields: ["word"], direct: false),
                .init(id: "single", fields: ["word"], direct: true),
            ]
        )
        #expect(
            split.inputs == [
                .init(component: "sentences", stream: "default", grouping: "shuffle", fields: nil, customName: nil)
            ]
        )

        let count = description.components[2]
        #expect(count.parallelism == 2)
        #expect(count.tasks == 8)
        #expect(count.streams.isEmpty)
        #expect(
            count.inputs == [
                .init(component: "split", stream: "default", grouping: "fields", fields: ["word"], customName: nil),
                .init(component: "split", stream: "single", grouping: "direct", fields: nil, customName: nil),
                .init(
                    component: "sentences",
                    stream: "default",
                    grouping: "custom",
                    fields: nil,
                    customName: "first-task"
                ),
            ]
        )
    }

    @Test func describeJSONRoundTripsThroughJSONDecoder() throws {
        let topology = try Self.threeComponentTopology()
        let json = topology.describeJSON()
        let decoded = try JSONDecoder().decode(TopologyDescription.self, from: Data(json.utf8))
        #expect(decoded == topology.describe())
    }

    @Test func describeNamesAWindowedBoltsWindow() throws {
        final class Spout1: Spout {
            func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["n", "ts"]) }
            func nextTuple() {}
        }
        final class Windowed: WindowedBolt {
            func execute(_ window: TupleWindow) {}
        }
        let builder = TopologyBuilder(name: "windows")
        builder.setSpout("numbers") { Spout1() }
        builder.setBolt(
            "average",
            window: .sliding(length: .duration(.seconds(10)), every: .duration(.seconds(2)))
                .eventTime(field: "ts", lag: .seconds(1))
                .lateTuples(stream: "late")
        ) { Windowed() }
        .shuffleGrouping("numbers")
        let description = try builder.build().describe()
        #expect(description.components[0].window == nil)
        #expect(
            description.components[1].window
                == "10.0 seconds every 2.0 seconds, event time from [ts], lag 1.0 seconds, late tuples on [late]"
        )
        #expect(description.components[1].streams.map(\.id) == ["late"], "the late stream is declared")
    }

    @Test func describeJSONUsesTheDocumentedKeys() throws {
        let json = try Self.threeComponentTopology().describeJSON()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["v"] as? Int == 1)
        #expect(object["name"] as? String == "described")
        let config = try #require(object["config"] as? [String: Any])
        #expect(config["ackers"] as? Int == 2)
        let components = try #require(object["components"] as? [[String: Any]])
        #expect(components.count == 3)
        let count = components[2]
        #expect(count["id"] as? String == "count")
        #expect(count["kind"] as? String == "bolt")
        #expect(count["parallelism"] as? Int == 2)
        #expect(count["tasks"] as? Int == 8)
        let inputs = try #require(count["inputs"] as? [[String: Any]])
        #expect(inputs.first?["grouping"] as? String == "fields")
        #expect(inputs.first?["fields"] as? [String] == ["word"])
        let spoutStreams = try #require(components[0]["streams"] as? [[String: Any]])
        #expect(spoutStreams.first?["fields"] as? [String] == ["sentence", "lang"])
        #expect(spoutStreams.first?["direct"] as? Bool == false)
    }

    @Test(arguments: [
        (Grouping.shuffle, "shuffle"), (.fields(["a"]), "fields"), (.all, "all"), (.global, "global"),
        (.none, "none"), (.direct, "direct"), (.localOrShuffle, "local_or_shuffle"),
        (.partialKey(["a"]), "partial_key"),
        (.custom(name: "mine", factory: { FirstTaskGrouping() }), "custom"),
    ])
    func groupingTypeNamesAreStable(_ grouping: Grouping, _ name: String) {
        #expect(grouping.typeName == name)
    }
}
