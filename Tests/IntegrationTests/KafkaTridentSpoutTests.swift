import Foundation
import Gale
import GaleKafka
import GaleTrident
import Testing

/// One ``KafkaTridentSpout`` emitter driven by hand against the real broker: what a new batch, a
/// replay and the first batch read.
@Suite(.serialized, .timeLimit(.minutes(2))) struct KafkaTridentSpoutTests {
    static var brokers: String { get throws { try TestServices.resolve().kafka } }

    /// One batch as an emitter put it out.
    struct Batch: Sendable {
        /// The emitted values (default fields: partition, offset, key, value).
        var values: [[GaleValue]]
        var value: GaleValue
        var metadata: KafkaBatchMetadata

        /// The (partition, offset) of each emitted record.
        var positions: [[Int64]] { values.map { [$0[0].intValue ?? -1, $0[1].intValue ?? -1] } }
        /// Each partition's end.
        var ends: [Int32: Int64] { metadata.partitions.mapValues(\.end) }
    }

    /// An emitter handed between the test and the threads that block on it, one at a time.
    final class EmitterBox: @unchecked Sendable {
        let emitter: any BatchEmitter
        init(_ emitter: any BatchEmitter) { self.emitter = emitter }
    }

    static func emit(
        _ emitter: any BatchEmitter,
        _ txid: Int64,
        stored: Batch? = nil,
        previous: Batch? = nil,
        previousValue: GaleValue? = nil
    ) throws -> Batch {
        var values: [[GaleValue]] = []
        let value = try emitter.emitBatch(txid: txid, stored: stored?.value, previous: previousValue ?? previous?.value)
        {
            values.append($0)
        }
        return Batch(values: values, value: value, metadata: try KafkaBatchMetadata(value: value))
    }

    static func config(
        topic: String,
        group: String = "g-\(UUID().uuidString.prefix(8))"
    ) throws
        -> KafkaTridentSpoutConfig
    {
        var config = KafkaTridentSpoutConfig(brokers: try brokers, topic: topic, groupID: group)
        config.maxRecordsPerBatch = 400
        config.firstOffset = .earliest
        return config
    }

    static func emitter(_ config: KafkaTridentSpoutConfig, task: Int = 0, tasks: Int = 1) throws -> any BatchEmitter {
        try KafkaTridentSpout(config, parallelism: tasks).makeEmitter(
            context: EmitterContext(topologyName: "t", streamName: "s", taskIndex: task, tasks: tasks)
        )
    }

    /// New batches from txid 1 on, each after the one before it, until every partition is read
    /// to its end in `ends` (empty batches are fine) or `limit` batches were emitted.
    static func emitUntil(_ ends: [Int32: Int64], _ emitter: any BatchEmitter, limit: Int64) throws -> [Batch] {
        var batches: [Batch] = []
        var txid: Int64 = 1
        while batches.last?.ends != ends, txid < limit {
            batches.append(try emit(emitter, txid, previous: batches.last))
            txid += 1
        }
        return batches
    }

    static func lines(_ count: Int, from first: Int = 0) -> [String] {
        (first..<(first + count)).map { "\($0)|\($0),text \($0)" }
    }

    /// On a partition whose reported log start is past records it holds (the test broker, after
    /// its first two batches were written at once), the first batch starts at offset 0 and a
    /// transactional replay of it reads its records again rather than calling them deleted.
    @Test func aPartitionWhoseReportedStartIsPastItsRecordsIsReadAndReplayedFromOffsetZero() async throws {
        let misreported = try await KafkaSpoutEdgeTests.topicWithMisreportedStart()
        let (topic, partition, start, counts) = try #require(
            misreported,
            "no partition reported a start past 0 in 400 topics: the broker may not have the race"
        )
        let ends = counts.mapValues { Int64($0) }
        var settings = try Self.config(topic: topic)
        settings.replayTimeout = .seconds(10)
        let config = settings
        let (batches, replay) = try await onBlockingThread { () throws -> ([Batch], Batch) in
            let emitter = try Self.emitter(config)
            defer { emitter.close() }
            let batches = try Self.emitUntil(ends, emitter, limit: 50)
            // The first batch that read the partition, replayed (txid n is batches[n - 1]).
            let index = try #require(batches.firstIndex { $0.positions.contains { $0[0] == Int64(partition) } })
            return (batches, try Self.emit(emitter, Int64(index + 1), stored: batches[index]))
        }
        #expect(start > 0)
        let read = batches.flatMap(\.positions).filter { $0[0] == Int64(partition) }.map { $0[1] }
        #expect(read.sorted() == Array(0..<Int64(counts[partition] ?? 0)), "offset 0 on, below the reported start too")
        let replayed = replay.positions.filter { $0[0] == Int64(partition) }.map { $0[1] }
        let original = batches.first { $0.positions.contains { $0[0] == Int64(partition) } }
        #expect(replayed == original?.positions.filter { $0[0] == Int64(partition) }.map { $0[1] })
        #expect(replayed.first == 0, "the replay reads from offset 0 again")
    }

    @Test func transactionalReplaysEmitTheSameRecordsInTheSameOrderAndBatchesFollowOn() async throws {
        let topic = try KafkaPipelineTests.topic("trident-spout-txn", partitions: 3)
        let (_, ends) = try await TridentKafkaTests.produce(topic: topic, lines: Self.lines(3_000))
        let config = try Self.config(topic: topic)
        let (batches, replays) = try await onBlockingThread { () throws -> ([Batch], [Batch]) in
            let emitter = try Self.emitter(config)
            defer { emitter.close() }
            let batches = try Self.emitUntil(ends, emitter, limit: 100)
            // Replays of batches 1 and 2, then of the last one, each after the one before it.
            let replays = [
                try Self.emit(emitter, 1, stored: batches[0]),
                try Self.emit(emitter, 2, stored: batches[1], previous: batches[0]),
                try Self.emit(
                    emitter,
                    Int64(batches.count),
                    stored: batches[batches.count - 1],
                    previous: batches.dropLast().last
                ),
            ]
            return (batches, replays)
        }
        #expect(replays[0].values == batches[0].values)
        #expect(replays[0].value == batches[0].value)
        #expect(replays[1].values == batches[1].values)
        #expect(replays[1].value == batches[1].value)
        #expect(replays[2].values == batches[batches.count - 1].values)
        var seen = Set<[Int64]>()
        for (index, batch) in batches.enumerated() {
            #expect(batch.values.count <= config.maxRecordsPerBatch)
            #expect(
                batch.positions == batch.positions.sorted { $0.lexicographicallyPrecedes($1) },
                "by partition, then offset"
            )
            for position in batch.positions { #expect(seen.insert(position).inserted, "\(position) emitted once") }
            for (partition, range) in batch.metadata.partitions {
                let start = index == 0 ? 0 : batches[index - 1].metadata.partitions[partition]?.end ?? 0
                #expect(range.start == start, "batch \(index + 1) partition \(partition) starts where the last ended")
            }
        }
        #expect(seen.count == 3_000)
        #expect(batches.count > 7, "\(batches.count) batches of at most 400 records")
    }

    @Test func opaqueReplaysReadTheirRangesAgainUnlessThePreviousBatchMoved() async throws {
        let topic = try KafkaPipelineTests.topic("trident-spout-opaque", partitions: 2)
        _ = try await TridentKafkaTests.produce(topic: topic, lines: Self.lines(2_000))
        var config = try Self.config(topic: topic)
        config.kind = .opaque
        let (first, second, replay, moved, shortened) = try await onBlockingThread {
            [config] () throws -> (Batch, Batch, Batch, Batch, KafkaBatchMetadata) in
            let emitter = try Self.emitter(config)
            defer { emitter.close() }
            let first = try Self.emit(emitter, 1)
            let second = try Self.emit(emitter, 2, previous: first)
            let replay = try Self.emit(emitter, 2, stored: second, previous: first)
            // Batch 1 replayed with fewer records: batch 2 starts over from its new end.
            var shortened = first.metadata
            for (partition, range) in shortened.partitions {
                shortened.partitions[partition]?.end = range.start + (range.end - range.start) / 2
            }
            let moved = try Self.emit(emitter, 2, stored: second, previous: first, previousValue: shortened.value)
            return (first, second, replay, moved, shortened)
        }
        #expect(!first.values.isEmpty && !second.values.isEmpty)
        #expect(replay.values == second.values, "an unmoved replay reads its earlier ranges again")
        #expect(replay.value == second.value)
        for (partition, range) in shortened.partitions {
            #expect(moved.metadata.partitions[partition]?.start == range.end, "partition \(partition) starts over")
        }
        // What it takes of a partition (a new read takes what is there) begins at the new start.
        #expect(!moved.values.isEmpty)
        for (partition, range) in shortened.partitions {
            if let first = moved.positions.first(where: { $0[0] == Int64(partition) }) {
                #expect(first[1] == range.end, "partition \(partition)")
            }
        }
        #expect(moved.values.count <= config.maxRecordsPerBatch)
    }

    @Test func theFirstBatchStartsWhereTheStrategySaysAndCommitsMoveTheGroup() async throws {
        let topic = try KafkaPipelineTests.topic("trident-spout-first", partitions: 2)
        _ = try await TridentKafkaTests.produce(topic: topic, lines: Self.lines(1_000))
        let group = "g-first-\(UUID().uuidString.prefix(8))"
        var groupConfig = KafkaConfig(bootstrapServers: [try Self.brokers])
        groupConfig.groupID = group
        let groupConsumer = try KafkaConsumer(config: groupConfig)
        defer { groupConsumer.close() }
        let partitions = [Int32(0), 1].map { KafkaTopicPartition(topic: topic, partition: $0) }
        try await onBlockingThread {
            try groupConsumer.commit(
                partitions.map { KafkaTopicPartition(topic: topic, partition: $0.partition, offset: KafkaOffset(100)) }
            )
        }

        // committed-or-earliest: from the group's offsets.
        var committedConfig = try Self.config(topic: topic, group: group)
        committedConfig.firstOffset = .committedOrEarliest
        let fromCommitted = try await onBlockingThread {
            [committedConfig] () throws -> (Batch, [KafkaTopicPartition]) in
            let emitter = try Self.emitter(committedConfig)
            defer { emitter.close() }
            let batch = try Self.emit(emitter, 1)
            emitter.committed(txid: 1, metadata: batch.value)
            return (batch, try groupConsumer.committed(partitions))
        }
        #expect(fromCommitted.0.metadata.partitions.mapValues(\.start) == [0: 100, 1: 100])
        #expect(fromCommitted.0.positions.first?[1] == 100)
        let committedEnds = fromCommitted.0.ends
        #expect(
            fromCommitted.1.map(\.offset.rawValue) == [committedEnds[0], committedEnds[1]],
            "committed moves the group"
        )

        // latest: nothing of what was there; only records produced afterwards. (The test broker
        // reports the base offset of a partition's last record batch as its end, so each partition
        // ends with a sentinel of its own batch, which the emitter may read.)
        let producer = try KafkaProducer(config: KafkaConfig(bootstrapServers: [try Self.brokers]))
        for partition in partitions {
            _ = try await producer.send(topic: topic, partition: partition.partition, value: Array("sentinel,".utf8))
        }
        var latestConfig = try Self.config(topic: topic)
        latestConfig.firstOffset = .latest
        let box = try await onBlockingThread { [latestConfig] in EmitterBox(try Self.emitter(latestConfig)) }
        var batches: [Batch] = []
        for txid in Int64(1)...2 {
            let previous = batches.last
            batches.append(try await onBlockingThread { try Self.emit(box.emitter, txid, previous: previous) })
        }
        let nothingBefore = batches.flatMap(\.values).allSatisfy { $0[3].bytesValue == Array("sentinel,".utf8) }
        #expect(nothingBefore, "latest: nothing of what was there before")
        let (_, ends) = try await TridentKafkaTests.produce(topic: topic, lines: Self.lines(50, from: 1_000))
        let deadline = ContinuousClock.now + .seconds(20)
        let sentinel: [UInt8] = Array("sentinel,".utf8)
        while batches.flatMap(\.values).filter({ $0[3].bytesValue != sentinel }).count < 50,
            ContinuousClock.now < deadline
        {
            let previous = batches.last
            let txid = Int64(batches.count + 1)
            batches.append(try await onBlockingThread { try Self.emit(box.emitter, txid, previous: previous) })
        }
        try await onBlockingThread { box.emitter.close() }
        let ids = batches.flatMap(\.values).compactMap { $0[3].bytesValue.map { String(decoding: $0, as: UTF8.self) } }
        let newIDs = ids.map { String($0.prefix { $0 != "," }) }.filter { $0 != "sentinel" }
        #expect(newIDs.count == 50)
        #expect(Set(newIDs) == Set((1_000..<1_050).map { "\($0)" }))
        #expect(batches.last?.ends == ends)
    }
}
