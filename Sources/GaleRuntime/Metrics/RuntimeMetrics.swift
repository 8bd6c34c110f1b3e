public import Gale
import Synchronization

extension TopologyRuntime {
    /// The counters, queue, backpressure and latency histograms of every task in this process,
    /// by task id (read from the tasks' published statistics: nothing on the per-tuple path).
    public func taskMetrics() -> [TaskMetrics] {
        let capacity = plan.topology.config.executorQueueCapacity
        return executors.sorted { $0.taskId < $1.taskId }.map { executor in
            let s = executor.stats.snapshot
            var m = TaskMetrics(task: executor.taskId, component: executor.componentId)
            m.emitted = s.counters.emitted
            m.transferred = s.counters.transferred
            m.executed = s.counters.executed
            m.acked = s.counters.acked
            m.failed = s.counters.failed
            m.queued = executor.inbox.count
            m.queueCapacity = capacity
            m.pending = s.pending
            m.capacity = s.capacity
            m.overloaded = executor.overloads.load(ordering: .relaxed)
            m.pauses = executor.pauses.load(ordering: .relaxed)
            m.paused = executor.throttle.load(ordering: .relaxed) > 0
            m.completeLatency = s.counters.completeLatency.buckets()
            m.executeLatency = s.counters.executeLatency.buckets()
            return m
        }
    }
}

extension ClusterWorker {
    /// What the worker's supervisor exposes of it (``WorkerMetrics``): its tasks, its transport
    /// and the process's metrics registry (``GaleMetrics``).
    public func metrics() -> WorkerMetrics {
        let t = transport.stats()
        var link = TransportMetrics()
        link.bytesSent = t.bytesSent
        link.bytesReceived = t.bytesReceived
        link.framesSent = t.framesSent
        link.framesReceived = t.framesReceived
        link.envelopesSent = t.envelopesSent
        link.envelopesReceived = t.envelopesReceived
        link.envelopesDropped = t.envelopesDropped
        link.reconnects = t.reconnects
        link.corruptFrames = t.corruptFrames
        link.handshakesRefused = t.handshakesRefused
        link.tlsHandshakesRefused = t.tlsHandshakesRefused
        link.controlFramesSent = t.controlFramesSent
        link.controlFramesReceived = t.controlFramesReceived
        link.connectedPeers = t.connectedPeers
        link.pendingBytes = t.pendingBytes
        return WorkerMetrics(tasks: runtime.taskMetrics(), transport: link, user: GaleMetrics.exposition())
    }
}
