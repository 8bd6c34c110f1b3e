import Synchronization

/// A ``TransactionalStore`` in this process's memory, kept in a registry by name so that a
/// topology run again in the same process (a restart in local mode) finds its progress.
public final class MemoryTransactionalStore: TransactionalStore {
    private let values = Mutex<[String: [UInt8]]>([:])

    private static let registry = Mutex<[String: MemoryTransactionalStore]>([:])

    /// The store registered under `name`, created empty on first use.
    public static func named(_ name: String) -> MemoryTransactionalStore {
        registry.withLock { stores in
            if let store = stores[name] { return store }
            let store = MemoryTransactionalStore()
            stores[name] = store
            return store
        }
    }

    /// Forgets the store registered under `name` (tests start afresh).
    public static func reset(_ name: String) {
        _ = registry.withLock { $0.removeValue(forKey: name) }
    }

    /// An empty store of its own, not registered.
    public init() {}

    public func get(_ path: String) -> [UInt8]? {
        values.withLock { $0[Self.normalized(path)] }
    }

    public func put(_ path: String, _ value: [UInt8]) {
        values.withLock { $0[Self.normalized(path)] = value }
    }

    public func delete(_ path: String) {
        let path = Self.normalized(path)
        values.withLock { values in
            // The root ("") holds everything.
            for key in values.keys where path.isEmpty || key == path || key.hasPrefix(path + "/") {
                values[key] = nil
            }
        }
    }

    public func children(_ path: String) -> [String] {
        let prefix = Self.normalized(path).isEmpty ? "" : Self.normalized(path) + "/"
        return values.withLock { values in
            var names = Set<String>()
            for key in values.keys where key.hasPrefix(prefix) {
                let rest = key.dropFirst(prefix.count)
                if let name = rest.split(separator: "/").first { names.insert(String(name)) }
            }
            return names.sorted()
        }
    }

    private static func normalized(_ path: String) -> String {
        path.split(separator: "/").joined(separator: "/")
    }
}

/// Opens in-memory stores named after their topology (local mode).
public struct MemoryTransactionalStoreFactory: TransactionalStoreFactory {
    public init() {}

    public func makeStore(topology: String, settings: [String: String]) -> any TransactionalStore {
        MemoryTransactionalStore.named(topology)
    }
}
