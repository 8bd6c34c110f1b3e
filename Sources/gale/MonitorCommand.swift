import ArgumentParser
import Foundation
import Gale
import GaleCoordination
import GaleDaemons

#if canImport(Glibc)
import Glibc
#endif

struct Monitor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch a topology's rates, capacity, latency, queues and errors, like top.",
        discussion: """
            One row per component (with --component, one row per task of it), refreshed every --interval \
            seconds: emitted, executed, acked and failed per second, capacity (busy share of the busiest \
            task), latency (complete latency for spouts, execute latency for bolts), tuples queued and \
            errors. On a terminal the view is redrawn in place; otherwise (a pipe, a file) each interval \
            prints one line per row, key=value, without escape codes. Rates are nimbus's when it serves \
            them, else computed from the all-time totals of the last 10 s; supervisors report every 2 s. \
            Ctrl-C ends it.
            """
    )

    @Argument(help: "Topology name or id.") var name: String
    @Option(help: "One row per task of this component.") var component: String?
    @Option(parsing: .unconditional, help: "Seconds between refreshes (default 2).") var interval: Double = 2
    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard interval >= 0.2, interval.isFinite else {
            throw ValidationError("--interval must be at least 0.2 seconds, got \(interval)")
        }
    }

    func run() async throws {
        let terminal = isatty(STDOUT_FILENO) == 1
        var history = MonitorHistory()
        var frames = 0
        let path = NimbusRoute.topology.path(name)
        while true {
            let status: MonitorStatus
            do {
                status = try await client.get(MonitorStatus.self, path)
            } catch {
                // The first answer decides whether there is anything to watch.
                if frames == 0 { throw error }
                Self.write(
                    terminal
                        ? "\u{1B}[H\u{1B}[Kgale monitor \(name): \(error)\u{1B}[J\n"
                        : "time=\(MonitorView.clock(Date().timeIntervalSince1970)) error=\"\(error)\"\n"
                )
                try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                continue
            }
            if frames == 0, let component, !status.components.isEmpty,
                !status.components.contains(where: { $0.id == component })
            {
                throw CLIError(
                    "topology '\(name)' has no component '\(component)'; its components are "
                        + status.components.map(\.id).joined(separator: ", ")
                )
            }
            let now = status.nimbusTime ?? Date().timeIntervalSince1970
            history.add(time: now, status: status)
            let rows = MonitorView.rows(status, history: history, component: component)
            Self.write(
                terminal
                    ? MonitorView.frame(
                        status,
                        rows: rows,
                        component: component,
                        interval: interval,
                        time: now,
                        first: frames == 0
                    )
                    : MonitorView.plainLines(status, rows: rows, time: now).map { $0 + "\n" }.joined()
            )
            frames += 1
            try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
        }
    }

    /// Unbuffered: nothing waits in a buffer when Ctrl-C ends the process.
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// What the monitor reads: `GET /api/v1/topologies/<name>`. Nimbus's clock, per-component
/// rates and per-task rows are absent from older nimbus processes; the monitor then computes
/// rates itself and shows components only.
typealias MonitorStatus = NimbusAPI.TopologyStatusResponse

/// Tuples per second of one row.
struct MonitorRates: Equatable {
    var emitted: Double
    var executed: Double
    var acked: Double
    var failed: Double
}

/// All-time totals of one row (a component or a task).
struct MonitorCounters: Equatable {
    var emitted: UInt64
    var executed: UInt64
    var acked: UInt64
    var failed: UInt64
}

/// The totals of the last polls, for rates over the last ``window`` seconds.
struct MonitorHistory {
    var window: Double = 10
    private(set) var points: [(time: Double, rows: [String: MonitorCounters])] = []

    static func componentKey(_ id: String) -> String { "component:\(id)" }
    static func taskKey(_ task: Int) -> String { "task:\(task)" }

    mutating func add(time: Double, rows: [String: MonitorCounters]) {
        if let last = points.last, time <= last.time {
            points[points.count - 1] = (last.time, rows)
        } else {
            points.append((time, rows))
        }
        // Keep the newest point older than the window too: the base of the rates.
        while points.count > 2, points[1].time <= time - window { points.removeFirst() }
    }

    mutating func add(time: Double, status: MonitorStatus) {
        var rows: [String: MonitorCounters] = [:]
        for c in status.components {
            rows[Self.componentKey(c.id)] = MonitorCounters(
                emitted: c.emitted,
                executed: c.executed,
                acked: c.acked,
                failed: c.failed
            )
        }
        for t in status.tasks ?? [] {
            rows[Self.taskKey(t.task)] = MonitorCounters(
                emitted: t.emitted,
                executed: t.executed,
                acked: t.acked,
                failed: t.failed
            )
        }
        add(time: time, rows: rows)
    }

    /// Per-second rates of `key` between the oldest point of the window and the newest; `nil`
    /// before two points, or when a total went down (a worker's counters started again).
    func rates(_ key: String) -> MonitorRates? {
        guard let last = points.last, let first = points.first, last.time > first.time,
            let now = last.rows[key], let then = first.rows[key]
        else { return nil }
        guard now.emitted >= then.emitted, now.executed >= then.executed, now.acked >= then.acked,
            now.failed >= then.failed
        else { return nil }
        let seconds = last.time - first.time
        return MonitorRates(
            emitted: Double(now.emitted - then.emitted) / seconds,
            executed: Double(now.executed - then.executed) / seconds,
            acked: Double(now.acked - then.acked) / seconds,
            failed: Double(now.failed - then.failed) / seconds
        )
    }
}

