public import Gale

/// What one batch (txid) took of one partition: the offsets `start..<end`, and the
/// ``RepeatFilter`` before and after its records.
///
/// `end` is the last record's offset + 1 (`start` when the batch took nothing of the partition).
/// The records of the range are the offsets in it that the log still holds and a read-committed
/// consumer sees: a replay reads the same range and skips the same gaps.
public struct KafkaPartitionBatch: Hashable, Sendable {
    /// The first offset of the range.
    public var start: Int64
    /// The offset after the range: where the next batch starts.
    public var end: Int64
    /// The repeat filter at the start of the batch (empty unless repeats are skipped).
    public var filterBefore: RepeatFilter
    /// The repeat filter after the batch's records: the next batch's ``filterBefore``.
    public var filterAfter: RepeatFilter

    /// A range with its filters.
    public init(
        start: Int64,
        end: Int64,
        filterBefore: RepeatFilter = RepeatFilter(),
        filterAfter: RepeatFilter = RepeatFilter()
    ) {
        self.start = start
        self.end = end
        self.filterBefore = filterBefore
        self.filterAfter = filterAfter
    }

    /// Whether the range is empty.
    public var isEmpty: Bool { end <= start }

    /// The range as a map value: `start`, `end`, and `dedup` / `dedupAfter` when not empty.
    public var value: GaleValue {
        var map: [String: GaleValue] = ["start": .int(start), "end": .int(end)]
        if !filterBefore.isEmpty { map["dedup"] = filterBefore.value }
        if !filterAfter.isEmpty { map["dedupAfter"] = filterAfter.value }
        return .map(map)
    }

    /// Decodes ``value``.
    ///
    /// - Throws: ``KafkaTridentError/corruptMetadata(_:)`` naming what does not decode.
    public init(value: GaleValue) throws(KafkaTridentError) {
        guard let map = value.mapValue, let start = map["start"]?.intValue, let end = map["end"]?.intValue,
            start >= 0, end >= start
        else {
            throw .corruptMetadata("partition range: not a map with start <= end")
        }
        self.start = start
        self.end = end
        filterBefore =
            try map["dedup"].map { v throws(KafkaTridentError) in try RepeatFilter(value: v) } ?? RepeatFilter()
        filterAfter =
            try map["dedupAfter"].map { v throws(KafkaTridentError) in try RepeatFilter(value: v) } ?? RepeatFilter()
    }
}
