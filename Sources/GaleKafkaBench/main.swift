// gale-kafka-bench: Kafka -> Gale -> Kafka throughput. Copies the records of an input topic to an
// output topic through KafkaSpout -> KafkaBolt (acking on, offsets committed) in this process and
// prints `gale_copy records=<n> seconds=<s> records_per_sec=<r> mb_per_sec=<m>` once the spouts
// have acked every record. Used by scripts/kafka-bench, which measures raw kcat beside it.
//
//   gale-kafka-bench --brokers HOST:PORT --input TOPIC --output TOPIC --records N --size BYTES [--progress]
//   gale-kafka-bench --brokers HOST:PORT --create TOPIC [--partitions N]
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

var spout = KafkaSpoutConfig(brokers: brokers, topic: input, groupID: "bench-\(UUID().uuidString.prefix(8))")
spout.firstPollOffset = .earliest
spout.maxPollRecords = 2_048
spout.maxUncommittedOffsets = 200_000
spout.outputFields = ["key", "value"]
spout.mapper = { record in [record.key.map { .bytes($0) } ?? .null, record.value.map { .bytes($0) } ?? .null] }
var sink = KafkaBoltConfig(brokers: brokers, topic: output)
// The output topic exists (scripts/kafka-bench creates it before timing).
sink.client.linger = .milliseconds(5)
let source = spout
let target = sink
let builder = TopologyBuilder(name: "kafka-copy")
builder.setSpout("input", parallelism: max(1, min(partitions, 2))) { KafkaSpout(source) }
builder.setBolt("output", parallelism: 2) { KafkaBolt(target) }.shuffleGrouping("input")
builder.config.maxSpoutPending = 100_000
builder.config.messageTimeoutSeconds = 60

var logger = Logger(label: "gale.kafka-bench")
logger.logLevel = .warning
let cluster = LocalCluster(logger: logger)
let clock = ContinuousClock()
let start = clock.now
let running: RunningTopology
do {
    running = try cluster.submit(try builder.build())
} catch {
    fail("cannot start the topology: \(error)")
}
let progress = CommandLine.arguments.contains("--progress")
var nextReport = clock.now
let done = await running.waitUntil(timeout: .seconds(600), interval: .milliseconds(5)) {
    let acked = running.stats().spoutAcked
    if progress && clock.now >= nextReport {
        nextReport = clock.now + .milliseconds(250)
        let pending = running.stats().component("input")?.pending ?? 0
        var parts: [String] = []
        for component in running.stats().components {
            parts.append(
                "\(component.id): capacity \(component.capacity) queued \(component.queued)/\(component.maxQueueLength)"
            )
        }
        FileHandle.standardError.write(
            Data("\(clock.now - start) acked=\(acked) pending=\(pending) \(parts.joined(separator: ", "))\n".utf8)
        )
    }
    return acked >= UInt64(records)
}
let elapsed = clock.now - start
let seconds = elapsed.inSeconds
await cluster.shutdown(drainTimeout: .seconds(5))
guard done else { fail("only \(running.stats().spoutAcked) of \(records) records acked in 600 s") }
let rate = Double(records) / seconds
print(
    String(
        format: "gale_copy records=%d seconds=%.2f records_per_sec=%.0f mb_per_sec=%.1f",
        records,
        seconds,
        rate,
        rate * Double(size) / 1e6
    )
)
