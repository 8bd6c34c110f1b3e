public import Gale

/// A keyed state updated once per batch, exactly once per key even when a batch is replayed.
///
/// `MapState` applies Storm Trident's `TransactionalMap`, `OpaqueMap` or `NonTransactionalMap`
/// rules (see ``StateKind``) over a ``BackingMap``: each batch is one ``BackingMap/multiGet(_:)``
/// and one atomic ``BackingMap/commit(_:txid:)``, so a crash leaves a batch either applied or not.
///
/// - Important: `MapState` is not thread-safe. One task owns it and calls it only from its
///   executor's serial queue. Its methods block while the backing map does I/O.
public final class MapState {
    /// The replay rule this state applies.
    public let kind: StateKind
    /// The storage of this state's partition.
    public let backing: any BackingMap

    /// A state applying `kind`'s rules over `backing`.
    ///
    /// - Parameters:
    ///   - kind: How a replayed batch is made to count once; it must be the same every time the
    ///     stored entries are used.
    ///   - backing: The partition's storage, usually from a ``StateFactory``.
    /// Stored values this task read or wrote, so that a batch reads only keys it has not seen
    /// (Storm Trident's `CachedMap`): the task owning a partition is its only writer. Cleared
    /// when it would hold more than ``cacheLimit`` keys. `nil` values record keys known absent.
    private var cache: [StateKey: StoredValue?] = [:]
    /// The most keys ``applyBatch(txid:updates:)`` remembers between batches (0: none).
    public let cacheLimit: Int

    public init(kind: StateKind, backing: any BackingMap, cacheLimit: Int = 100_000) {
        self.kind = kind
        self.backing = backing
        self.cacheLimit = max(0, cacheLimit)
    }

    /// The current values of `keys`, in order; `nil` where a key has none.
    ///
    /// - Throws: What the backing map throws.
    public func get(_ keys: [StateKey]) throws(StateError) -> [GaleValue?] {
        try backing.multiGet(keys).map { $0?.value }
    }

    /// Applies one batch: reads every key once, computes the new values, and commits them and
    /// `txid` in one atomic write.
    ///
    /// Per key, following ``kind``:
    /// - ``StateKind/transactional``: a key already written by `txid` keeps its value and its update
    ///   is not called; otherwise the update gets the current value.
    /// - ``StateKind/opaque``: a key already written by `txid` is computed again from the value it
    ///   held before `txid`; otherwise the update gets the current value, which is kept as the
    ///   previous one.
    /// - ``StateKind/nonTransactional``: the update always gets the current value.
    ///
    /// An empty `updates` still commits, recording `txid` as the last committed txid.
    ///
    /// - Parameters:
    ///   - txid: The batch's transaction id; batches are applied in increasing txid order, and a
    ///     replay repeats the txid.
    ///   - updates: For each key the batch touches, a function from the value the batch starts from
    ///     (`nil` for none) to the new value.
    /// - Returns: Each key's value after the batch.
    /// - Throws: ``StateError/updateFailed(key:txid:underlying:)`` when an update throws, and any
    ///   ``StateError`` of the backing map. Nothing is written when this throws.
    public func applyBatch(
        txid: Int64,
        updates: [StateKey: (GaleValue?) throws -> GaleValue]
    ) throws -> [StateKey: GaleValue] {
        let pairs = Array(updates)
        var results: [StateKey: GaleValue] = [:]
        results.reserveCapacity(pairs.count)
        try apply(txid: txid, keys: pairs.map(\.key)) { index, current in
            try pairs[index].value(current)
        } result: {
            index,
            value in
            results[pairs[index].key] = value
        }
        return results
    }

    /// ``applyBatch(txid:updates:)`` without a closure per key or a dictionary of results: the
    /// new value of `keys[i]` is `update(i, current)`; `result(i, value)` is told each key's
    /// value after the batch.
    package func apply(
        txid: Int64,
        keys: [StateKey],
        update: (Int, GaleValue?) throws -> GaleValue,
        result: (Int, GaleValue) -> Void = { _, _ in }
    ) throws {
        var stored: [StoredValue?] = []
        stored.reserveCapacity(keys.count)
        // Where each key hit the cache, to store its new value there without hashing it again.
        var cached: [Dictionary<StateKey, StoredValue?>.Index?] = []
        cached.reserveCapacity(keys.count)
        var misses: [StateKey] = []
        var missIndices: [Int] = []
        for (index, key) in keys.enumerated() {
            let hit = cache.index(forKey: key)
            cached.append(hit)
            if let hit {
                stored.append(cache.values[hit])
            } else {
                stored.append(nil)
                misses.append(key)
                missIndices.append(index)
            }
        }
        if !misses.isEmpty {
            let found = try backing.multiGet(misses)
            guard found.count == misses.count else {
                throw StateError.storage("the backing map returned \(found.count) entries for \(misses.count) keys")
            }
            for (index, value) in zip(missIndices, found) { stored[index] = value }
        }
        var entries: [(key: StateKey, value: StoredValue)] = []
        entries.reserveCapacity(keys.count)
        var finals: [StoredValue] = []
        finals.reserveCapacity(keys.count)
        for index in keys.indices {
            let current = stored[index]
            let next: StoredValue
            do {
                next = try kind.transition(from: current, txid: txid) { try update(index, $0) }
            } catch {
                throw StateError.updateFailed(key: keys[index], txid: txid, underlying: error)
            }
            result(index, next.value)
            finals.append(next)
            if next != current {
                entries.append((key: keys[index], value: next))
            }
        }
        try backing.commit(entries, txid: txid)
        if cacheLimit > 0 {
            if cache.count + misses.count > cacheLimit {
                cache.removeAll(keepingCapacity: true)
                for (key, value) in zip(keys, finals) { cache[key] = value }
            } else {
                // Hits first: inserting the misses may move every entry.
                for (index, hit) in cached.enumerated() {
                    if let hit { cache.values[hit] = finals[index] }
                }
                for index in missIndices { cache[keys[index]] = finals[index] }
            }
        }
    }

    /// The txid of the last batch committed to this state's partition, or `nil` before the first.
    ///
    /// - Throws: What the backing map throws.
    public var lastCommittedTxid: Int64? {
        get throws(StateError) { try backing.lastCommittedTxid() }
    }
}

/// `MapState` belongs to one task's serial queue.
@available(*, unavailable)
extension MapState: Sendable {}
