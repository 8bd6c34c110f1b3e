public import Gale

/// One stage of a pipeline checkpointed through Kafka: a topology that reads its input topic
/// with a ``KafkaSpout``, runs the bolts you wire, and writes what its last bolt emits to its
/// output topic with a ``KafkaBolt``.
///
/// Between two stages the stream rests in a Kafka topic (the checkpoint): each stage commits
/// its input offsets only when its output is confirmed, so a crashed stage resumes from its
/// committed offsets while the stages before it keep running, and nothing is lost
/// (at-least-once: a record replayed after a crash may be written twice).
///
/// ```swift
/// let parse = try KafkaStage(name: "parse", brokers: brokers, input: "lines", output: "parsed").topology { builder, input in
///     builder.setBolt("parse", parallelism: 2) { ParseBolt() }.shuffleGrouping(input)
///     return "parse"    // the bolt whose ["key", "value"] tuples go to the output topic
/// }
/// ```
public struct KafkaStage: Sendable {
    /// The topology's name; the input consumer group is `<name>` unless ``groupID`` is set.
    public var name: String
    /// Settings of the input spout (brokers, topic, group, retries, mapper...).
    public var input: KafkaSpoutConfig
    /// Settings of the output bolt (brokers, topic, chunking, mapper...).
    public var output: KafkaBoltConfig
    /// Tasks of the input spout (at most the input topic's partition count do work).
    public var spoutParallelism = 1
    /// Tasks of the output bolt.
    public var outputParallelism = 1
    /// Settings of the stage's topology.
    public var config = TopologyConfig()

    /// A stage named `name` reading `input` and writing `output` on `brokers`
    /// (`host:port[,host:port...]`); its consumer group is `name`. Both topics are created with
    /// `partitions` partitions when missing (set ``KafkaSpoutConfig/createTopicPartitions`` and
    /// ``KafkaBoltConfig/createTopicPartitions`` to `nil` to require them).
    public init(name: String, brokers: String, input: String, output: String, partitions: Int32 = 3) {
        self.name = name
        self.input = KafkaSpoutConfig(brokers: brokers, topic: input, groupID: name)
        self.input.createTopicPartitions = partitions
        self.output = KafkaBoltConfig(brokers: brokers, topic: output)
        self.output.createTopicPartitions = partitions
    }

    /// The stage's topology: the spout `"<name>-in"`, the bolts `wire` adds (it gets the builder
    /// and the spout's id, and returns the id of the component whose default stream goes to the
    /// output), and the bolt `"<name>-out"`.
    /// - Throws: ``TopologyError`` from ``TopologyBuilder/build()``.
    public func topology(_ wire: (TopologyBuilder, _ input: String) throws -> String) throws -> Topology {
        let builder = TopologyBuilder(name: name)
        builder.config = config
        let input = self.input
        let output = self.output
        let spoutId = "\(name)-in"
        builder.setSpout(spoutId, parallelism: spoutParallelism) { KafkaSpout(input) }
        let last = try wire(builder, spoutId)
        builder.setBolt("\(name)-out", parallelism: outputParallelism) { KafkaBolt(output) }.shuffleGrouping(last)
        return try builder.build()
    }
}