/// The monitor's rows and how they are drawn.
enum MonitorView {
    struct Row: Equatable {
        /// The component id, or `task N`.
        var name: String
        /// `host:port` of a task's worker; tasks count of a component.
        var detail: String
        var rates: MonitorRates?
        var capacity: Double
        var latencyMs: Double
        var queued: Int
        /// Errors (components) or pending trees (tasks).
        var errors: Int
        /// What ``errors`` counts: `errors` or `pending`.
        var errorsName = "errors"
    }

    /// One row per component, or per task of `component` (falling back to the component's row
    /// when nimbus serves no task rows).
    static func rows(_ status: MonitorStatus, history: MonitorHistory, component: String?) -> [Row] {
        if let component, let tasks = status.tasks {
            return tasks.filter { $0.component == component }.sorted { $0.task < $1.task }.map { t in
                let spout = status.components.first { $0.id == component }?.kind == "spout"
                return Row(
                    name: "task \(t.task)",
                    detail: "\(t.host):\(t.port)",
                    rates: history.rates(MonitorHistory.taskKey(t.task)),
                    capacity: t.capacity,
                    latencyMs: spout ? t.completeLatencyMs : t.executeLatencyMs,
                    queued: t.queued,
                    errors: t.pending,
                    errorsName: "pending"
                )
            }
        }
        let served = Dictionary(
            (status.windows ?? []).map { w in
                (
                    w.id,
                    MonitorRates(
                        emitted: w.rates.emitted,
                        executed: w.rates.executed,
                        acked: w.rates.acked,
                        failed: w.rates.failed
                    )
                )
            }
        ) { a, _ in a }
        return status.components.filter { component == nil || $0.id == component }.map { c in
            Row(
                name: c.id,
                detail: String(c.tasks),
                rates: served[c.id] ?? history.rates(MonitorHistory.componentKey(c.id)),
                capacity: c.capacity,
                latencyMs: c.kind == "spout" ? c.completeLatencyMs : c.executeLatencyMs,
                queued: c.queued,
                errors: c.errorCount
            )
        }
    }

    static func rate(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }

    static func clock(_ time: Double) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: time))
    }

    /// The table of rows, header first.
    static func table(_ rows: [Row], perTask: Bool) -> [String] {
        Table.render(
            header: [
                perTask ? "TASK" : "COMPONENT", perTask ? "WORKER" : "TASKS", "EMITTED/s", "EXECUTED/s", "ACKED/s",
                "FAILED/s", "CAPACITY", "LATENCY ms", "QUEUED", perTask ? "PENDING" : "ERRORS",
            ],
            rows: rows.map { r in
                [
                    r.name, r.detail, rate(r.rates?.emitted), rate(r.rates?.executed), rate(r.rates?.acked),
                    rate(r.rates?.failed), String(format: "%.2f", r.capacity), String(format: "%.3f", r.latencyMs),
                    String(r.queued), String(r.errors),
                ]
            }
        ).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// A terminal frame: cursor home, every line cleared to its end, the rest of the screen
    /// cleared (the whole screen first on the first frame).
    static func frame(
        _ status: MonitorStatus,
        rows: [Row],
        component: String?,
        interval: Double,
        time: Double,
        first: Bool
    ) -> String {
        let running = status.workers.filter { $0.state == "running" }.count
        var lines = [
            "gale monitor \(status.name) (\(status.id)) \(status.status.rawValue), epoch \(status.epoch), "
                + "\(running)/\(status.workers.count) workers running  \(clock(time))  every \(ControlsText.seconds(interval)), Ctrl-C quits",
            "",
        ]
        let perTask = component != nil && status.tasks != nil
        lines += table(rows, perTask: perTask)
        if component != nil && status.tasks == nil {
            lines += ["", "(this nimbus serves no per-task statistics: the component's row instead)"]
        }
        let errors = status.components.filter { component == nil || $0.id == component }
            .flatMap { c in c.recentErrors.map { (c.id, $0) } }
            .sorted { $0.1.time < $1.1.time }.suffix(3)
        if !errors.isEmpty {
            lines.append("")
            for (id, error) in errors {
                lines.append("\(clock(error.time)) \(id) task \(error.task): \(Table.clip(error.message, 100))")
            }
        }
        return (first ? "\u{1B}[2J" : "") + "\u{1B}[H" + lines.map { $0 + "\u{1B}[K\n" }.joined() + "\u{1B}[J"
    }

    /// Plain output: one `key=value` line per row.
    static func plainLines(_ status: MonitorStatus, rows: [Row], time: Double) -> [String] {
        rows.map { r in
            [
                "time=\(clock(time))", "topology=\(status.name)",
                "row=\(r.name.replacingOccurrences(of: " ", with: "-"))",
                "emitted_per_s=\(rate(r.rates?.emitted))", "executed_per_s=\(rate(r.rates?.executed))",
                "acked_per_s=\(rate(r.rates?.acked))", "failed_per_s=\(rate(r.rates?.failed))",
                "capacity=\(String(format: "%.2f", r.capacity))", "latency_ms=\(String(format: "%.3f", r.latencyMs))",
                "queued=\(r.queued)", "\(r.errorsName)=\(r.errors)",
            ].joined(separator: " ")
        }
    }
}
