/// Where each task id's envelopes go. Filled once before any executor runs, then read-only.
package final class SinkTable: @unchecked Sendable {
    package private(set) var sinks: [(any EnvelopeSink)?] = []

    package init() {}

    /// Sets the sinks, indexed by task id. Call before the first envelope is sent.
    package func install(_ sinks: [(any EnvelopeSink)?]) {
        self.sinks = sinks
    }
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

    package init(table: SinkTable, maxTaskId: Int) {
        self.table = table
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
        var batch = ContiguousArray<Envelope>()
        batch.reserveCapacity(min(Self.flushThreshold, max(16, buffers[task].count)))
        swap(&batch, &buffers[task])
        // A task without a sink belongs to no running executor (a killed topology): drop.
        table.sinks[task]?.deliver(batch, to: task)
    }
}
