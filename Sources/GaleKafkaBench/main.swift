// gale-kafka-bench: Kafka -> Gale -> Kafka throughput. Used by scripts/kafka-bench, which measures
// raw kcat beside it.
//
// Copy: copies the records of an input topic to an output topic through KafkaSpout -> KafkaBolt
// (acking on, offsets committed) in this process and prints
// `gale_copy records=<n> seconds=<s> records_per_sec=<r> mb_per_sec=<m>` once the spouts have acked
// every record.
//
//   gale-kafka-bench --brokers HOST:PORT --input TOPIC --output TOPIC --records N --size BYTES
//       [--spouts N] [--progress]
//
// Pipeline: three stages (or --stages N), each a topology of its own written with the public API
// (`KafkaStage`: KafkaSpout -> a user bolt -> KafkaBolt), INPUT -> OUTPUT.1 -> OUTPUT.2 -> OUTPUT,
// in this process; prints `gale_pipeline ...` (same fields) once the last stage acked every record.
// The intermediate topics must exist (the script creates them).
//
//   gale-kafka-bench --brokers HOST:PORT --pipeline --input TOPIC --output TOPIC --records N --size BYTES
//       [--stages N] [--spouts N]
//
// Tools:
//   gale-kafka-bench --brokers HOST:PORT --create TOPIC [--partitions N]
//   gale-kafka-bench --brokers HOST:PORT --wait-end TOPIC --records N
// `--wait-end` prints `watching` once connected, waits until a one-partition topic holds offset
// N-1 (so N records from an empty topic) and prints `end_reached_ns=<Unix time in ns>`; it reads the record at N-1 rather than
// trusting the high watermark, which the test broker reports as the last batch's base offset.
// (--progress prints the acked and pending counts every 250 ms on stderr.)
import Foundation
import Gale
import GaleKafka
import GaleRuntime
import Logging

// Components log warnings and errors only: the spout's info lines would mix with the numbers.
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
}

func option(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let index = args.firstIndex(of: name), index + 1 < args.count else { return nil }
    return args[index + 1]
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(2)
}

// `--create TOPIC [--partitions N]`: create a topic and exit (the script creates the copy
// targets before timing, so that neither kcat nor Gale pays topic auto-creation).
if let brokers = option("--brokers"), let topic = option("--create") {
    do {
        let partitions = option("--partitions").flatMap(Int32.init) ?? 1
        try KafkaAdmin(config: KafkaConfig(bootstrapServers: [brokers])).createTopic(topic, partitions: partitions)
        exit(0)
    } catch {
        fail("cannot create \(topic): \(error)")
    }
}

// `--wait-end TOPIC --records N`: wait until the record at offset N-1 exists, print when.
if let brokers = option("--brokers"), let topic = option("--wait-end"),
    let records = option("--records").flatMap(Int64.init), records > 0
{
    do {
        try waitForEnd(brokers: brokers, topic: topic, records: records)
        exit(0)
    } catch {
        fail("cannot watch \(topic): \(error)")
    }
}

/// Polls a consumer assigned at offset `records - 1` of partition 0 until that record comes (a
/// fetch beyond the end of the log returns nothing on the test broker; Apache Kafka answers out of
/// range, and the consumer is assigned there again). The high watermark ends it too where the
/// broker reports the real end (Apache Kafka).
func waitForEnd(brokers: String, topic: String, records: Int64) throws {
    var config = KafkaConfig(bootstrapServers: [brokers])
    config.properties["fetch.wait.max.ms"] = "5"
    config.properties["fetch.error.backoff.ms"] = "5"
    config.properties["auto.offset.reset"] = "error"
    config.properties["enable.partition.eof"] = "false"
    let consumer = try KafkaConsumer(config: config)
    defer { consumer.close() }
    guard try consumer.topicMetadata(topic).partitions.count == 1 else {
        fail("--wait-end needs a topic of one partition")
    }
    let target = KafkaTopicPartition(topic: topic, partition: 0, offset: KafkaOffset(records - 1))
    try consumer.assign([target])
    _ = try consumer.queryWatermarks(topic: topic, partition: 0)
    // The script starts the copy's clock once the watcher is connected, so that the watcher's own
    // start-up (slow on a loaded machine) never ends the clock late.
    FileHandle.standardOutput.write(Data("watching\n".utf8))
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(600)
    var nextWatermark = clock.now
    while clock.now < deadline {
        do {
            let got = try consumer.poll(maxRecords: 16, timeout: .milliseconds(5))
            if got.contains(where: { $0.offset >= records - 1 }) { break }
        } catch {
            try consumer.assign([target])
        }
        if clock.now >= nextWatermark {
            nextWatermark = clock.now + .milliseconds(50)
            if try consumer.queryWatermarks(topic: topic, partition: 0).high >= records { break }
        }
    }
    guard clock.now < deadline else { fail("\(topic) did not reach \(records) records in 600 s") }
    print("end_reached_ns=\(UInt64(Date().timeIntervalSince1970 * 1e9))")
}

guard let brokers = option("--brokers"), let input = option("--input"), let output = option("--output"),
    let records = option("--records").flatMap(Int.init), records > 0,
    let size = option("--size").flatMap(Int.init), size > 0
else {
    fail("usage: gale-kafka-bench --brokers HOST:PORT --input TOPIC --output TOPIC --records N --size BYTES")
}

