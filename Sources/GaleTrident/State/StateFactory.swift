/// Makes the ``BackingMap`` of each partition of a state.
///
/// A topology names a state and a factory; each task of the component that updates the state
/// asks the factory for the map of its partition when it starts, and wraps it in a ``MapState``.
/// Partitions hold disjoint keys (fields grouping sends a key to one task), and each records its
/// own last committed txid.
///
/// A factory is a value the topology holds in every process, so it must be `Sendable`; a
/// process makes its own connections from it. ``makeBackingMap(stateName:partition:partitions:)``
/// may be called from several tasks at once and may block while it opens storage.
public protocol StateFactory: Sendable {
    /// The map of one partition of a state, created empty when it does not exist yet.
    ///
    /// - Parameters:
    ///   - stateName: The state's name: up to 64 characters, with at least one ASCII letter or
    ///     digit. Characters outside `[A-Za-z0-9_]` are stored as `_`.
    ///   - partition: The index of the task that owns this share of the keys, in `0..<partitions`.
    ///   - partitions: The number of tasks sharing the state.
    /// - Throws: ``StateError/invalidName(name:reason:)``,
    ///   ``StateError/invalidPartition(stateName:partition:partitions:)``, or an error opening the
    ///   storage such as ``StateError/cannotOpen(path:reason:)``.
    func makeBackingMap(stateName: String, partition: Int, partitions: Int) throws(StateError) -> any BackingMap
}

extension StateFactory {
    /// Validates a state name and partition for ``makeBackingMap(stateName:partition:partitions:)``.
    package static func validate(
        stateName: String,
        partition: Int,
        partitions: Int
    ) throws(StateError) -> StateName {
        let name = try StateName(stateName)
        guard partitions >= 1, (0..<partitions).contains(partition) else {
            throw .invalidPartition(stateName: stateName, partition: partition, partitions: partitions)
        }
        return name
    }
}
