import Gale
import GaleKafka
import Testing

@testable import GaleTrident

@Suite struct KafkaBatchMetadataTests {
    static func filter(_ entries: [(String, Int64, Int64, Int64)]) -> RepeatFilter {
        var filter = RepeatFilter()
        for (stage, part, txid, index) in entries {
            _ = filter.admit(SinkRecordPosition(stage: stage, part: part, txid: txid, index: index))
        }
        return filter
    }

    static let sample = KafkaBatchMetadata(
        topic: "input",
        groupID: "group",
        partitions: [
            0: KafkaPartitionBatch(start: 10, end: 25),
            2: KafkaPartitionBatch(
                start: 7,
                end: 7,
                filterBefore: filter([("t/s", 0, 3, 4)]),
                filterAfter: filter([("t/s", 0, 4, 1), ("t/s", 1, 4, 0)])
            ),
        ]
    )

    @Test func metadataRoundTripsThroughItsValueAndCanonicalBytes() throws {
        let value = Self.sample.value
        #expect(try KafkaBatchMetadata(value: value) == Self.sample)
        let bytes = value.canonicalBytes
        #expect(try KafkaBatchMetadata(value: try GaleValue(canonicalBytes: bytes)) == Self.sample)
        #expect(try KafkaBatchMetadata(value: value).value.canonicalBytes == bytes, "the encoding is canonical")
        #expect(try KafkaBatchMetadata.decodeIfKafka(value) == Self.sample)
    }

    @Test func emptyFiltersAreLeftOutOfTheValue() {
        let range = KafkaPartitionBatch(start: 1, end: 3)
        #expect(range.value == .map(["start": .int(1), "end": .int(3)]))
    }

    @Test func otherSpoutsMetadataIsNotKafkas() throws {
        #expect(try KafkaBatchMetadata.decodeIfKafka(.int(3)) == nil)
        #expect(try KafkaBatchMetadata.decodeIfKafka(.map(["index": .int(3)])) == nil)
    }

    @Test func aReplayWhoseFirstOffsetsTheLogNoLongerHoldsIsNamed() {
        let stored = KafkaBatchMetadata(
            topic: "input",
            groupID: "group",
            partitions: [
                0: KafkaPartitionBatch(start: 10, end: 25),
                1: KafkaPartitionBatch(start: 40, end: 60),
                2: KafkaPartitionBatch(start: 7, end: 7),
            ]
        )
        func deleted(_ earliest: [Int32: Int64]) -> KafkaTridentError? {
            KafkaTridentEmitter.deletedRange(of: stored, earliest: earliest, partitions: [2, 1, 0], txid: 9)
        }
        #expect(deleted([0: 10, 1: 0, 2: 0]) == nil, "every range starts within the log")
        #expect(deleted([:]) == nil, "earliest offsets unknown: the replay polls")
        #expect(deleted([2: 100]) == nil, "an empty range needs no record")
        #expect(
            deleted([0: 11, 1: 50])
                == .replayRecordsDeleted(
                    topic: "input",
                    partition: 0,
                    start: 10,
                    end: 25,
                    earliest: 11,
                    txid: 9
                ),
            "the lowest partition first"
        )
        let message = deleted([1: 61])?.description ?? ""
        #expect(message.contains("[input][1] offsets 40..<60 are no longer in the log"))
        #expect(message.contains("starts at offset 61"))
        #expect(message.contains("opaque"))
    }

    @Test(arguments: [
        GaleValue.map(["topic": "t", "group": "g"]),
        .map(["topic": "t", "group": "g", "partitions": .map(["x": .map(["start": 0, "end": 1])])]),
        .map(["topic": "t", "group": "g", "partitions": .map(["0": .map(["start": 5, "end": 1])])]),
        .map(["topic": "t", "group": "g", "partitions": .map(["0": .map(["start": 0, "end": 1, "dedup": 3])])]),
    ])
    func corruptMetadataIsRefusedWithAnError(value: GaleValue) {
        #expect(throws: KafkaTridentError.self) { try KafkaBatchMetadata(value: value) }
    }
}
