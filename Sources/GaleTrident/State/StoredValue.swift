public import Gale

/// What a ``BackingMap`` stores for one ``StateKey``: the value, the value before the batch that
/// last wrote it, and that batch's transaction id.
///
/// A ``StateKind/transactional`` state keeps ``previous`` `nil`; an ``StateKind/opaque`` state keeps
/// the value from before batch ``txid`` there, so that a replay of that batch, which may carry
/// different tuples, is computed again from it.
public struct StoredValue: Sendable, Hashable {
    /// The current value.
    public var value: GaleValue
    /// The value before batch ``txid`` was applied (opaque states only); `nil` when there was none.
    public var previous: GaleValue?
    /// The transaction id of the batch that last wrote this entry.
    public var txid: Int64

    /// A stored entry from its parts.
    ///
    /// - Parameters:
    ///   - value: The current value.
    ///   - previous: The value before batch `txid`, for opaque states.
    ///   - txid: The batch that wrote the entry.
    public init(value: GaleValue, previous: GaleValue? = nil, txid: Int64) {
        self.value = value
        self.previous = previous
        self.txid = txid
    }
}
