import Gale
import GaleKafka
import Testing

@testable import GaleTrident

@Suite struct RepeatFilterTests {
    static func position(_ txid: Int64, _ index: Int64, stage: String = "t/s", part: Int64 = 0) -> SinkRecordPosition {
        SinkRecordPosition(stage: stage, part: part, txid: txid, index: index)
    }

    /// Feeds `positions` through a fresh filter; returns which were kept.
    static func admitted(_ positions: [SinkRecordPosition], filter: inout RepeatFilter) -> [SinkRecordPosition] {
        var kept: [SinkRecordPosition] = []
        for position in positions where filter.admit(position) { kept.append(position) }
        return kept
    }

    @Test func aReplayAfterAPartialFirstAttemptKeepsOnlyTheRecordsNotSeenBefore() {
        var filter = RepeatFilter()
        // Txid 7: the first attempt wrote indices 0...3 here, then failed; the replay writes 0...9.
        let firstAttempt = (0...3).map { Self.position(7, $0) }
        let replay = (0...9).map { Self.position(7, $0) }
        #expect(Self.admitted(firstAttempt, filter: &filter) == firstAttempt)
        #expect(Self.admitted(replay, filter: &filter) == Array(replay[4...]))
        // Then the next batch.
        let next = (0...2).map { Self.position(8, $0) }
        #expect(Self.admitted(next, filter: &filter) == next)
    }

    @Test func aReplayOfACompleteWriteIsDroppedWhole() {
        var filter = RepeatFilter()
        let batch = (0..<5).map { Self.position(3, $0) }
        #expect(Self.admitted(batch, filter: &filter) == batch)
        #expect(Self.admitted(batch, filter: &filter).isEmpty)
        #expect(Self.admitted(batch, filter: &filter).isEmpty)
    }

    @Test func aPartitionSeesOnlySomeIndicesOfABatch() {
        // Records of one task spread over partitions: this one gets indices 1, 4, 6.
        var filter = RepeatFilter()
        let first = [Self.position(2, 1), Self.position(2, 4)]
        let replay = [Self.position(2, 1), Self.position(2, 4), Self.position(2, 6)]
        #expect(Self.admitted(first, filter: &filter) == first)
        #expect(Self.admitted(replay, filter: &filter) == [Self.position(2, 6)])
    }

    @Test func interleavedStagesAndPartsAreJudgedApart() {
        var filter = RepeatFilter()
        let positions = [
            Self.position(5, 3, stage: "a/sink", part: 0),
            Self.position(5, 0, stage: "a/sink", part: 1),  // another part of the stage: its own indices
            Self.position(1, 0, stage: "b/sink", part: 0),  // another stage: its own txids
            Self.position(5, 2, stage: "a/sink", part: 0),
            Self.position(5, 1, stage: "a/sink", part: 1),
            Self.position(1, 0, stage: "b/sink", part: 0),
            Self.position(2, 0, stage: "b/sink", part: 0),
            Self.position(5, 4, stage: "a/sink", part: 0),
        ]
        let verdicts = positions.map { filter.admit($0) }
        #expect(verdicts == [true, true, true, false, true, false, true, true])
        #expect(filter.last.count == 3)
    }

    @Test func aHigherTxidIsNewWhateverItsIndex() {
        var filter = RepeatFilter()
        let positions = [
            Self.position(4, 100), Self.position(5, 0),
            Self.position(4, 101),  // an older batch after a newer one: a repeat
            Self.position(5, 0), Self.position(6, 0),
        ]
        let verdicts = positions.map { filter.admit($0) }
        #expect(verdicts == [true, true, false, false, true])
        #expect(filter.last[RepeatFilter.Source(stage: "t/s", part: 0)] == RepeatFilter.Mark(txid: 6, index: 0))
    }

    @Test func theFilterRoundTripsThroughItsValue() throws {
        var filter = RepeatFilter()
        _ = filter.admit(Self.position(9, 4, stage: "x/y", part: 2))
        _ = filter.admit(Self.position(1, 0, stage: "a/b", part: 0))
        let decoded = try RepeatFilter(value: filter.value)
        #expect(decoded == filter)
        #expect(try RepeatFilter(value: RepeatFilter().value).isEmpty)
        #expect(throws: KafkaTridentError.self) { try RepeatFilter(value: .list([.list([.string("a")])])) }
        #expect(throws: KafkaTridentError.self) { try RepeatFilter(value: .int(3)) }
    }

    @Test func positionsRoundTripThroughHeadersAndOtherRecordsHaveNone() {
        let position = SinkRecordPosition(stage: "topology/sink", part: 1, txid: 42, index: 7)
        let headers = [KafkaHeader(name: "other", value: [1, 2])] + position.headers
        #expect(SinkRecordPosition(headers: headers) == position)
        #expect(position.headers.map(\.name) == ["gale-stage", "gale-txid", "gale-part", "gale-index"])
        #expect(SinkRecordPosition(headers: []) == nil)
        #expect(SinkRecordPosition(headers: Array(position.headers.dropLast())) == nil)
        var broken = position.headers
        broken[1].value = Array("x".utf8)
        #expect(SinkRecordPosition(headers: broken) == nil)
    }
}
