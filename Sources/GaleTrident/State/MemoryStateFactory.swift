/// A ``StateFactory`` whose maps live in process memory, for tests and local mode.
///
/// Maps are kept in a process-wide registry under (``registry``, state name, partition), so a
/// topology run again in the same process with a factory of the same registry name sees the state
/// its previous run committed. Use a distinct registry name for state that must start empty, such
/// as each test's.
///
/// Safe to use from any thread.
public struct MemoryStateFactory: StateFactory {
    /// The name under which this factory's maps are kept.
    public let registry: String

    /// A factory whose maps are kept under `registry`.
    ///
    /// - Parameter registry: Factories with the same name share their maps.
    public init(registry: String) {
        self.registry = registry
    }

    /// The in-memory map of one partition of a state, shared with every factory of this registry.
    ///
    /// - Throws: ``StateError/invalidName(name:reason:)`` or
    ///   ``StateError/invalidPartition(stateName:partition:partitions:)``.
    public func makeBackingMap(stateName: String, partition: Int, partitions: Int) throws(StateError) -> any BackingMap
    {
        let name = try Self.validate(stateName: stateName, partition: partition, partitions: partitions)
        return MemoryStateRegistry.shared.map(registry: registry, stateName: name, partition: partition)
    }

    /// Every entry of `stateName` across its partitions, for tests and queries.
    ///
    /// - Parameter stateName: The state's name; an invalid or unknown name gives an empty result.
    /// - Returns: The entries of every partition made so far (partitions hold disjoint keys).
    public func snapshot(stateName: String) -> [StateKey: StoredValue] {
        guard let name = try? StateName(stateName) else { return [:] }
        var entries: [StateKey: StoredValue] = [:]
        for map in MemoryStateRegistry.shared.maps(registry: registry, stateName: name) {
            entries.merge(map.snapshot()) { _, later in later }
        }
        return entries
    }
}
