// kafka-stages: a three-stage pipeline checkpointed through Kafka.
//
//   input topic --parse--> <input>.parsed --enrich--> <input>.enriched --aggregate--> output topic
//
// Each input record `ID,TEXT` (one line of text) yields one output record keyed by ID:
// `ID,<lower-cased text>,words=<words in it>,total=<words seen by that aggregate task so far>`.
// Each stage is its own topology (consumer group `<pipeline>-<stage>`), so a crashed stage
// resumes from its input topic's committed offsets while the others keep running.
//
//   kafka-stages local --brokers HOST:PORT --input TOPIC --output TOPIC --seconds N
//   gale submit kafka-stages --topology enrich --config kafka.brokers=HOST:PORT \
//       --config stages.input=TOPIC --config stages.output=TOPIC     (once per stage)
//
// Settings (`--config key=value`, or the flags above): kafka.brokers, stages.input,
// stages.output, stages.pipeline (consumer group prefix, default "kafka-stages").
import Foundation
import Gale
import GaleKafka
import GaleMain

/// `ID,TEXT` -> key ID, value `ID,<lower-cased, trimmed text>`.
final class Parse: BasicBolt {
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["key", "value"]) }

    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        guard
            let line = tuple[field: "value"].flatMap(KafkaBoltConfig.bytes).map({ String(decoding: $0, as: UTF8.self) }
            ),
            let comma = line.firstIndex(of: ",")
        else { throw StageError("not an ID,TEXT record") }
        let id = String(line[..<comma]).trimmingCharacters(in: .whitespaces)
        let text = line[line.index(after: comma)...].lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
        collector.emit([.string(id), .string("\(id),\(text)")])
    }
}

/// Appends the number of words.
final class Enrich: BasicBolt {
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["key", "value"]) }

    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        guard let key = tuple[field: "key"].flatMap(KafkaBoltConfig.bytes).map({ String(decoding: $0, as: UTF8.self) }),
            let value = tuple[field: "value"].flatMap(KafkaBoltConfig.bytes).map({ String(decoding: $0, as: UTF8.self) }
            )
        else { throw StageError("record without key or value") }
        let text = value.drop { $0 != "," }.dropFirst()
        let words = text.split(whereSeparator: \.isWhitespace).count
        collector.emit([.string(key), .string("\(value),words=\(words)")])
    }
}

/// Appends the running total of words this task has seen.
final class Aggregate: BasicBolt {
    private var total = 0

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["key", "value"]) }

    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        guard let key = tuple[field: "key"].flatMap(KafkaBoltConfig.bytes).map({ String(decoding: $0, as: UTF8.self) }),
            let value = tuple[field: "value"].flatMap(KafkaBoltConfig.bytes).map({ String(decoding: $0, as: UTF8.self) }
            )
        else { throw StageError("record without key or value") }
        let words = value.split(separator: "=").last.flatMap { Int($0) } ?? 0
        total += words
        collector.emit([.string(key), .string("\(value),total=\(total)")])
    }
}

struct StageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func makeStages(_ settings: [String: String]) throws -> [Topology] {
    let brokers = settings["kafka.brokers"] ?? "127.0.0.1:9092"
    let input = settings["stages.input"] ?? "kafka-stages-input"
    let output = settings["stages.output"] ?? "kafka-stages-output"
    let pipeline = settings["stages.pipeline"] ?? "kafka-stages"
    let topics = [input, "\(input).parsed", "\(input).enriched", output]
    let bolts: [(name: String, make: @Sendable () -> any BasicBolt)] = [
        ("parse", { Parse() }), ("enrich", { Enrich() }), ("aggregate", { Aggregate() }),
    ]
    var topologies: [Topology] = []
    for (index, bolt) in bolts.enumerated() {
        var stage = KafkaStage(name: bolt.name, brokers: brokers, input: topics[index], output: topics[index + 1])
        stage.input.groupID = "\(pipeline)-\(bolt.name)"
        stage.input.client.groupID = stage.input.groupID
        stage.spoutParallelism = 2
        stage.config.workers = 1
        topologies.append(
            try stage.topology { builder, input in
                builder.setBolt(bolt.name, parallelism: 2, bolt.make).shuffleGrouping(input)
                return bolt.name
            }
        )
    }
    return topologies
}

/// `--brokers X`, `--input T`, `--output T` become `--config kafka.brokers=X` and so on.
func translatedArguments() -> [String] {
    let flags = ["--brokers": "kafka.brokers", "--input": "stages.input", "--output": "stages.output"]
    var result: [String] = []
    var arguments = CommandLine.arguments.dropFirst()[...]
    while let argument = arguments.popFirst() {
        if let key = flags[argument], let value = arguments.popFirst() {
            result += ["--config", "\(key)=\(value)"]
        } else {
            result.append(argument)
        }
    }
    return result
}

let settingsHelp = """
    Settings: the flags of `local`, or --config key=value (as `gale submit` takes):
      --brokers HOST:PORT  kafka.brokers    default 127.0.0.1:9092
      --input TOPIC        stages.input     ID,TEXT lines; kafka-stages-input
      --output TOPIC       stages.output    default kafka-stages-output
                           stages.pipeline  group prefix; default kafka-stages
    Between stages: TOPIC.parsed, TOPIC.enriched. Missing topics are created.
    """

await TopologyCommand.main(arguments: translatedArguments(), settingsHelp: settingsHelp) { settings in
    try makeStages(settings)
}
