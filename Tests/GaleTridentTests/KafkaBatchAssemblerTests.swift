import Gale
import GaleKafka
import Testing

@testable import GaleTrident

@Suite struct KafkaBatchAssemblerTests {
    static func record(_ partition: Int32, _ offset: Int64, _ position: SinkRecordPosition? = nil) -> KafkaRecord {
        KafkaRecord(
            topic: "t",
            partition: partition,
            offset: offset,
            key: nil,
            value: [1],
            headers: position?.headers ?? []
        )
    }

    @Test func aNewBatchTakesFromItsStartAndEndsAfterTheLastRecord() {
        var assembler = KafkaBatchAssembler(
            starts: [0: (start: 10, filter: RepeatFilter()), 1: (start: 4, filter: RepeatFilter())],
            skipRepeats: true
        )
        #expect(assembler.offer(Self.record(0, 9)) == .outside, "before the start: stale")
        #expect(assembler.offer(Self.record(0, 10)) == .accept)
        #expect(assembler.offer(Self.record(0, 13)) == .accept, "gaps are skipped")
        #expect(assembler.offer(Self.record(5, 0)) == .outside, "not this task's partition")
        #expect(assembler.isComplete)
        #expect(assembler.ranges[0] == KafkaPartitionBatch(start: 10, end: 14))
        #expect(assembler.ranges[1] == KafkaPartitionBatch(start: 4, end: 4), "nothing taken: empty range")
    }

    @Test func aPartitionWithoutAKnownStartStartsAtItsFirstRecord() {
        var assembler = KafkaBatchAssembler(starts: [3: (start: nil, filter: RepeatFilter())], skipRepeats: true)
        #expect(assembler.ranges.isEmpty, "no record: the partition stays unknown")
        #expect(assembler.offer(Self.record(3, 57)) == .accept)
        #expect(assembler.offer(Self.record(3, 58)) == .accept)
        #expect(assembler.ranges[3] == KafkaPartitionBatch(start: 57, end: 59))
    }

    @Test func aReplayTakesExactlyItsRangeAndCompletesAtItsEnd() {
        var assembler = KafkaBatchAssembler(
            starts: [0: (start: 5, filter: RepeatFilter()), 1: (start: 2, filter: RepeatFilter())],
            bounds: [0: 8, 1: 2],
            skipRepeats: true
        )
        #expect(!assembler.isComplete)
        #expect(assembler.incomplete?.partition == 0)
        #expect(assembler.offer(Self.record(0, 5)) == .accept)
        #expect(assembler.offer(Self.record(0, 6)) == .accept)
        #expect(!assembler.isComplete)
        // Offset 7 was a transaction marker: the next record is past the end.
        #expect(assembler.offer(Self.record(0, 9)) == .outside)
        #expect(assembler.isComplete)
        #expect(assembler.ranges[0] == KafkaPartitionBatch(start: 5, end: 8))
        #expect(assembler.ranges[1] == KafkaPartitionBatch(start: 2, end: 2))
    }

    @Test func repeatsAreInTheRangeButNotEmittedAndTheFiltersAreKept() {
        let position = { (txid: Int64, index: Int64) in
            SinkRecordPosition(stage: "up/sink", part: 0, txid: txid, index: index)
        }
        var before = RepeatFilter()
        _ = before.admit(position(4, 1))
        var assembler = KafkaBatchAssembler(starts: [0: (start: 0, filter: before)], skipRepeats: true)
        #expect(assembler.offer(Self.record(0, 0, position(4, 0))) == .repeated)
        #expect(assembler.offer(Self.record(0, 1, position(4, 1))) == .repeated)
        #expect(assembler.offer(Self.record(0, 2, position(4, 2))) == .accept)
        #expect(assembler.offer(Self.record(0, 3)) == .accept, "records without headers always pass")
        let range = assembler.ranges[0]
        #expect(range?.end == 4)
        #expect(range?.filterBefore == before)
        #expect(range?.filterAfter.last[RepeatFilter.Source(stage: "up/sink", part: 0)]?.index == 2)

        // Replayed from its stored start filter, the batch decides the same.
        var replay = KafkaBatchAssembler(
            starts: [0: (start: 0, filter: before)],
            bounds: [0: 4],
            skipRepeats: true
        )
        let verdicts = [
            Self.record(0, 0, position(4, 0)), Self.record(0, 1, position(4, 1)), Self.record(0, 2, position(4, 2)),
            Self.record(0, 3),
        ].map { replay.offer($0) }
        #expect(verdicts == [.repeated, .repeated, .accept, .accept])
        #expect(replay.ranges[0] == range)
    }

    @Test func withoutSkipRepeatsEveryRecordPasses() {
        var assembler = KafkaBatchAssembler(starts: [0: (start: 0, filter: RepeatFilter())], skipRepeats: false)
        let position = SinkRecordPosition(stage: "s", part: 0, txid: 1, index: 0)
        #expect(assembler.offer(Self.record(0, 0, position)) == .accept)
        #expect(assembler.offer(Self.record(0, 1, position)) == .accept)
        #expect(assembler.ranges[0]?.filterAfter.isEmpty == true)
    }
}
