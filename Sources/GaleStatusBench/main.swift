// gale-status-bench: how long nimbus takes to answer the status of a large topology.
//
// Builds a synthetic topology of 500 components (1 spout, 499 bolts, each bolt fed by one or two
// earlier components, 2 tasks each) on 50 workers, feeds nimbus's statistics history an hour of
// supervisor reports (every 2 s), then times what nimbus does for `GET /api/v1/topologies/<name>`
// and the component page: decode the topology and assignment records (as read from ZooKeeper),
// take the statistics view, build the answer and encode it as JSON. Prints medians and p99 over
// the iterations. The ZooKeeper reads themselves (two on loopback, about 0.2 ms each) are not in
// the numbers.
//
//   swift run -c release gale-status-bench [--components N] [--workers N] [--iterations N]
import Foundation
import Gale
import GaleCoordination
import GaleDaemons

final class Source: Spout {
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["value"]) }
    func open(context: TopologyContext, collector: any SpoutOutputCollector) throws {}
    func nextTuple() {}
}

final class Step: Bolt {
    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["value"]) }
    func prepare(context: TopologyContext, collector: any OutputCollector) throws {}
    func execute(_ tuple: Tuple) {}
}

func option(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let value = Int(args[i + 1]) else { return fallback }
    return value
}

let componentCount = option("--components", 500)
let workerCount = option("--workers", 50)
let iterations = option("--iterations", 30)

let builder = TopologyBuilder(name: "synthetic")
builder.setSpout("c0", parallelism: 2) { Source() }
for i in 1..<componentCount {
    let bolt = builder.setBolt("c\(i)", parallelism: 2) { Step() }
    bolt.shuffleGrouping("c\((i - 1) / 2)")
    if i - 1 != (i - 1) / 2 { bolt.fieldsGrouping("c\(i - 1)", fields: ["value"]) }
}
builder.config.ackers = workerCount
let topology = try builder.build()
let description = topology.describe()
let taskIds = description.taskIds
let allTasks = taskIds.values.flatMap { $0 }.sorted()
let taskComponent: [Int: String] = Dictionary(
    uniqueKeysWithValues: taskIds.flatMap { component, tasks in tasks.map { ($0, component) } }
)

let record = TopologyRecord(
    id: "synthetic-1",
    name: "synthetic",
    status: .active,
    binaryDigest: String(repeating: "a", count: 64),
    binarySize: 100_000_000,
    description: description,
    configOverrides: [:],
    parallelism: [:],
    workers: workerCount,
    submittedAt: Date().timeIntervalSince1970 - 7_200
)
let workers: [WorkerAssignment] = (0..<workerCount).map { w in
    WorkerAssignment(
        supervisorId: "s\(w / 4)",
        endpoint: Endpoint(host: "10.0.\(w / 4).1", port: 6700 + w % 4),
        tasks: allTasks.enumerated().filter { $0.offset % workerCount == w }.map(\.element)
    )
}
let assignment = AssignmentRecord(topologyId: record.id, epoch: 1, workers: workers)

