import Synchronization

/// A peer worker that runs tasks feeding some of this worker's tasks: told when one of those
/// tasks' queues is overloaded or relieved, so that it pauses or resumes its own tasks.
///
/// Threading: called from any thread.
package protocol BackpressurePeer: AnyObject, Sendable {
    /// The inbox of this worker's `task` crossed its high watermark (`true`) or fell below its
    /// low watermark (`false`).
    func signal(task: Int, overloaded: Bool)
}

/// Pauses the tasks that feed an overloaded queue, and resumes them when it drains.
///
/// An inbox crossing its high watermark calls ``overloaded(task:)``; falling below its low
/// watermark calls ``relieved(task:)``. Each paused task counts the overloaded queues it feeds and
/// takes no new input (a spout: calls no `nextTuple`) while the count is above zero. Who is
/// paused is decided by ``TopologyPlan/componentsToPause(whenOverloaded:)``: flow control goes hop
/// by hop through the acyclic part of a topology, so a slow bolt stops its producers, whose queues
/// then stop theirs, up to the spouts; inside a cycle no bolt waits for another, the spouts
/// upstream stop instead, so no cycle of waits (no deadlock) can form.
///
/// In cluster mode some of those producers run in other workers: each is told through a
/// ``BackpressurePeer`` (a control frame), and the pauses a peer asks for here arrive through
/// ``pauseProducers(of:)`` and ``resumeProducers(of:)``.
package final class Backpressure: @unchecked Sendable {
    /// Local executors to pause, per task id. Set once before the topology starts.
    private var upstream: [[Executor]] = []
    /// Peers to tell, per local task id. Set once before the topology starts.
    private var peers: [[any BackpressurePeer]] = []

    package init() {}

    /// Installs, per task id, the local executors and the peers upstream of that task.
    func install(_ upstream: [[Executor]], peers: [[any BackpressurePeer]] = []) {
        self.upstream = upstream
        self.peers = peers
    }

    /// The inbox of `task` crossed its high watermark.
    package func overloaded(task: Int) {
        pauseProducers(of: task)
        guard task < peers.count else { return }
        for peer in peers[task] { peer.signal(task: task, overloaded: true) }
    }

    /// The inbox of `task` fell below its low watermark.
    package func relieved(task: Int) {
        resumeProducers(of: task)
        guard task < peers.count else { return }
        for peer in peers[task] { peer.signal(task: task, overloaded: false) }
    }

    /// Pauses this process's executors that feed `task` (overloaded here or in a peer).
    package func pauseProducers(of task: Int) {
        guard task >= 0, task < upstream.count else { return }
        for executor in upstream[task] {
            let (before, _) = executor.throttle.add(1, ordering: .sequentiallyConsistent)
            if before == 0 { executor.pauses.wrappingAdd(1, ordering: .relaxed) }
        }
    }

    /// Resumes this process's executors that feed `task`, undoing one ``pauseProducers(of:)``.
    package func resumeProducers(of task: Int) {
        guard task >= 0, task < upstream.count else { return }
        for executor in upstream[task] {
            let (_, now) = executor.throttle.subtract(1, ordering: .sequentiallyConsistent)
            if now == 0 { executor.wake() }
        }
    }
}
