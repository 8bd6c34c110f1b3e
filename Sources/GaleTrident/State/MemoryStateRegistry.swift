import Synchronization

/// The process-wide home of ``MemoryStateFactory``'s maps, so that a topology run again in the
/// same process (a restart in local mode) finds the state its previous run committed.
///
/// Safe to use from any thread.
package final class MemoryStateRegistry: Sendable {
    /// The registry every ``MemoryStateFactory`` uses.
    package static let shared = MemoryStateRegistry()

    private struct Key: Hashable {
        var registry: String
        var stateName: String
        var partition: Int
    }

    private let maps = Mutex<[Key: MemoryBackingMap]>([:])

    package init() {}

    /// The map of `(registry, stateName, partition)`, created empty on first use.
    package func map(registry: String, stateName: StateName, partition: Int) -> MemoryBackingMap {
        let key = Key(registry: registry, stateName: stateName.sanitized, partition: partition)
        return maps.withLock { maps in
            if let map = maps[key] { return map }
            let map = MemoryBackingMap()
            maps[key] = map
            return map
        }
    }

    /// Every partition's map of `stateName` in `registry`, in partition order.
    package func maps(registry: String, stateName: StateName) -> [MemoryBackingMap] {
        maps.withLock { maps in
            maps.filter { $0.key.registry == registry && $0.key.stateName == stateName.sanitized }
                .sorted { $0.key.partition < $1.key.partition }
                .map(\.value)
        }
    }
}
