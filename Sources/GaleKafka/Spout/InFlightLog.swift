/// What a spout task keeps of its tuples in flight, by partition and offset.
///
/// Per partition, entries sit in offset order in an array (a spout emits a partition's records in
/// offset order; only a payload reassembled from chunks can come after a later offset, and is
/// inserted in place), found by binary search and dropped from the front as they are removed.
/// Cheaper per record than a dictionary keyed by (partition, offset): no hashing, no rehashing.
struct InFlightLog<Entry> {
    private struct Partition {
        var offsets: [Int64] = []
        var entries: [Entry?] = []
        var head = 0

        func index(of offset: Int64) -> Int? {
            var low = head
            var high = offsets.count
            while low < high {
                let middle = low + (high - low) / 2
                if offsets[middle] < offset { low = middle + 1 } else { high = middle }
            }
            return low < offsets.count && offsets[low] == offset ? low : nil
        }

        mutating func insert(_ entry: Entry, at offset: Int64) {
            if let last = offsets.last, offset <= last {
                if let index = index(of: offset) {
                    entries[index] = entry
                    return
                }
                var low = head
                var high = offsets.count
                while low < high {
                    let middle = low + (high - low) / 2
                    if offsets[middle] < offset { low = middle + 1 } else { high = middle }
                }
                offsets.insert(offset, at: low)
                entries.insert(entry, at: low)
                return
            }
            offsets.append(offset)
            entries.append(entry)
        }

        mutating func remove(at index: Int) -> Entry? {
            let entry = entries[index].take()
            while head < entries.count, entries[head] == nil { head += 1 }
            if head == entries.count {
                offsets.removeAll(keepingCapacity: true)
                entries.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024, head * 2 >= entries.count {
                offsets.removeFirst(head)
                entries.removeFirst(head)
                head = 0
            }
            return entry
        }
    }

    private var partitions: [Partition] = []

    /// The entry of `partition`@`offset`, if held.
    subscript(partition: Int32, offset: Int64) -> Entry? {
        let p = Int(partition)
        guard p >= 0, p < partitions.count, let index = partitions[p].index(of: offset) else { return nil }
        return partitions[p].entries[index]
    }

    /// Holds `entry` for `partition`@`offset` (replacing one held there).
    mutating func insert(_ entry: Entry, partition: Int32, offset: Int64) {
        let p = Int(partition)
        guard p >= 0 else { return }
        if p >= partitions.count {
            partitions.append(contentsOf: repeatElement(Partition(), count: p + 1 - partitions.count))
        }
        partitions[p].insert(entry, at: offset)
    }

    /// Removes and returns the entry of `partition`@`offset`, if held.
    mutating func remove(partition: Int32, offset: Int64) -> Entry? {
        let p = Int(partition)
        guard p >= 0, p < partitions.count, let index = partitions[p].index(of: offset),
            partitions[p].entries[index] != nil
        else { return nil }
        return partitions[p].remove(at: index)
    }
}
