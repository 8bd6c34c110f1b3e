/// The state machine of an acker task (Storm's XOR algorithm), free of I/O.
///
/// For each pending tuple tree it keeps the XOR of every edge id seen so far. A spout's init
/// message carries the XOR of the edges it emitted; each ack carries `edge ^ (edges emitted
/// anchored to it)`. When all tuples of the tree are acked the value returns to zero and the tree
/// is complete. Memory per tree is constant, however large the tree.
package struct AckerState {
    package struct Entry {
        var value: UInt64 = 0
        var spoutTask: Int32 = -1
        var initialized = false
        var failed = false
        var startedAt: UInt64
    }

    /// What the driver must do after a transition.
    package enum Action: Equatable {
        case none
        /// Tell `spoutTask` that `root` completed.
        case completed(root: UInt64, spoutTask: Int32)
        /// Tell `spoutTask` that `root` failed.
        case failed(root: UInt64, spoutTask: Int32)
    }

    package private(set) var entries: [TreeId: Entry] = [:]

    package init() {}

    /// The number of pending trees.
    package var pendingCount: Int { entries.count }

    /// A spout started the tree `root`.
    package mutating func initTree(root: UInt64, xor: UInt64, spoutTask: Int32, now: UInt64) -> Action {
        update(root, now: now) { entry in
            entry.value ^= xor
            entry.spoutTask = spoutTask
            entry.initialized = true
        }
    }

    /// A bolt acked a tuple of the tree `root`.
    package mutating func ack(root: UInt64, xor: UInt64, now: UInt64) -> Action {
        update(root, now: now) { $0.value ^= xor }
    }

    /// A bolt failed a tuple of the tree `root`.
    package mutating func fail(root: UInt64, now: UInt64) -> Action {
        update(root, now: now) { $0.failed = true }
    }

    /// Applies `change` to the entry of `root` (a new one when there is none) and settles it,
    /// with one hash lookup: an existing entry is changed, and removed, through its index.
    @inline(__always)
    private mutating func update(_ root: UInt64, now: UInt64, _ change: (inout Entry) -> Void) -> Action {
        let key = TreeId(root)
        guard let index = entries.index(forKey: key) else {
            var entry = Entry(startedAt: now)
            change(&entry)
            let action = settle(root, entry)
            if action == .none { entries[key] = entry }
            return action
        }
        change(&entries.values[index])
        let action = settle(root, entries.values[index])
        if action != .none { entries.remove(at: index) }
        return action
    }

    /// Forgets trees started before `deadline` (their spouts time them out on their own).
    /// - Returns: the number forgotten.
    package mutating func expire(startedBefore deadline: UInt64) -> Int {
        let before = entries.count
        entries = entries.filter { $0.value.startedAt >= deadline }
        return before - entries.count
    }

    /// What `entry`'s state calls for: the tree completed or failed (the entry goes), or nothing.
    private func settle(_ root: UInt64, _ entry: Entry) -> Action {
        guard entry.initialized else { return .none }
        if entry.failed { return .failed(root: root, spoutTask: entry.spoutTask) }
        if entry.value == 0 { return .completed(root: root, spoutTask: entry.spoutTask) }
        return .none
    }
}
