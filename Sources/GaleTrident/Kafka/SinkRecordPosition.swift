public import GaleKafka

/// Where a record written by a ``KafkaTridentSink`` in ``KafkaTridentSinkConfig/Mode/idempotent``
/// mode comes from: which sink task wrote it, for which batch, at which position. Carried in the
/// record's headers, so that a reader can tell a repeated record (a replayed batch written again)
/// from a new one (``RepeatFilter``).
///
/// | header       | value (UTF-8)                                    |
/// |--------------|--------------------------------------------------|
/// | `gale-stage` | `<topology>/<sink>`                              |
/// | `gale-txid`  | the batch's txid, in decimal                     |
/// | `gale-part`  | the sink task's index, in decimal                |
/// | `gale-index` | the record's position in the task's batch, in decimal |
public struct SinkRecordPosition: Hashable, Sendable, CustomStringConvertible {
    /// The writing stage: `<topology>/<sink>`.
    public var stage: String
    /// The index of the sink task that wrote the record.
    public var part: Int64
    /// The batch the record belongs to.
    public var txid: Int64
    /// The record's position in its task's share of the batch (0-based, in write order).
    public var index: Int64

    /// The name of the header holding ``stage``.
    public static let stageHeader = "gale-stage"
    /// The name of the header holding ``txid``.
    public static let txidHeader = "gale-txid"
    /// The name of the header holding ``part``.
    public static let partHeader = "gale-part"
    /// The name of the header holding ``index``.
    public static let indexHeader = "gale-index"

    /// A position from its parts.
    public init(stage: String, part: Int64, txid: Int64, index: Int64) {
        self.stage = stage
        self.part = part
        self.txid = txid
        self.index = index
    }

    /// The position carried by `headers`, or `nil` when one of the four headers is missing or does
    /// not parse (the record was not written by a ``KafkaTridentSink``). The last header of each
    /// name counts.
    public init?(headers: [KafkaHeader]) {
        var stage: String?
        var part: Int64?
        var txid: Int64?
        var index: Int64?
        for header in headers {
            switch header.name {
            case Self.stageHeader: stage = header.value.flatMap { String(validating: $0, as: UTF8.self) }
            case Self.partHeader: part = Self.number(header.value)
            case Self.txidHeader: txid = Self.number(header.value)
            case Self.indexHeader: index = Self.number(header.value)
            default: break
            }
        }
        guard let stage, let part, let txid, let index else { return nil }
        self.init(stage: stage, part: part, txid: txid, index: index)
    }

    /// The four headers that carry this position.
    public var headers: [KafkaHeader] {
        [
            KafkaHeader(name: Self.stageHeader, value: Array(stage.utf8)),
            KafkaHeader(name: Self.txidHeader, value: Array(String(txid).utf8)),
            KafkaHeader(name: Self.partHeader, value: Array(String(part).utf8)),
            KafkaHeader(name: Self.indexHeader, value: Array(String(index).utf8)),
        ]
    }

    public var description: String { "[\(stage)] part \(part) txid \(txid) index \(index)" }

    private static func number(_ bytes: [UInt8]?) -> Int64? {
        guard let bytes, let text = String(validating: bytes, as: UTF8.self) else { return nil }
        return Int64(text)
    }
}
