package import Gale
import Synchronization

/// The counters of a task: accumulated locally, published, and summed per component.
package struct TaskCounters: Sendable {
    package var emitted: UInt64 = 0
    package var transferred: UInt64 = 0
    package var executed: UInt64 = 0
    package var acked: UInt64 = 0
    package var failed: UInt64 = 0
    package var executeLatency = LatencyHistogram()
    package var completeLatency = LatencyHistogram()

    package init() {}

    /// Adds every count and recording of `other`.
    package mutating func add(_ other: TaskCounters) {
        emitted &+= other.emitted
        transferred &+= other.transferred
        executed &+= other.executed
        acked &+= other.acked
        failed &+= other.failed
        executeLatency.merge(other.executeLatency)
        completeLatency.merge(other.completeLatency)
    }

    /// Sets every count to zero, keeping the histograms' storage.
    package mutating func reset() {
        emitted = 0
        transferred = 0
        executed = 0
        acked = 0
        failed = 0
        executeLatency.reset()
        completeLatency.reset()
    }
}

/// What one executor accumulates on its own queue and publishes now and then.
package struct LocalTaskStats {
    package var counters = TaskCounters()
    package var busyNanos: UInt64 = 0
    /// Executes seen so far; one in 16 is timed.
    package var sampleCounter: UInt32 = 0

    package init() {}
}

/// The published statistics of one task, readable from any thread.
package final class TaskStats: Sendable {
    package struct Snapshot: Sendable {
        package var counters = TaskCounters()
        package var capacity: Double = 0
        package var pending: Int = 0
        var windowStart: UInt64 = 0
        var windowBusy: UInt64 = 0
    }

    /// Length of the window over which capacity is measured.
    static let capacityWindowNanos: UInt64 = 10_000_000_000

    private let state: Mutex<Snapshot>
    /// What the task says of itself (``StatusReporting``) and its edge counts, each replaced as
    /// a whole.
    private let reported = Mutex<
        (lines: [String]?, table: StatusTable?, edges: [EdgeCount], streams: [StreamStatsRow])
    >(
        (nil, nil, [], [])
    )

    /// Sets the task's status lines and table.
    package func setDetails(_ details: [String], table: StatusTable? = nil) {
        reported.withLock {
            $0.lines = details
            $0.table = table
        }
    }

    /// Sets the tuples the task sent along each edge, and its per-stream counts, so far.
    package func setFlows(edges: [EdgeCount], streams: [StreamStatsRow]) {
        reported.withLock {
            $0.edges = edges
            $0.streams = streams
        }
    }

    /// The task's status lines, if it reports any.
    package var details: [String]? { reported.withLock { $0.lines } }

    /// The task's status table, if it reports one.
    package var table: StatusTable? { reported.withLock { $0.table } }

    /// The tuples the task sent along each edge, as last published.
    package var edges: [EdgeCount] { reported.withLock { $0.edges } }

    /// The task's per-stream counts (outputs, then inputs), as last published.
    package var streams: [StreamStatsRow] { reported.withLock { $0.streams } }

    package init(now: UInt64) {
        var snapshot = Snapshot()
        snapshot.windowStart = now
        state = Mutex(snapshot)
    }

    /// Adds `local` to the published totals and clears it.
    package func publish(_ local: inout LocalTaskStats, pending: Int, now: UInt64) {
        state.withLock { s in
            s.counters.add(local.counters)
            s.pending = pending
            s.windowBusy &+= local.busyNanos
            let elapsed = now &- s.windowStart
            if elapsed >= 1_000_000_000 {
                s.capacity = min(1, Double(s.windowBusy) / Double(elapsed))
            }
            if elapsed >= Self.capacityWindowNanos {
                s.windowStart = now
                s.windowBusy = 0
            }
        }
        local.counters.reset()
        local.busyNanos = 0
    }

    /// The totals published so far.
    package var snapshot: Snapshot {
        state.withLock { s in
            var copy = s
            let elapsed = monotonicNanos() &- s.windowStart
            if elapsed < 1_000_000_000 && s.capacity == 0 && elapsed > 0 {
                copy.capacity = min(1, Double(s.windowBusy) / Double(elapsed))
            }
            return copy
        }
    }
}

/// The recent errors of one component, bounded.
package final class ErrorLog: Sendable {
    package static let limit = 10
    private let state = Mutex<(errors: [ComponentError], total: Int)>(([], 0))

    package init() {}

    package func append(_ error: ComponentError) {
        state.withLock { s in
            s.errors.append(error)
            if s.errors.count > Self.limit { s.errors.removeFirst(s.errors.count - Self.limit) }
            s.total += 1
        }
    }

    /// The most recent errors (oldest first) and the total number ever reported.
    package var contents: (errors: [ComponentError], total: Int) { state.withLock { $0 } }
}
