import GaleKafka

/// Sorts the records a consumer returns into one emitter task's share of a batch, as a pure
/// state machine (``KafkaTridentEmitter`` does the I/O): per partition, the offsets the batch
/// takes, whether each record is kept, repeated (``RepeatFilter``) or outside the batch, and the
/// resulting ranges.
///
/// A new batch has a start per partition (or none yet: the first record sets it) and no bound;
/// a replayed batch also has a bound per partition, its stored end, and is complete once every
/// bounded partition reached it.
struct KafkaBatchAssembler {
    /// What becomes of an offered record.
    enum Verdict: Equatable {
        /// Part of the batch: emit it.
        case accept
        /// Part of the batch's range, but a repeat of a record already accepted: do not emit it.
        case repeated
        /// Not part of the batch (another partition, before its start, at or past its bound).
        case outside
    }

    struct Cursor: Equatable {
        /// The batch's first offset; `nil` until the first record when the start is not known.
        var start: Int64?
        /// A replay's end: records at or past it are outside.
        var bound: Int64?
        /// The repeat filter at the start.
        var filterBefore: RepeatFilter
        /// The repeat filter after the records offered so far.
        var filter: RepeatFilter
        /// The last offset taken + 1.
        var end: Int64?
        /// The last offset seen + 1, past the bound too.
        var reached: Int64?
    }

    private(set) var cursors: [Int32: Cursor] = [:]
    /// Whether records carrying ``SinkRecordPosition`` headers go through the repeat filter.
    let skipRepeats: Bool

    /// An assembler starting each partition in `starts` at its offset (`nil`: at the first record
    /// offered) with its filter; partitions in `bounds` end there (a replay).
    init(starts: [Int32: (start: Int64?, filter: RepeatFilter)], bounds: [Int32: Int64] = [:], skipRepeats: Bool) {
        self.skipRepeats = skipRepeats
        for (partition, start) in starts {
            cursors[partition] = Cursor(
                start: start.start,
                bound: bounds[partition],
                filterBefore: start.filter,
                filter: start.filter
            )
        }
    }

    /// Decides about the next record the consumer returned (records of a partition come in
    /// offset order).
    mutating func offer(_ record: KafkaRecord) -> Verdict {
        guard var cursor = cursors[record.partition] else { return .outside }
        if let start = cursor.start, record.offset < start { return .outside }
        defer { cursors[record.partition] = cursor }
        cursor.reached = max(cursor.reached ?? record.offset + 1, record.offset + 1)
        if let bound = cursor.bound, record.offset >= bound { return .outside }
        if cursor.start == nil { cursor.start = record.offset }
        cursor.end = record.offset + 1
        if skipRepeats, let position = SinkRecordPosition(headers: record.headers), !cursor.filter.admit(position) {
            return .repeated
        }
        return .accept
    }

    /// Whether every bounded partition reached its bound (always true for a new batch).
    var isComplete: Bool {
        cursors.values.allSatisfy { cursor in
            guard let bound = cursor.bound else { return true }
            return (cursor.start ?? bound) >= bound || (cursor.reached ?? 0) >= bound
        }
    }

    /// The first bounded partition that has not reached its bound, for error messages.
    var incomplete: (partition: Int32, cursor: Cursor)? {
        cursors.sorted { $0.key < $1.key }.first { _, cursor in
            guard let bound = cursor.bound else { return false }
            return (cursor.start ?? bound) < bound && (cursor.reached ?? 0) < bound
        }.map { (partition: $0.key, cursor: $0.value) }
    }

    /// Ends every bounded partition that has not reached its bound where it stands: a replay that
    /// takes fewer records than its earlier attempt.
    mutating func releaseIncompleteBounds() {
        while let (partition, _) = incomplete { cursors[partition]?.bound = nil }
    }

    /// The batch's range of each partition whose start is known: a replay's stored bound, else
    /// the last offset taken + 1 (the start when it took nothing).
    var ranges: [Int32: KafkaPartitionBatch] {
        var ranges: [Int32: KafkaPartitionBatch] = [:]
        for (partition, cursor) in cursors {
            guard let start = cursor.start else { continue }
            ranges[partition] = KafkaPartitionBatch(
                start: start,
                end: cursor.bound ?? cursor.end ?? start,
                filterBefore: cursor.filterBefore,
                filterAfter: cursor.filter
            )
        }
        return ranges
    }
}
