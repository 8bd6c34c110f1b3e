package import Gale
package import GaleCoordination

/// Builds the answers of the status API from what nimbus holds: the topology's record and
/// assignment, the latest worker reports and the statistics history. Pure (no I/O), so the
/// status of a large topology can be measured on its own (`gale-ui-bench`).
package enum TopologyView {
    /// How many recent errors a status carries.
    static let errorLimit = 50

    /// `GET /api/v1/topologies/<name>`.
    package static func status(
        record: TopologyRecord,
        assignment: AssignmentRecord?,
        reports: [Endpoint: WorkerReport],
        history: StatsHistory.View,
        supervisorErrors: [String],
        problems: [String],
        now: Double
    ) -> NimbusAPI.TopologyStatusResponse {
        var parts: [TopologyStats] = []
        var rows: [NimbusAPI.WorkerRow] = []
        var taskEndpoint: [Int: Endpoint] = [:]
        var live: [Int: TaskStatsRow] = [:]
        for worker in assignment?.workers ?? [] {
            for task in worker.tasks { taskEndpoint[task] = worker.endpoint }
            let report = reports[worker.endpoint].flatMap { $0.epoch == assignment?.epoch ? $0 : nil }
            if let stats = report?.stats {
                parts.append(stats)
                for row in stats.tasks ?? [] { live[row.task] = row }
            }
            rows.append(
                NimbusAPI.WorkerRow(
                    supervisorId: worker.supervisorId,
                    host: worker.endpoint.host,
                    port: worker.endpoint.port,
                    tasks: worker.tasks,
                    state: report?.state ?? "unknown",
                    pid: report?.pid,
                    uptimeSeconds: report?.uptimeSeconds ?? 0,
                    restarts: report?.restarts ?? 0,
                    lastExit: report?.lastExit
                )
            )
        }
        let order = record.description.components.map(\.id) + [Topology.ackerComponentId]
        var components = NimbusAPI.merge(parts, order: order)
        // Counts all time; the rest from the processes running now.
        for index in components.indices {
            guard let total = history.totals[components[index].id] else { continue }
            components[index].emitted = total.emitted
            components[index].transferred = total.transferred
            components[index].executed = total.executed
            components[index].acked = total.acked
            components[index].failed = total.failed
            components[index].completeLatencyMs = total.completeLatencyMs
            components[index].executeLatencyMs = total.executeLatencyMs
        }
        // Every declared component is listed: one no running process reported (not started
        // yet, or all of its workers gone) with its totals and nothing else.
        let present = Set(components.map(\.id))
        for id in order where !present.contains(id) {
            if id == Topology.ackerComponentId && record.description.config.ackers == 0 { continue }
            let total = history.totals[id] ?? StatsHistory.Counts()
            let described = record.description.components.first { $0.id == id }
            var c = ComponentStats(
                id: id,
                kind: described?.kind.rawValue ?? "acker",
                tasks: 0,
                queueCapacity: record.description.config.executorQueueCapacity
            )
            c.emitted = total.emitted
            c.transferred = total.transferred
            c.executed = total.executed
            c.acked = total.acked
            c.failed = total.failed
            c.completeLatencyMs = total.completeLatencyMs
            c.executeLatencyMs = total.executeLatencyMs
            components.append(c)
        }

        let windows = components.map { c in
            var byWindow: [String: NimbusAPI.WindowCounters] = [:]
            for (name, counts) in history.windows {
                byWindow[name] = NimbusAPI.WindowCounters(counts[c.id] ?? StatsHistory.Counts())
            }
            byWindow["all"] = NimbusAPI.WindowCounters(history.totals[c.id] ?? StatsHistory.Counts())
            return NimbusAPI.ComponentWindows(
                id: c.id,
                rates: history.rates[c.id] ?? StatsHistory.Rates(),
                windows: byWindow
            )
        }

        var tasks: [NimbusAPI.TaskRow] = []
        let taskIds = record.description.taskIds  // computed: once, not per component
        for component in record.description.components {
            for task in taskIds[component.id] ?? [] {
                tasks.append(taskRow(task, component.id, history.tasks[task], live[task], taskEndpoint[task]))
            }
        }
        for (task, row) in live.sorted(by: { $0.key < $1.key }) where row.component == Topology.ackerComponentId {
            tasks.append(taskRow(task, row.component, history.tasks[task], row, taskEndpoint[task]))
        }

        var errors: [NimbusAPI.ErrorRow] = []
        for c in components {
            for e in c.recentErrors {
                let endpoint = taskEndpoint[e.task]
                errors.append(
                    NimbusAPI.ErrorRow(
                        time: e.time,
                        component: c.id,
                        task: e.task,
                        host: endpoint?.host ?? "",
                        port: endpoint?.port ?? 0,
                        message: e.message
                    )
                )
            }
        }
        errors.sort { $0.time < $1.time }

        return NimbusAPI.TopologyStatusResponse(
            nimbusTime: now,
            id: record.id,
            name: record.name,
            status: record.status,
            epoch: assignment?.epoch ?? 0,
            requestedWorkers: record.workers,
            binaryDigest: record.binaryDigest,
            uptimeSeconds: now - record.submittedAt,
            components: components,
            workers: rows,
            errors: Array(supervisorErrors.suffix(10)),
            problems: problems,
            windows: windows,
            edges: edges(record.description, history),
            tasks: tasks,
            recentErrors: Array(errors.suffix(errorLimit))
        )
    }

    /// `GET /api/v1/topologies/<name>/components/<component>`, from the topology's status.
    package static func component(
        _ id: String,
        of status: NimbusAPI.TopologyStatusResponse,
        history: StatsHistory.View? = nil
    ) -> NimbusAPI.ComponentPage? {
        guard let component = status.components.first(where: { $0.id == id }) else { return nil }
        let window =
            status.windows?.first { $0.id == id }
            ?? NimbusAPI.ComponentWindows(id: id, rates: StatsHistory.Rates(), windows: [:])
        return NimbusAPI.ComponentPage(
            topology: status.name,
            nimbusTime: status.nimbusTime ?? 0,
            component: component,
            window: window,
            tasks: (status.tasks ?? []).filter { $0.component == id },
            errors: (status.recentErrors ?? []).filter { $0.component == id },
            inputs: (status.edges ?? []).filter { $0.to == id },
            outputs: (status.edges ?? []).filter { $0.from == id },
            streams: history.map { streams(of: id, $0) }
        )
    }

    /// The streams of component `id`: outputs by stream, then inputs by component and stream.
    private static func streams(of id: String, _ history: StatsHistory.View) -> [StreamStatsRow] {
        history.streams.filter { $0.key.component == id }
            .sorted { a, b in
                let ka = (a.key.from == nil ? 0 : 1, a.key.from ?? "", a.key.stream)
                let kb = (b.key.from == nil ? 0 : 1, b.key.from ?? "", b.key.stream)
                return ka < kb
            }
            .map { key, c in
                var row = StreamStatsRow(component: id, stream: key.stream, from: key.from)
                row.emitted = c.emitted
                row.transferred = c.transferred
                row.executed = c.executed
                row.acked = c.acked
                row.failed = c.failed
                return row
            }
    }

    private static func taskRow(
        _ task: Int,
        _ component: String,
        _ total: StatsHistory.Counts?,
        _ live: TaskStatsRow?,
        _ endpoint: Endpoint?
    ) -> NimbusAPI.TaskRow {
        let total = total ?? StatsHistory.Counts()
        return NimbusAPI.TaskRow(
            task: task,
            component: component,
            host: endpoint?.host ?? "",
            port: endpoint?.port ?? 0,
            emitted: total.emitted,
            transferred: total.transferred,
            executed: total.executed,
            acked: total.acked,
            failed: total.failed,
            completeLatencyMs: total.completeLatencyMs,
            executeLatencyMs: total.executeLatencyMs,
            capacity: live?.capacity ?? 0,
            pending: live?.pending ?? 0,
            queued: live?.queued ?? 0,
            overloaded: live?.overloaded ?? false
        )
    }

    /// Every edge the description declares, with its counts.
    private static func edges(_ description: TopologyDescription, _ history: StatsHistory.View) -> [NimbusAPI.EdgeStats]
    {
        var result: [NimbusAPI.EdgeStats] = []
        for component in description.components {
            for input in component.inputs {
                let edge = StatsHistory.Edge(from: input.component, stream: input.stream, to: component.id)
                result.append(
                    NimbusAPI.EdgeStats(
                        from: input.component,
                        to: component.id,
                        stream: input.stream,
                        grouping: input.grouping,
                        transferred: history.edges[edge] ?? 0,
                        perSecond: history.edgeRates[edge] ?? 0
                    )
                )
            }
        }
        return result
    }
}
