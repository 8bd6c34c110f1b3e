package import Gale
package import GaleCoordination

/// What a supervisor's `/metrics` is made of at one scrape: its own state and, per worker, the
/// last heartbeat's metrics and what `/proc` says of the process.
package struct SupervisorSample: Sendable {
    package var id: String
    package var uptimeSeconds: Double
    package var slots: Int
    package var usedSlots: Int
    /// Reports to nimbus that failed in a row.
    package var reportFailures: Int
    package var workers: [WorkerSample]

    package init(
        id: String,
        uptimeSeconds: Double,
        slots: Int,
        usedSlots: Int,
        reportFailures: Int,
        workers: [WorkerSample]
    ) {
        self.id = id
        self.uptimeSeconds = uptimeSeconds
        self.slots = slots
        self.usedSlots = usedSlots
        self.reportFailures = reportFailures
        self.workers = workers
    }
}

/// One assigned worker at a scrape.
package struct WorkerSample: Sendable {
    package var topologyId: String
    package var endpoint: Endpoint
    /// The slot's state (`running`, `stale`, `backing-off`, ...).
    package var state: String
    package var restarts: Int
    /// The running process, if any.
    package var pid: Int32?
    package var heartbeatAgeSeconds: Double?
    package var uptimeSeconds: Double
    /// From its last heartbeat (of this process).
    package var metrics: WorkerMetrics?
    package var process: ProcessSample?
    /// The statistics of its last heartbeat (the components' status tables).
    package var stats: TopologyStats?

    package init(topologyId: String, endpoint: Endpoint, state: String, restarts: Int, pid: Int32?) {
        self.topologyId = topologyId
        self.endpoint = endpoint
        self.state = state
        self.restarts = restarts
        self.pid = pid
        self.uptimeSeconds = 0
    }
}

