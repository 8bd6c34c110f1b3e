import Gale
import Synchronization

/// Where each task id's envelopes go. Filled once before any executor runs, then read-only.
package final class SinkTable: @unchecked Sendable {
    package private(set) var sinks: [(any EnvelopeSink)?] = []
    /// The recycle bin of each task id that runs in this process (see ``RecycleBin``).
    package private(set) var recycleBins: [RecycleBin?] = []

    package init() {}

    /// Sets the sinks, indexed by task id. Call before the first envelope is sent.
    package func install(_ sinks: [(any EnvelopeSink)?]) {
        self.sinks = sinks
        self.recycleBins = sinks.map { ($0 as? Executor)?.recycleBin }
    }

    /// Gives `batch`, whose envelopes are all executed, back to the executor that sent it, when
    /// it runs in this process and its bin has room; otherwise leaves it to the caller.
    /// - Returns: `true` when the batch was given back (`batch` is then empty).
    @inline(__always)
    package func recycle(_ batch: inout ContiguousArray<Envelope>) -> Bool {
        guard case .tuple(let first)? = batch.first else { return false }
        let origin = first.sourceTask
        guard origin >= 0, origin < recycleBins.count, let bin = recycleBins[origin] else { return false }
        return bin.give(&batch)
    }
}

/// Batches of tuples an executor sent, given back by the executors that executed them.
///
/// A tuple's values are allocated on the thread of the task that emits them. Freed where they
/// were executed, they would travel between the threads' allocator caches (tcmalloc's central
/// lists) one by one. A bolt gives each batch it took and executed back to the executor that
/// sent it (all tuples of a batch come from one task's ``Outbox``); that executor's outbox takes
/// a given-back batch as its next buffer, and emptying it frees the old tuples on the thread that
/// allocated them, into its own cache, where the next emit's allocation finds them. The bin holds
/// at most ``capacity`` batches: beyond that, and for tuples from other processes, the executing
/// task frees them itself.
package final class RecycleBin: Sendable {
    /// Batches held at most (each up to ``Outbox/flushThreshold`` tuples).
    package static let capacity = 8
    private let batches = Mutex<[ContiguousArray<Envelope>]>([])

    package init() {}

    /// Takes `batch` (leaving it empty) unless the bin is full. - Returns: `true` when taken.
    package func give(_ batch: inout ContiguousArray<Envelope>) -> Bool {
        var taken = ContiguousArray<Envelope>()
        swap(&taken, &batch)
        let refused: ContiguousArray<Envelope>? = batches.withLock { held in
            guard held.count < Self.capacity else { return taken }
            held.append(taken)
            return nil
        }
        guard let refused else { return true }
        batch = refused
        return false
    }

    /// A batch given back, if any.
    package func take() -> ContiguousArray<Envelope>? {
        batches.withLock { $0.popLast() }
    }

    /// The number of batches held.
    package var count: Int { batches.withLock { $0.count } }
}

/// Per-target buffers of an emitting executor, flushed as batches: one hand-off per batch.
///
/// Threading: owned by one executor, used only on its queue.
package struct Outbox {
    /// Envelopes per batch before a buffer is flushed early.
    package static let flushThreshold = 1024

    private var buffers: [ContiguousArray<Envelope>]
    private var dirty: [Int] = []
    private let table: SinkTable
    /// Batches this outbox sent, given back once executed: the next buffers.
    private let recycled: RecycleBin

    package init(table: SinkTable, maxTaskId: Int, recycled: RecycleBin) {
        self.table = table
        self.recycled = recycled
        self.buffers = Array(repeating: ContiguousArray(), count: maxTaskId + 1)
        dirty.reserveCapacity(maxTaskId + 1)
    }

    /// Queues `envelope` for `task`.
    @inline(__always)
    package mutating func send(_ envelope: consuming Envelope, to task: Int) {
        if buffers[task].isEmpty { dirty.append(task) }
        buffers[task].append(envelope)
        if buffers[task].count >= Self.flushThreshold { flush(task) }
    }

    /// Hands every non-empty buffer to its sink.
    package mutating func flush() {
        guard !dirty.isEmpty else { return }
        for task in dirty where !buffers[task].isEmpty {
            flush(task)
        }
        dirty.removeAll(keepingCapacity: true)
    }

    /// `true` when nothing waits to be flushed.
    package var isEmpty: Bool { dirty.isEmpty }

    private mutating func flush(_ task: Int) {
        var batch: ContiguousArray<Envelope>
        if var given = recycled.take() {
            // Frees the executed tuples here, on the thread that allocated their values.
            given.removeAll(keepingCapacity: true)
            batch = given
        } else {
            batch = ContiguousArray()
            batch.reserveCapacity(min(Self.flushThreshold, max(16, buffers[task].count)))
        }
        swap(&batch, &buffers[task])
        // A task without a sink belongs to no running executor (a killed topology): drop.
        table.sinks[task]?.deliver(batch, to: task)
    }
}
