public import Gale
import Logging

/// Settings of a ``KafkaBolt``.
public struct KafkaBoltConfig: Sendable {
    /// Turns a tuple into the record to write (topic and partition are filled in when `nil`);
    /// `nil` acks the tuple without writing; a thrown error fails it.
    public typealias Mapper = @Sendable (Tuple) throws -> KafkaProducerRecord?

    /// The client settings (brokers, acks, timeouts, raw librdkafka properties).
    public var client: KafkaConfig
    /// The topic records go to, unless the mapper names another.
    public var topic: String
    /// When set, the topic is created with this many partitions if it does not exist yet.
    public var createTopicPartitions: Int32?
    /// Values larger than this are split into chunks (``ChunkEncoder``) on one partition, for a
    /// ``KafkaSpout`` to reassemble; `nil` writes every value whole.
    public var maxChunkBytes: Int?
    /// Turns tuples into records; the default writes field `key` (if declared) as the key and
    /// field `value` (or the last value) as the value: strings as UTF-8, bytes as they are.
    public var mapper: Mapper = KafkaBoltConfig.defaultMapper

    /// The mapper described at ``mapper``.
    public static let defaultMapper: Mapper = { tuple in
        let value =
            tuple.fields.index(of: "value").map { tuple[$0] } ?? (tuple.count > 0 ? tuple[tuple.count - 1] : .null)
        let key = tuple.fields.index(of: "key").map { tuple[$0] }
        return KafkaProducerRecord(topic: "", key: key.flatMap(Self.bytes), value: Self.bytes(value))
    }

    /// The bytes of a string (UTF-8) or bytes value; `nil` for anything else.
    public static func bytes(_ value: GaleValue) -> [UInt8]? {
        switch value {
        case .string(let s): Array(s.utf8)
        case .bytes(let b): b
        case .int(let i): Array(String(i).utf8)
        default: nil
        }
    }

    /// A configuration writing to `topic` on `brokers` (`host:port[,host:port...]`).
    public init(brokers: String, topic: String) {
        self.client = KafkaConfig(bootstrapServers: brokers.split(separator: ",").map(String.init))
        self.topic = topic
    }
}

/// Writes each tuple to a Kafka topic and acks it only when the broker confirms the record;
/// a failed delivery fails the tuple, so its spout replays it (at-least-once).
///
/// Delivery reports arrive on the producer's thread; they are handed back to the bolt's queue
/// and acked or failed there, on the next tuple or tick (the bolt asks for a tick every 10 ms
/// through ``defaultTickFrequencySeconds``, so a quiet stream still gets its acks).
public final class KafkaBolt: Bolt {
    private let config: KafkaBoltConfig
    private var logger = Logger(label: "gale.kafka.bolt")
    private var collector: (any OutputCollector)?
    private var producer: KafkaProducer?
    private var encoder: ChunkEncoder?
    /// Tuples waiting for their records' delivery reports, by token: token `firstToken + i` at
    /// index `i` (`nil` once settled). Reports come back roughly in order, so the settled front
    /// is dropped as it forms and the ring stays as long as what is in flight.
    private var waiting: [Waiting?] = []
    private var waitingHead = 0
    private var firstToken: UInt64 = 0
    private var nextToken: UInt64 = 0

    private struct Waiting {
        var tuple: Tuple
        /// Records (chunks) still unconfirmed.
        var remaining: Int
        var failed: Bool
    }

    /// A bolt writing as `config` says.
    public init(_ config: KafkaBoltConfig) {
        self.config = config
    }

    /// Ticks every 10 ms settle delivery reports on a quiet stream.
    public var defaultTickFrequencySeconds: Double? { 0.01 }

    public func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
        logger[metadataKey: "component"] = "\(context.componentId)"
        logger[metadataKey: "task"] = "\(context.taskId)"
        if let partitions = config.createTopicPartitions {
            try KafkaAdmin.ensureTopic(config.topic, partitions: partitions, config: config.client, logger: logger)
        }
        producer = try KafkaProducer(config: config.client, logger: logger)
        encoder = config.maxChunkBytes.map { ChunkEncoder(maxChunkBytes: $0) }
    }

    public func execute(_ tuple: Tuple) {
        settle()
        guard !tuple.isTick, let producer, let collector else { return }
        var record: KafkaProducerRecord
        do {
            guard let mapped = try config.mapper(tuple) else {
                collector.ack(tuple)
                return
            }
            record = mapped
        } catch {
            collector.reportError(error)
            collector.fail(tuple)
            return
        }
        if record.topic.isEmpty { record.topic = config.topic }
        let token = nextToken
        nextToken &+= 1
        // A value over maxChunkBytes goes out as chunks: bodies are slices of the value, each copied
        // into a record only when it is produced (librdkafka copies it again), never all at once.
        var chunks: [Chunk] = []
        if let encoder, let value = record.value {
            chunks = encoder.encode(value)
            if chunks.count > 1 {
                // Chunks of one payload go to one partition: the key's, or partition 0 without a key.
                if record.partition == nil && record.key == nil { record.partition = 0 }
                record.value = nil
            } else {
                chunks = []
            }
        }
        let count = max(1, chunks.count)
        waiting.append(Waiting(tuple: tuple, remaining: count, failed: false))
        for index in 0..<count {
            var part = record
            if !chunks.isEmpty {
                part.value = Array(chunks[index].body)
                if let header = chunks[index].headerBytes {
                    part.headers.append(KafkaHeader(name: ChunkHeader.recordHeaderKey, value: header))
                }
            }
            do {
                try producer.produce(part, token: token)
            } catch {
                logger.warning("cannot write to \(part.topic): \(error)")
                // The records not queued will never report: settle them as failed now.
                for _ in index..<count { settle(token: token, error: error) }
                break
            }
        }
    }

    /// Acks or fails the tuples whose records the broker settled.
    private func settle() {
        guard let producer else { return }
        for report in producer.takeDeliveryReports() { settle(token: report.token, error: report.error) }
        // Drop the settled front; compact once it is most of the storage.
        while waitingHead < waiting.count, waiting[waitingHead] == nil {
            waitingHead += 1
            firstToken += 1
        }
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        } else if waitingHead >= 1024, waitingHead * 2 >= waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }

    /// Counts one record of the tuple waiting under `token` as delivered (or failed); acks or
    /// fails the tuple when its last record is settled.
    private func settle(token: UInt64, error: KafkaError?) {
        guard token >= firstToken, token - firstToken < UInt64(waiting.count - waitingHead) else { return }
        let index = waitingHead + Int(token - firstToken)
        guard var entry = waiting[index] else { return }
        entry.remaining -= 1
        if let error {
            if !entry.failed { logger.warning("delivery failed: \(error)") }
            entry.failed = true
        }
        if entry.remaining > 0 {
            waiting[index] = entry
            return
        }
        waiting[index] = nil
        if entry.failed { collector?.fail(entry.tuple) } else { collector?.ack(entry.tuple) }
    }

    public func cleanup() {
        try? producer?.flush(timeout: .seconds(10))
        settle()
        try? producer?.close(timeout: .seconds(5))
        producer = nil
    }
}