/// The families of a supervisor's `/metrics` (docs/metrics.md lists each).
package enum SupervisorSeries {
    package static func families(_ sample: SupervisorSample) -> MetricFamilies {
        var f = MetricFamilies()
        f.gauge("gale_supervisor_uptime_seconds", "Seconds since the supervisor started.", [], sample.uptimeSeconds)
        f.gauge("gale_supervisor_slots", "Worker slots (ports) the supervisor offers.", [], Double(sample.slots))
        f.gauge("gale_supervisor_slots_used", "Slots assigned a worker.", [], Double(sample.usedSlots))
        f.gauge(
            "gale_supervisor_report_failures",
            "Reports to nimbus that failed in a row (0 when the last one was taken).",
            [],
            Double(sample.reportFailures)
        )
        var states: [String: Int] = [:]
        for worker in sample.workers { states[worker.state, default: 0] += 1 }
        for (state, count) in states.sorted(by: { $0.key < $1.key }) {
            f.gauge("gale_supervisor_workers", "Assigned workers by slot state.", [("state", state)], Double(count))
        }
        for worker in sample.workers {
            f.counter(
                "gale_supervisor_worker_restarts_total",
                "Times the supervisor restarted the worker of this slot (exits, missed heartbeats).",
                [("topology", worker.topologyId), ("worker", worker.endpoint.description)],
                Double(worker.restarts)
            )
            workerSeries(worker, into: &f)
        }
        return f
    }

    /// The series of one worker process: labelled `topology`, `worker`, `pid` (and `component`,
    /// `task` for its tasks).
    static func workerSeries(_ worker: WorkerSample, into f: inout MetricFamilies) {
        guard let pid = worker.pid else { return }
        let labels = [("topology", worker.topologyId), ("worker", worker.endpoint.description), ("pid", String(pid))]
        if let age = worker.heartbeatAgeSeconds {
            f.gauge("gale_worker_heartbeat_age_seconds", "Seconds since the worker's last heartbeat.", labels, age)
        }
        f.gauge("gale_worker_uptime_seconds", "Seconds the worker process has run.", labels, worker.uptimeSeconds)
        if let p = worker.process {
            if let rss = p.residentBytes {
                f.gauge(
                    "gale_worker_resident_memory_bytes",
                    "Resident memory of the worker process.",
                    labels,
                    Double(rss)
                )
            }
            if let cpu = p.cpuSeconds {
                f.counter(
                    "gale_worker_cpu_seconds_total",
                    "CPU time (user and system) of the worker process.",
                    labels,
                    cpu
                )
            }
            if let files = p.openFiles {
                f.gauge("gale_worker_open_fds", "Open file descriptors of the worker process.", labels, Double(files))
            }
        }
        guard let m = worker.metrics else { return }
        let t = m.transport
        let transport: [(String, String, UInt64)] = [
            ("sent_bytes_total", "Bytes written to peer workers.", t.bytesSent),
            ("received_bytes_total", "Bytes read from peer workers.", t.bytesReceived),
            ("sent_frames_total", "Frames written to peer workers.", t.framesSent),
            ("received_frames_total", "Frames read from peer workers.", t.framesReceived),
            ("sent_envelopes_total", "Envelopes (tuples, acking messages) sent to peer workers.", t.envelopesSent),
            ("received_envelopes_total", "Envelopes received from peer workers.", t.envelopesReceived),
            (
                "dropped_envelopes_total",
                "Envelopes dropped (a peer's send buffer full, shutting down, unencodable, unknown task).",
                t.envelopesDropped
            ),
            ("reconnects_total", "Outbound connections re-established after one was lost.", t.reconnects),
            (
                "corrupt_frames_total", "Connections closed for a corrupt, truncated or oversized frame.",
                t.corruptFrames
            ),
            ("refused_handshakes_total", "Handshakes refused (by this worker or by a peer).", t.handshakesRefused),
            ("refused_tls_handshakes_total", "Connections whose TLS handshake failed.", t.tlsHandshakesRefused),
            ("sent_control_frames_total", "Backpressure control frames sent to peers.", t.controlFramesSent),
            ("received_control_frames_total", "Backpressure control frames received.", t.controlFramesReceived),
        ]
        for (name, help, value) in transport { f.counter("gale_worker_transport_" + name, help, labels, value) }
        f.gauge(
            "gale_worker_transport_connected_peers",
            "Peer workers with an established outbound connection.",
            labels,
            Double(t.connectedPeers)
        )
        f.gauge(
            "gale_worker_transport_pending_bytes",
            "Encoded bytes waiting in the send buffers.",
            labels,
            Double(t.pendingBytes)
        )
        for task in m.tasks { taskSeries(task, worker: labels, into: &f) }
        if let stats = worker.stats {
            edgeSeries(stats, worker: labels, into: &f)
            streamSeries(stats, worker: labels, into: &f)
            kafkaSeries(stats, worker: labels, into: &f)
        }
        if let text = m.user { userSeries(text, worker: labels, into: &f) }
    }

    static func taskSeries(_ t: TaskMetrics, worker: [(String, String)], into f: inout MetricFamilies) {
        let labels = [worker[0], ("component", t.component), ("task", String(t.task))] + worker.dropFirst()
        let counts: [(String, String, UInt64)] = [
            ("emitted", "Tuples emitted (once per emit call).", t.emitted),
            ("transferred", "Tuples sent to tasks (an emit to three tasks counts three).", t.transferred),
            ("executed", "Tuples executed (bolts).", t.executed),
            ("acked", "Trees completed (spouts) or tuples acked (bolts).", t.acked),
            ("failed", "Trees failed or timed out (spouts) or tuples failed (bolts).", t.failed),
            ("overloaded", "Times the task's inbound queue crossed its high watermark.", t.overloaded),
            (
                "backpressure_pauses",
                "Times backpressure paused the task (a queue it feeds was overloaded).",
                t.pauses
            ),
        ]
        for (name, help, value) in counts { f.counter("gale_task_\(name)_total", help, labels, value) }
        f.gauge("gale_task_queue_length", "Tuples waiting in the task's inbound queue.", labels, Double(t.queued))
        f.gauge("gale_task_queue_capacity", "Capacity of the task's inbound queue.", labels, Double(t.queueCapacity))
        f.gauge("gale_task_pending", "Pending tuple trees (spouts).", labels, Double(t.pending))
        f.gauge("gale_task_capacity", "Share of the last 10 s the task spent executing (0 to 1).", labels, t.capacity)
        f.gauge(
            "gale_task_backpressure_paused",
            "1 while backpressure pauses the task, else 0.",
            labels,
            t.paused ? 1 : 0
        )
        if let h = t.completeLatency {
            f.histogram(
                "gale_task_complete_latency_seconds",
                "Time from a spout's emit to its tree's completion.",
                labels,
                .init(bounds: LatencyBuckets.bounds, cumulative: h.cumulative, sum: h.sumSeconds, count: h.count)
            )
        }
        if let h = t.executeLatency {
            f.histogram(
                "gale_task_execute_latency_seconds",
                "Time a bolt's execute took, sampled 1 in 16 tuples.",
                labels,
                .init(bounds: LatencyBuckets.bounds, cumulative: h.cumulative, sum: h.sumSeconds, count: h.count)
            )
        }
    }

    /// The lag and pending records of each partition the worker's Kafka spout tasks read, from
    /// their `kafka-partitions` status tables.
    static func kafkaSeries(_ stats: TopologyStats, worker: [(String, String)], into f: inout MetricFamilies) {
        for component in stats.components {
            for table in component.tables ?? [] where table.name == "kafka-partitions" {
                for row in table.rows {
                    guard let task = table.value("task", in: row), let topic = table.value("topic", in: row),
                        let partition = table.value("partition", in: row)
                    else { continue }
                    let labels =
                        [worker[0], ("component", component.id), ("task", task), ("topic", topic)]
                        + [("partition", partition)] + worker.dropFirst()
                    if let lag = table.value("lag", in: row).flatMap(Double.init) {
                        f.gauge(
                            "gale_kafka_partition_lag",
                            "Records between the partition's committed offset and its high watermark.",
                            labels,
                            lag
                        )
                    }
                    if let pending = table.value("pending", in: row).flatMap(Double.init) {
                        f.gauge(
                            "gale_kafka_partition_pending",
                            "Records of the partition emitted and not yet acked or failed.",
                            labels,
                            pending
                        )
                    }
                }
            }
        }
    }

    /// The tuples the worker's tasks sent along each edge (a stream to one subscriber).
    static func edgeSeries(_ stats: TopologyStats, worker: [(String, String)], into f: inout MetricFamilies) {
        for edge in stats.edges ?? [] {
            f.counter(
                "gale_stream_transferred_total",
                "Tuples the worker's tasks sent along a stream to one subscribing component.",
                [worker[0], ("component", edge.from), ("stream", edge.stream), ("to", edge.to)] + worker.dropFirst(),
                edge.transferred
            )
        }
    }

    /// The tuples of each stream of a component: output streams (emitted; acked and failed
    /// trees for spouts) and, with a `from` label, the input streams of bolts (executed, acked,
    /// failed).
    static func streamSeries(_ stats: TopologyStats, worker: [(String, String)], into f: inout MetricFamilies) {
        let spouts = Set(stats.components.filter { $0.kind == "spout" }.map(\.id))
        for row in stats.streams ?? [] {
            var labels = [worker[0], ("component", row.component), ("stream", row.stream)]
            if let from = row.from { labels.append(("from", from)) }
            labels += worker.dropFirst()
            if row.from == nil {
                f.counter(
                    "gale_stream_emitted_total",
                    "Tuples the worker's tasks of a component emitted on a stream (once per emit call).",
                    labels,
                    row.emitted
                )
            } else {
                f.counter(
                    "gale_stream_executed_total",
                    "Tuples of an input stream (from component, stream) the worker's tasks of a bolt executed.",
                    labels,
                    row.executed
                )
            }
            if row.from != nil || spouts.contains(row.component) {
                f.counter(
                    "gale_stream_acked_total",
                    "Trees rooted on a spout's output stream that completed, or tuples of a bolt's input stream it acked.",
                    labels,
                    row.acked
                )
                f.counter(
                    "gale_stream_failed_total",
                    "Trees rooted on a spout's output stream that failed or timed out, or tuples of a bolt's input stream it failed.",
                    labels,
                    row.failed
                )
            }
        }
    }

    /// The worker's own registry (``Gale/WorkerMetrics/user``) with the `worker` and `pid`
    /// labels added: a sample's own `worker` or `pid` label becomes `exported_worker` or
    /// `exported_pid`; families named `gale_...` are Gale's and left out.
    static func userSeries(_ text: String, worker: [(String, String)], into f: inout MetricFamilies) {
        let extra = Array(worker.dropFirst())
        let reserved = Set(extra.map(\.0))
        func labels(_ own: [ExpositionParser.Label]) -> [(String, String)] {
            own.filter { $0.name != "le" }.map {
                reserved.contains($0.name) ? ("exported_" + $0.name, $0.value) : ($0.name, $0.value)
            }
                + extra
        }
        for family in ExpositionParser.parse(text).families where !family.name.hasPrefix("gale_") {
            switch family.kind {
            case .counter:
                for s in family.samples { f.counter(family.name, family.help, labels(s.labels), s.value) }
            case .gauge:
                for s in family.samples { f.gauge(family.name, family.help, labels(s.labels), s.value) }
            case .histogram:
                // Samples of one series share their labels but `le`.
                var order: [[String]] = []
                var series:
                    [[String]: (labels: [(String, String)], buckets: [(Double, Double)], sum: Double?, count: Double?)] =
                        [:]
                for s in family.samples {
                    let own = labels(s.labels)
                    let key = own.flatMap { [$0.0, $0.1] }
                    if series[key] == nil {
                        order.append(key)
                        series[key] = (own, [], nil, nil)
                    }
                    switch s.suffix {
                    case "_bucket":
                        guard let le = s.labels.first(where: { $0.name == "le" }),
                            let bound = ExpositionParser.parseNumber(le.value[...]), bound.isFinite
                        else { continue }
                        series[key]?.buckets.append((bound, s.value))
                    case "_sum": series[key]?.sum = s.value
                    case "_count": series[key]?.count = s.value
                    default: break
                    }
                }
                for key in order {
                    guard let s = series[key], let sum = s.sum, let count = s.count, count >= 0, count < 9.2e18,
                        s.buckets.allSatisfy({ $0.1 >= 0 && $0.1 < 9.2e18 })
                    else { continue }
                    let buckets = s.buckets.sorted { $0.0 < $1.0 }
                    f.histogram(
                        family.name,
                        family.help,
                        s.labels,
                        .init(
                            bounds: buckets.map(\.0),
                            cumulative: buckets.map { UInt64($0.1) },
                            sum: sum,
                            count: UInt64(count)
                        )
                    )
                }
            }
        }
    }
}
