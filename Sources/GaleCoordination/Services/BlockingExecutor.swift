import Dispatch
import Synchronization

/// A task executor for daemon work that blocks a thread: ZooKeeper's synchronous C calls,
/// `waitpid`, file I/O. A daemon runs its services with this executor as their preference
/// (``DaemonRunner``), so none of that blocking happens on Swift's cooperative thread pool,
/// whose few threads (one per core) every other task of the process shares.
///
/// Jobs go to a fixed number of serial Dispatch queues in turn. A serial queue gets a thread
/// of its own whenever it has work (libdispatch's overcommit pool), so a call that blocks
/// holds up only the jobs queued behind it on its lane, never the process.
public final class BlockingExecutor: TaskExecutor {
    private let lanes: [DispatchQueue]
    private let next = Atomic<Int>(0)

    /// - Parameters:
    ///   - label: prefix of the queues' labels (seen in debuggers and profiles).
    ///   - lanes: how many jobs can block at once before others wait.
    public init(label: String, lanes: Int = 8) {
        self.lanes = (0..<max(1, lanes)).map { DispatchQueue(label: "\(label).\($0)") }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let lane = lanes[next.add(1, ordering: .relaxed).oldValue % lanes.count]
        lane.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
