/// The storage under a ``MapState``: entries by key, and the transaction id of the last batch
/// committed, for one partition of one state.
///
/// A backing map holds the keys of one partition, which one task owns. ``commit(_:txid:)`` is the
/// only write, and it is atomic: after a crash a batch is either wholly there, with its txid
/// recorded by ``lastCommittedTxid()``, or not at all.
///
/// ## Threading
///
/// Implementations are safe to call from any thread. Their owner, a ``MapState``, calls them one
/// at a time from its task's serial queue. The methods block while they do I/O (a durable map
/// waits for SQLite, and for other processes holding the database's write lock), so call them from
/// an executor's queue or a dedicated thread, never from the Swift concurrency cooperative pool.
public protocol BackingMap: AnyObject, Sendable {
    /// The stored entries for `keys`, in order; `nil` where a key has none.
    ///
    /// - Parameter keys: The keys to read; repeats are allowed.
    /// - Returns: One element per element of `keys`.
    /// - Throws: ``StateError/storage(_:)`` when the store cannot be read, ``StateError/corrupt(_:)``
    ///   when stored bytes do not decode.
    func multiGet(_ keys: [StateKey]) throws(StateError) -> [StoredValue?]

    /// Writes `entries` and records `txid` as the last committed transaction id, atomically.
    ///
    /// - Parameters:
    ///   - entries: The entries to write; an entry replaces what its key held. When a key appears
    ///     twice, the later entry wins. May be empty, which records `txid` only.
    ///   - txid: The batch being committed.
    /// - Throws: ``StateError/storage(_:)``; then nothing was written and the previous txid stays.
    func commit(_ entries: [(key: StateKey, value: StoredValue)], txid: Int64) throws(StateError)

    /// The txid recorded by the last ``commit(_:txid:)``, or `nil` when nothing was committed.
    ///
    /// - Throws: ``StateError/storage(_:)`` when the store cannot be read.
    func lastCommittedTxid() throws(StateError) -> Int64?
}
