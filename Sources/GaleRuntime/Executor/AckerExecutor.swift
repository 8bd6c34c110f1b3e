import Dispatch
import Gale
import Synchronization

/// Runs one acker task: the driver of ``AckerState``.
///
/// Threading: everything here runs on the executor's queue.
package final class AckerExecutor: Executor, @unchecked Sendable {
    var state = AckerState()
    let timeoutNanos: UInt64

    /// Keeps this object's hot fields off the cache lines of whatever is allocated after it.
    private let tailPadding = CacheLinePadding()

    init(taskId: Int, environment: ExecutorEnvironment) {
        self.timeoutNanos = nanoseconds(fromSeconds: environment.config.messageTimeoutSeconds)
        super.init(
            taskId: taskId,
            componentId: Topology.ackerComponentId,
            environment: environment,
            watchesWatermarks: true
        )
    }

    override func run() {
        guard !stopped else { return }
        let start = monotonicNanos()
        _ = inbox.take(into: &taken, limit: Self.drainLimit)
        for batch in taken {
            for envelope in batch {
                let action: AckerState.Action
                switch envelope {
                case .ackInit(let root, let xor, let spoutTask):
                    action = state.initTree(root: root, xor: xor, spoutTask: spoutTask, now: start)
                case .ack(let root, let xor):
                    action = state.ack(root: root, xor: xor, now: start)
                case .fail(let root):
                    action = state.fail(root: root, now: start)
                case .sweep:
                    if start > timeoutNanos { _ = state.expire(startedBefore: start - timeoutNanos) }
                    continue
                case .tuple, .treeCompleted, .treeFailed:
                    continue
                }
                local.counters.executed &+= 1
                switch action {
                case .none:
                    break
                case .completed(let root, let spoutTask):
                    local.counters.acked &+= 1
                    outbox.send(.treeCompleted(root: root), to: Int(spoutTask))
                case .failed(let root, let spoutTask):
                    local.counters.failed &+= 1
                    outbox.send(.treeFailed(root: root), to: Int(spoutTask))
                }
            }
        }
        taken.removeAll(keepingCapacity: true)
        outbox.flush()
        let end = monotonicNanos()
        local.busyNanos &+= end &- start
        finishRun(now: end)
    }

    override package var pendingCount: Int { state.pendingCount }

    override func stop() {
        onQueue {
            guard !stopped else { return }
            stopped = true
            stoppedFlag.store(true, ordering: .relaxed)
            publish(now: monotonicNanos())
        }
    }
}
