/// The ``PartitionOffsets`` of the partitions a spout task reads, indexed by partition id.
///
/// A dense array rather than a dictionary: the spout reaches its partition's state several times
/// per record, and an array element is updated in place without hashing (Kafka numbers a topic's
/// partitions from 0).
struct PartitionTable {
    private var slots: [PartitionOffsets?] = []
    /// The partitions present, ascending.
    private(set) var ids: [Int32] = []

    /// The state of `partition`, or `nil` when the task does not read it.
    subscript(partition: Int32) -> PartitionOffsets? {
        // `_read` lends the stored state: reading one property copies nothing (a `get` would
        // copy the state, retaining and releasing its arrays, on every access).
        _read {
            let index = Int(partition)
            if index >= 0 && index < slots.count {
                yield slots[index]
            } else {
                yield nil
            }
        }
        _modify {
            let index = Int(partition)
            if index >= 0 && index < slots.count {
                yield &slots[index]
            } else {
                // Not read by this task: a mutation through optional chaining does nothing.
                var absent: PartitionOffsets? = nil
                yield &absent
            }
        }
    }

    /// Starts (or restarts) tracking `partition` with `state`.
    mutating func set(_ partition: Int32, _ state: PartitionOffsets) {
        let index = Int(partition)
        guard index >= 0 else { return }
        if index >= slots.count { slots.append(contentsOf: repeatElement(nil, count: index + 1 - slots.count)) }
        if !ids.contains(partition) {
            ids.append(partition)
            ids.sort()
        }
        slots[index] = state
    }

    /// Whether any partition's state satisfies `predicate`.
    func contains(where predicate: (PartitionOffsets) -> Bool) -> Bool {
        for partition in ids where self[partition].map(predicate) == true { return true }
        return false
    }
}