/// A worker's statistics after `seconds` of 1,000 tuples per second per task.
func workerStats(_ worker: WorkerAssignment, seconds: Double) -> TopologyStats {
    let n = UInt64(seconds * 1_000)
    var components: [String: ComponentStats] = [:]
    var tasks: [TaskStatsRow] = []
    var edges: [EdgeCount] = []
    var streams: [String: StreamStatsRow] = [:]
    for task in worker.tasks {
        let id = taskComponent[task] ?? "?"
        var row = TaskStatsRow(task: task, component: id)
        row.emitted = n
        row.transferred = n
        row.executed = n
        row.acked = n
        row.executeLatencyMs = 0.01
        row.capacity = 0.3
        tasks.append(row)
        var c =
            components[id]
            ?? ComponentStats(id: id, kind: id == "c0" ? "spout" : "bolt", tasks: 0, queueCapacity: 1_024)
        c.tasks += 1
        c.emitted += n
        c.transferred += n
        c.executed += n
        c.acked += n
        c.executeLatencyMs = 0.01
        c.capacity = 0.3
        c.overloaded = false
        components[id] = c
        for component in description.components {
            for input in component.inputs where input.component == id {
                edges.append(EdgeCount(from: id, stream: input.stream, to: component.id, transferred: n))
            }
            // The task's output stream, and its inputs.
            if component.id == id {
                streams["\(id)>default", default: StreamStatsRow(component: id, stream: "default")].emitted += n
                for input in component.inputs {
                    var row = StreamStatsRow(component: id, stream: input.stream, from: input.component)
                    row.executed = n
                    row.acked = n
                    streams[
                        "\(id)<\(input.component)>\(input.stream)",
                        default: StreamStatsRow(component: id, stream: input.stream, from: input.component)
                    ].add(row)
                }
            }
        }
    }
    return TopologyStats(
        name: "synthetic",
        uptimeSeconds: seconds,
        components: components.values.sorted { $0.id < $1.id },
        tasks: tasks,
        edges: edges,
        streams: Array(streams.values)
    )
}

func reports(at seconds: Double) -> [SupervisorReport] {
    var bySupervisor: [String: [WorkerReport]] = [:]
    for (w, worker) in workers.enumerated() {
        bySupervisor[worker.supervisorId, default: []].append(
            WorkerReport(
                workerId: "w\(w)",
                topologyId: record.id,
                epoch: 1,
                endpoint: worker.endpoint,
                pid: Int32(1_000 + w),
                state: "running",
                restarts: 0,
                lastExit: nil,
                uptimeSeconds: seconds,
                heartbeatAgeSeconds: 0.5,
                stats: workerStats(worker, seconds: seconds),
                statsPid: Int32(1_000 + w)
            )
        )
    }
    return bySupervisor.map { id, workers in
        SupervisorReport(
            supervisorId: id,
            host: "10.0.0.1",
            slots: [6700, 6701, 6702, 6703],
            uptimeSeconds: seconds,
            workers: workers,
            errors: []
        )
    }
}

let statistics = StatsHistory()
let start = Date().timeIntervalSince1970 - 3_600
var latest: [SupervisorReport] = []
var recordNanos: [Double] = []
for step in stride(from: 2.0, through: 3_600, by: 2) {
    latest = reports(at: step)
    let t0 = DispatchTime.now().uptimeNanoseconds
    for report in latest { statistics.record(report, now: start + step) }
    recordNanos.append(Double(DispatchTime.now().uptimeNanoseconds - t0))
}
let byEndpoint = Dictionary(latest.flatMap { $0.workers }.map { ($0.endpoint, $0) }) { _, last in last }
let recordBytes = try ClusterJSON.encode(record)
let assignmentBytes = try ClusterJSON.encode(assignment)
let order = description.components.map(\.id) + [Topology.ackerComponentId]

