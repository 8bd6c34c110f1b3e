import Synchronization

/// A ``BackingMap`` in process memory, for tests and local mode.
///
/// Entries live as long as the map. ``MemoryStateFactory`` keeps its maps in a process-wide
/// registry, so that a topology run again in the same process finds its state.
///
/// Every method is safe to call from any thread: a mutex guards the entries.
public final class MemoryBackingMap: BackingMap {
    private struct Contents {
        var entries: [StateKey: StoredValue] = [:]
        var lastTxid: Int64?
    }

    private let contents = Mutex(Contents())

    /// An empty map.
    public init() {}

    public func multiGet(_ keys: [StateKey]) throws(StateError) -> [StoredValue?] {
        contents.withLock { contents in keys.map { contents.entries[$0] } }
    }

    public func commit(_ entries: [(key: StateKey, value: StoredValue)], txid: Int64) throws(StateError) {
        contents.withLock { contents in
            for entry in entries {
                contents.entries[entry.key] = entry.value
            }
            contents.lastTxid = txid
        }
    }

    public func lastCommittedTxid() throws(StateError) -> Int64? {
        contents.withLock { $0.lastTxid }
    }

    /// A copy of every entry.
    package func snapshot() -> [StateKey: StoredValue] {
        contents.withLock { $0.entries }
    }
}
