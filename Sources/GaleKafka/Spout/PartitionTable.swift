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
        get {
            let index = Int(partition)
            return index >= 0 && index < slots.count ? slots[index] : nil
        }
        _modify {
            let index = Int(partition)
            if index < 0 {
                var absent: PartitionOffsets? = nil
                yield &absent
                return
            }
            if index >= slots.count { slots.append(contentsOf: repeatElement(nil, count: index + 1 - slots.count)) }
            let wasPresent = slots[index] != nil
            yield &slots[index]
            let isPresent = slots[index] != nil
            if wasPresent != isPresent {
                if isPresent {
                    ids.append(partition)
                    ids.sort()
                } else {
                    ids.removeAll { $0 == partition }
                }
            }
        }
    }

    /// Whether any partition's state satisfies `predicate`.
    func contains(where predicate: (PartitionOffsets) -> Bool) -> Bool {
        for case let state? in slots where predicate(state) { return true }
        return false
    }
}
