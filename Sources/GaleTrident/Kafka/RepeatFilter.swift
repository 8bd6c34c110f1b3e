public import Gale

/// Tells the records a ``KafkaTridentSink`` wrote once from those it wrote again when a batch
/// was replayed, for one input partition (the dedup rule of ``KafkaTridentSpoutConfig/skipRepeats``).
///
/// A sink task writes its share of batch `txid` as records with indices `0, 1, 2, ...`, in
/// order, and a replayed batch is written again from index 0, before any later batch. Kafka keeps
/// the order of one producer's records in a partition, so in one partition the records of a
/// source (a ``Source``: stage and sink task) come with `(txid, index)` increasing, except where a
/// replay starts over. Hence the rule: a record is a **repeat** if its `(txid, index)` is not
/// greater, lexicographically, than the last one accepted from its source; otherwise it is
/// accepted and becomes the last one.
///
/// This drops exactly the repeats when the replayed batch carries the same records in the same
/// order (a transactional upstream spout; the sink gets records sorted by value) and the first
/// attempt left no gap in a partition (the sink's idempotent producer keeps each partition's
/// records in order and without gaps).
///
/// A pure value: the emitter keeps one per partition and stores it with each batch's metadata.
public struct RepeatFilter: Hashable, Sendable {
    /// A writer of records: one task of one sink stage.
    public struct Source: Hashable, Sendable, Comparable {
        /// The stage: `<topology>/<sink>`.
        public var stage: String
        /// The sink task's index.
        public var part: Int64

        /// A source from its parts.
        public init(stage: String, part: Int64) {
            self.stage = stage
            self.part = part
        }

        public static func < (lhs: Source, rhs: Source) -> Bool {
            (lhs.stage, lhs.part) < (rhs.stage, rhs.part)
        }
    }

    /// A record's place in its source's output: batch, then position in the batch.
    public struct Mark: Hashable, Sendable, Comparable {
        /// The batch.
        public var txid: Int64
        /// The position in the batch.
        public var index: Int64

        /// A mark from its parts.
        public init(txid: Int64, index: Int64) {
            self.txid = txid
            self.index = index
        }

        public static func < (lhs: Mark, rhs: Mark) -> Bool {
            (lhs.txid, lhs.index) < (rhs.txid, rhs.index)
        }
    }

    /// The last accepted mark of each source seen.
    public private(set) var last: [Source: Mark]

    /// A filter that has accepted nothing yet.
    public init() { last = [:] }

    /// A filter that last accepted `last`.
    public init(last: [Source: Mark]) { self.last = last }

    /// Whether the record at `position` is new; a new one becomes its source's last accepted.
    ///
    /// - Returns: `true` to keep the record, `false` for a repeat.
    public mutating func admit(_ position: SinkRecordPosition) -> Bool {
        let source = Source(stage: position.stage, part: position.part)
        let mark = Mark(txid: position.txid, index: position.index)
        if let previous = last[source], mark <= previous { return false }
        last[source] = mark
        return true
    }

    /// Whether the filter has accepted nothing.
    public var isEmpty: Bool { last.isEmpty }

    // MARK: - Encoding

    /// The filter as a value: a list of `[stage, part, txid, index]` lists, sorted by source.
    public var value: GaleValue {
        .list(
            last.sorted { $0.key < $1.key }.map { source, mark in
                .list([.string(source.stage), .int(source.part), .int(mark.txid), .int(mark.index)])
            }
        )
    }

    /// Decodes ``value``.
    ///
    /// - Throws: ``KafkaTridentError/corruptMetadata(_:)`` naming what does not decode.
    public init(value: GaleValue) throws(KafkaTridentError) {
        guard let entries = value.listValue else {
            throw .corruptMetadata("repeat filter: a \(value.typeName), not a list")
        }
        var last: [Source: Mark] = [:]
        for entry in entries {
            guard let fields = entry.listValue, fields.count == 4, let stage = fields[0].stringValue,
                let part = fields[1].intValue, let txid = fields[2].intValue, let index = fields[3].intValue
            else {
                throw .corruptMetadata("repeat filter: an entry is not [stage, part, txid, index]")
            }
            last[Source(stage: stage, part: part)] = Mark(txid: txid, index: index)
        }
        self.last = last
    }
}
