import Synchronization

/// Pauses the tasks that feed an overloaded queue, and resumes them when it drains.
///
/// An inbox crossing its high watermark calls ``overloaded(task:)``; falling below its low
/// watermark calls ``relieved(task:)``. Each paused task counts the overloaded queues it feeds and
/// takes no new input (a spout: calls no `nextTuple`) while the count is above zero. Who is
/// paused is decided by ``TopologyPlan/tasksToPause(whenOverloaded:)``: flow control goes hop by
/// hop through the acyclic part of a topology, so a slow bolt stops its producers, whose queues
/// then stop theirs, up to the spouts; inside a cycle no bolt waits for another, the spouts
/// upstream stop instead, so no cycle of waits (no deadlock) can form.
package final class Backpressure: @unchecked Sendable {
    /// Spout executors to pause, per task id. Set once before the topology starts.
    private var upstream: [[Executor]] = []

    package init() {}

    /// Installs, per task id, the spouts upstream of that task.
    func install(_ upstream: [[Executor]]) {
        self.upstream = upstream
    }

    /// The inbox of `task` crossed its high watermark.
    package func overloaded(task: Int) {
        guard task < upstream.count else { return }
        for executor in upstream[task] {
            executor.throttle.add(1, ordering: .sequentiallyConsistent)
        }
    }

    /// The inbox of `task` fell below its low watermark.
    package func relieved(task: Int) {
        guard task < upstream.count else { return }
        for executor in upstream[task] {
            let (_, now) = executor.throttle.subtract(1, ordering: .sequentiallyConsistent)
            if now == 0 { executor.wake() }
        }
    }
}