let partitions: Int
do {
    let consumer = try KafkaConsumer(config: KafkaConfig(bootstrapServers: [brokers]))
    partitions = try consumer.topicMetadata(input).partitions.count
    consumer.close()
} catch {
    fail("cannot read the metadata of \(input): \(error)")
}
let spoutTasks = option("--spouts").flatMap(Int.init) ?? max(1, min(partitions, 2))

/// The spout settings of both modes: from the first record, `key` and `value` fields.
func spoutConfig(topic: String, group: String) -> KafkaSpoutConfig {
    var spout = KafkaSpoutConfig(brokers: brokers, topic: topic, groupID: group)
    spout.firstPollOffset = .earliest
    spout.maxPollRecords = 2_048
    spout.maxUncommittedOffsets = 200_000
    spout.outputFields = ["key", "value"]
    spout.mapper = { record in [record.key.map { .bytes($0) } ?? .null, record.value.map { .bytes($0) } ?? .null] }
    return spout
}

/// A pipeline stage's work, as a user writes it: checks that the value is an `ID,TEXT` record
/// and writes it on keyed by its id.
final class CheckRecord: BasicBolt {
    struct NotARecord: Error {}

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["key", "value"]) }

    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        guard case .bytes(let value) = tuple[field: "value"], let comma = value.firstIndex(of: UInt8(ascii: ","))
        else { throw NotARecord() }
        collector.emit([.bytes(Array(value[..<comma])), .bytes(value)])
    }
}

let pipeline = CommandLine.arguments.contains("--pipeline")
let group = "bench-\(UUID().uuidString.prefix(8))"
var topologies: [Topology] = []
do {
    if pipeline {
        let stages = max(1, option("--stages").flatMap(Int.init) ?? 3)
        let topics = [input] + (1..<stages).map { "\(output).\($0)" } + [output]
        for stage in 0..<stages {
            var definition = KafkaStage(
                name: "stage\(stage + 1)",
                brokers: brokers,
                input: topics[stage],
                output: topics[stage + 1]
            )
            definition.input = spoutConfig(topic: topics[stage], group: "\(group)-\(stage + 1)")
            definition.output.createTopicPartitions = nil
            definition.output.client.linger = .milliseconds(5)
            definition.spoutParallelism = spoutTasks
            // One writer per topic: the test broker can hand a reader at the tail of a partition
            // that several producers write a batch before an earlier one is stored, and the
            // reader skips the earlier one (docs/kafka.md, "The test broker").
            definition.outputParallelism = 1
            // Below the one producer's local queue (librdkafka's 100,000 messages) for both spout
            // tasks together: more failed tuples with _QUEUE_FULL.
            definition.config.maxSpoutPending = 40_000
            definition.config.messageTimeoutSeconds = 60
            topologies.append(
                try definition.topology { builder, spout in
                    builder.setBolt("check", parallelism: 1) { CheckRecord() }.shuffleGrouping(spout)
                    return "check"
                }
            )
        }
    } else {
        let source = spoutConfig(topic: input, group: group)
        var sink = KafkaBoltConfig(brokers: brokers, topic: output)
        // The output topic exists (scripts/kafka-bench creates it before timing).
        sink.client.linger = .milliseconds(5)
        let target = sink
        let builder = TopologyBuilder(name: "kafka-copy")
        builder.setSpout("input", parallelism: spoutTasks) { KafkaSpout(source) }
        builder.setBolt("output", parallelism: 2) { KafkaBolt(target) }.shuffleGrouping("input")
        builder.config.maxSpoutPending = 100_000
        builder.config.messageTimeoutSeconds = 60
        topologies.append(try builder.build())
    }
} catch {
    fail("cannot build the topology: \(error)")
}

var logger = Logger(label: "gale.kafka-bench")
logger.logLevel = .warning
let cluster = LocalCluster(logger: logger)
let clock = ContinuousClock()
let start = clock.now
var running: [RunningTopology] = []
do {
    for topology in topologies { running.append(try cluster.submit(topology)) }
} catch {
    fail("cannot start the topology: \(error)")
}
guard let last = running.last else { fail("no topology") }
let progress = CommandLine.arguments.contains("--progress")
var nextReport = clock.now
let done = await last.waitUntil(timeout: .seconds(600), interval: .milliseconds(5)) {
    let acked = last.stats().spoutAcked
    if progress && clock.now >= nextReport {
        nextReport = clock.now + .milliseconds(250)
        var parts: [String] = []
        for topology in running {
            for component in topology.stats().components {
                parts.append(
                    "\(component.id): acked \(component.acked) pending \(component.pending) capacity \(component.capacity) queued \(component.queued)/\(component.maxQueueLength)"
                )
            }
        }
        FileHandle.standardError.write(
            Data("\(clock.now - start) acked=\(acked) \(parts.joined(separator: ", "))\n".utf8)
        )
    }
    return acked >= UInt64(records)
}
let elapsed = clock.now - start
let seconds = elapsed.inSeconds
await cluster.shutdown(drainTimeout: .seconds(5))
guard done else { fail("only \(last.stats().spoutAcked) of \(records) records acked in 600 s") }
let rate = Double(records) / seconds
print(
    (pipeline ? "gale_pipeline " : "gale_copy ")
        + String(
            format: "records=%d seconds=%.2f records_per_sec=%.0f mb_per_sec=%.1f",
            records,
            seconds,
            rate,
            rate * Double(size) / 1e6
        )
)