func measure(_ body: () throws -> Int) rethrows -> (median: Double, p99: Double, bytes: Int) {
    var times: [Double] = []
    var bytes = 0
    for _ in 0..<iterations {
        let t0 = DispatchTime.now().uptimeNanoseconds
        bytes = try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    times.sort()
    return (times[times.count / 2], times[min(times.count - 1, Int(Double(times.count) * 0.99))], bytes)
}

/// The body nimbus sends: `HTTPResponse.json`, as the API answers.
func encoded(_ value: some Encodable) -> Int { HTTPResponse.json(value).body.count }
let now = start + 3_600
/// Nimbus's caches of decoded records: the bytes it reads are the same from one call to the
/// next until the topology changes, and decode only then.
let topologyRecords = DecodedRecords<TopologyRecord>()
let assignmentRecords = DecodedRecords<AssignmentRecord>()
let topologyPath = ClusterPaths.topology(record.id)
let assignmentPath = ClusterPaths.assignment(record.id)
/// A new copy of `bytes`, as each read from ZooKeeper returns (an array compares equal to a
/// copy sharing its storage without looking at the bytes).
func read(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBufferPointer { Array($0) } }
/// What nimbus does for `GET /api/v1/topologies/<name>` once it has read the records' bytes.
func statusAnswer(_ history: StatsHistory.View? = nil) throws -> NimbusAPI.TopologyStatusResponse {
    let record = try topologyRecords.record(at: topologyPath, from: read(recordBytes))
    let assignment = try assignmentRecords.record(at: assignmentPath, from: read(assignmentBytes))
    return TopologyView.status(
        record: record,
        assignment: assignment,
        reports: byEndpoint,
        history: history
            ?? statistics.view(of: record.id, components: order, now: now, submittedAt: record.submittedAt),
        supervisorErrors: [],
        problems: [],
        now: now
    )
}
let status = try measure { encoded(try statusAnswer()) }
let page = try measure {
    let view = statistics.view(of: record.id, components: order, now: now, submittedAt: record.submittedAt)
    guard let page = TopologyView.component("c250", of: try statusAnswer(view), history: view) else { return 0 }
    return encoded(page)
}
// Where the time goes (one pass each, medians of the iterations).
let cachedTime = try measure {
    try topologyRecords.record(at: topologyPath, from: read(recordBytes)).description.components.count
}
let decodeTime = measure {
    let record = try? ClusterJSON.decode(TopologyRecord.self, from: recordBytes)
    return record?.description.components.count ?? 0
}
let viewTime = measure {
    statistics.view(of: record.id, components: order, now: now, submittedAt: record.submittedAt).totals.count
}
let view = statistics.view(of: record.id, components: order, now: now, submittedAt: record.submittedAt)
let buildTime = try measure { try statusAnswer(view).components.count }
let built = try statusAnswer(view)
let encodeTime = measure { encoded(built) }
recordNanos.sort()
print(
    "status of a \(componentCount)-component, \(allTasks.count)-task, \(workerCount)-worker topology (1 h of history):"
)
print(
    String(
        format: "  topology status: median %.1f ms, p99 %.1f ms, %d KB of JSON",
        status.median,
        status.p99,
        status.bytes / 1_024
    )
)
print(
    String(
        format:
            "  of which: records %.2f ms (decoding them: %.1f ms, when they change), statistics view %.1f ms, build %.1f ms, encode %.1f ms",
        cachedTime.median,
        decodeTime.median,
        viewTime.median,
        buildTime.median,
        encodeTime.median
    )
)
print(
    String(format: "  component page:  median %.1f ms, p99 %.1f ms, %d KB", page.median, page.p99, page.bytes / 1_024)
)
print(
    String(
        format: "  one round of %d supervisor reports into the history: median %.2f ms",
        latest.count,
        recordNanos[recordNanos.count / 2] / 1e6
    )
)
// The same figures as `key=value` lines, for scripts/bench-report.
print(
    String(
        format: "what=topology-status components=%d median_ms=%.2f p99_ms=%.2f json_kb=%d records_ms=%.2f "
            + "decode_ms=%.2f view_ms=%.2f build_ms=%.2f encode_ms=%.2f",
        componentCount,
        status.median,
        status.p99,
        status.bytes / 1_024,
        cachedTime.median,
        decodeTime.median,
        viewTime.median,
        buildTime.median,
        encodeTime.median
    )
)
print(
    String(
        format: "what=component-page components=%d median_ms=%.2f p99_ms=%.2f json_kb=%d",
        componentCount,
        page.median,
        page.p99,
        page.bytes / 1_024
    )
)
print(
    String(
        format: "what=history-round components=%d reports=%d median_ms=%.2f",
        componentCount,
        latest.count,
        recordNanos[recordNanos.count / 2] / 1e6
    )
)
