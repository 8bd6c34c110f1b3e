package import Gale

extension StateKind {
    /// The entry one key holds after batch `txid`, given what it held before (Trident's
    /// `TransactionalMap` and `OpaqueMap` rules).
    ///
    /// - Parameters:
    ///   - stored: The key's entry before the batch, or `nil` when it has none.
    ///   - txid: The batch's transaction id.
    ///   - update: Computes the new value from the value the batch starts from (`nil` for none).
    ///     A transactional replay does not call it.
    /// - Returns: The new entry; equal to `stored` when the batch had already been applied to it.
    /// - Throws: What `update` throws.
    package func transition(
        from stored: StoredValue?,
        txid: Int64,
        update: (GaleValue?) throws -> GaleValue
    ) rethrows -> StoredValue {
        switch self {
        case .transactional:
            // Applied already (a replay), or a replay of a txid older than what the key saw last:
            // the coordinator never commits an older txid after a newer one, so keep what is stored.
            if let stored, stored.txid >= txid { return stored }
            return StoredValue(value: try update(stored?.value), previous: nil, txid: txid)
        case .opaque:
            if let stored, stored.txid > txid { return stored }
            if let stored, stored.txid == txid {
                return StoredValue(value: try update(stored.previous), previous: stored.previous, txid: txid)
            }
            return StoredValue(value: try update(stored?.value), previous: stored?.value, txid: txid)
        case .nonTransactional:
            return StoredValue(value: try update(stored?.value), previous: nil, txid: txid)
        }
    }
}
