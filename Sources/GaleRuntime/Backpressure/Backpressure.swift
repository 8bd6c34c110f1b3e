import Synchronization

/// Pauses exactly the spouts upstream of an overloaded queue, and resumes them when it drains.
///
/// An inbox crossing its high watermark calls ``overloaded(task:)``; falling below its low
/// watermark calls ``relieved(task:)``. Each spout counts the overloaded queues downstream of it
/// and emits only while the count is zero. Bolts never block on a full queue, so cycles cannot
/// deadlock: their sources stop and the cycle drains.
package final class Backpressure: @unchecked Sendable {
    /// Spout executors to pause, per task id. Set once before the topology starts.
    private var upstream: [[SpoutExecutor]] = []

    package init() {}

    /// Installs, per task id, the spouts upstream of that task.
    func install(_ upstream: [[SpoutExecutor]]) {
        self.upstream = upstream
    }

    /// The inbox of `task` crossed its high watermark.
    package func overloaded(task: Int) {
        guard task < upstream.count else { return }
        for spout in upstream[task] {
            spout.throttle.add(1, ordering: .sequentiallyConsistent)
        }
    }

    /// The inbox of `task` fell below its low watermark.
    package func relieved(task: Int) {
        guard task < upstream.count else { return }
        for spout in upstream[task] {
            let (_, now) = spout.throttle.subtract(1, ordering: .sequentiallyConsistent)
            if now == 0 { spout.wake() }
        }
    }
}
