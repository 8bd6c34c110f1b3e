import Foundation
import Gale
import GaleRuntime
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// gale-bench: prints one line per scenario:
//   scenario=<name> tuples_per_sec=<n> p50_ms=<x> p99_ms=<y> rss_mb=<z>
// Each scenario runs in its own child process (so rss_mb is that scenario's peak RSS): first at
// full speed for the throughput, then with the spouts limited to half of that rate for latency.
// The two-worker scenarios run two ClusterWorkers on loopback, over plain TCP and, for
// wordcount-2workers-ack-mtls, in mutual TLS with certificates Tests/Fixtures/tls/make-certs
// (the openssl CLI) makes at the scenario's start.
// Flags: --seconds S (each phase, default 5), --scenario NAME (run one, in this process),
// --sample-percent P (event sampling of every component at P %, as `gale debug` turns on; the
// line then adds sample_percent=P and samples=N, the tuples sampled).
// Diagnostics (with --scenario): --verbose (per-component stats after each phase and the
// process's CPU time per tuple over the peak phase, on stderr), --poll (stats every 250 ms
// during the latency phase), --rate N (fixed spout rate from the start), --queue-capacity N,
// --split-tasks N, --count-tasks N, --timeline FILE (the latency phase's samples as
// `emit_ns latency_ns` lines; the half-rate phase's CPU time per tuple is in --verbose).

struct Scenario {
    let name: String
    let track: Bool
    let wordcount: Bool
    /// Number of ``ClusterWorker``s on loopback (0: one in-process ``TopologyRuntime``).
    var workers = 0
    /// Mutual TLS between the workers, with certificates of a CA made at the scenario's start.
    var tls = false
    /// The README's word count (``makeUserWordCount``) with this many split and count tasks;
    /// `nil`: the benchmark's own components.
    var userParallelism: Int?
}

let scenarios = [
    Scenario(name: "spout-bolt-noack", track: false, wordcount: false),
    Scenario(name: "spout-bolt-ack", track: true, wordcount: false),
    Scenario(name: "wordcount-noack", track: false, wordcount: true),
    Scenario(name: "wordcount-ack", track: true, wordcount: true),
    Scenario(name: "wordcount-2workers-ack", track: true, wordcount: true, workers: 2),
    Scenario(name: "wordcount-2workers-ack-mtls", track: true, wordcount: true, workers: 2, tls: true),
    Scenario(name: "user-wordcount-noack-p1", track: false, wordcount: true, userParallelism: 1),
    Scenario(name: "user-wordcount-ack-p1", track: true, wordcount: true, userParallelism: 1),
    Scenario(name: "user-wordcount-noack-p2", track: false, wordcount: true, userParallelism: 2),
    Scenario(name: "user-wordcount-ack-p2", track: true, wordcount: true, userParallelism: 2),
    Scenario(name: "user-wordcount-2workers-ack", track: true, wordcount: true, workers: 2, userParallelism: 2),
]

/// What a scenario runs on: one in-process runtime, or cluster workers talking over loopback.
struct BenchTarget {
    let stats: () -> [TopologyStats]
    let shutdown: () async -> Void
    var transport: () -> [TransportStats] = { [] }
    /// Samples P % of every component's tuples.
    var sample: (Double) -> Void = { _ in }
    /// Tuples sampled so far.
    var sampled: () -> Int = { 0 }

    init(runtime: TopologyRuntime) {
        stats = { [runtime.stats()] }
        sample = { percent in
            runtime.setSampling(
                Dictionary(uniqueKeysWithValues: runtime.plan.topology.components.map { ($0.id, percent) })
            )
        }
        sampled = { runtime.samplesRecorded }
        shutdown = { await runtime.shutdown(drainTimeout: .seconds(5)) }
    }

    /// Workers on 127.0.0.1, tasks placed round-robin by task id as the scheduler places them
    /// (`--placement pipeline` puts the first half of the task ids on worker 0 instead).
    init(workers n: Int, topology: Topology, logger: Logger, tls: TransportTLS?) async throws {
        let plan = TopologyPlan(topology: topology)
        var addresses: [WorkerAddress] = []
        for _ in 0..<n {
            addresses.append(WorkerAddress(host: "127.0.0.1", port: try freePort()))
        }
        var tasks: [Int: WorkerAddress] = [:]
        let pipeline = option("--placement") == "pipeline"
        for task in 1...plan.maxTaskId {
            let index = pipeline ? (task - 1) * n / plan.maxTaskId : (task - 1) % n
            tasks[task] = addresses[index]
        }
        var workers: [ClusterWorker] = []
        for address in addresses {
            let layout = WorkerLayout(topologyId: topology.name, epoch: 1, me: address, taskAddresses: tasks)
            var options = TransportOptions()
            options.tls = tls
            workers.append(
                try await ClusterWorker(
                    topology: topology,
                    layout: layout,
                    logger: logger,
                    activate: false,
                    options: options
                )
            )
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while !workers.allSatisfy(\.allPeersConnected) && clock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        for worker in workers { worker.setActive(true) }
        let all = workers
        stats = { all.map { $0.stats() } }
        transport = { all.map { $0.transportStats() } }
        sample = { percent in
            for worker in all {
                worker.setSampling(Dictionary(uniqueKeysWithValues: topology.components.map { ($0.id, percent) }))
            }
        }
        sampled = { all.reduce(0) { $0 + $1.localRuntime.samplesRecorded } }
        shutdown = {
            for worker in all { worker.setActive(false) }
            for worker in all { await worker.shutdown(drainTimeout: .seconds(5)) }
        }
    }
}

/// A new CA and a certificate for 127.0.0.1 it signed, fit for TLS clients and servers, made by
/// Tests/Fixtures/tls/make-certs (the `openssl` CLI) in a temporary directory that is removed
/// again; every worker of the scenario uses the one certificate.
func makeTransportTLS() throws -> TransportTLS {
    let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let candidates = [
        sourceRoot.appendingPathComponent("Tests/Fixtures/tls/make-certs").path,
        FileManager.default.currentDirectoryPath + "/Tests/Fixtures/tls/make-certs",
    ]
    guard let script = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw BenchError("cannot find Tests/Fixtures/tls/make-certs (looked at \(candidates.joined(separator: ", ")))")
    }
    let directory = NSTemporaryDirectory() + "gale-bench-tls-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: script)
    process.arguments = ["--client-auth", directory]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BenchError("\(script) failed with status \(process.terminationStatus) (is openssl installed?)")
    }
    func read(_ name: String) throws -> String { try String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8) }
    return try TransportTLS(
        caCertificatesPEM: try read("ca.pem"),
        certificateChainPEM: try read("server.pem"),
        privateKeyPEM: try read("server.key")
    )
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A port that was free a moment ago.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let rc = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
        }
    }
    guard rc else { throw CocoaError(.featureUnsupported) }
    return Int(UInt16(bigEndian: addr.sin_port))
}

func option(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

/// User and system CPU time of this process so far, in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}

func makeTopology(_ scenario: Scenario, control: BenchControl) throws -> Topology {
    let builder = TopologyBuilder(name: scenario.name)
    builder.config.ackers = scenario.track ? 1 : 0
    builder.config.maxSpoutPending = scenario.track ? 8192 : nil
    let track = scenario.track
    if let capacity = option("--queue-capacity").flatMap(Int.init) { builder.config.executorQueueCapacity = capacity }
    if scenario.wordcount {
        builder.setSpout("spout") { BenchSpout(control: control, track: track, sentences: true) }
        let splits = option("--split-tasks").flatMap(Int.init) ?? 1
        let counts = option("--count-tasks").flatMap(Int.init) ?? 1
        builder.setBolt("split", parallelism: splits) { SplitBolt() }.shuffleGrouping("spout")
        builder.setBolt("count", parallelism: counts) { CountBolt(control: control) }.fieldsGrouping(
            "split",
            fields: ["word"]
        )
    } else {
        builder.setSpout("spout") { BenchSpout(control: control, track: track, sentences: false) }
        builder.setBolt("count") { SinkBolt(control: control) }.shuffleGrouping("spout")
    }
    return try builder.build()
}

func runScenario(_ scenario: Scenario, seconds: Double) async throws -> String {
    let timelinePath = option("--timeline")
    let control = BenchControl(keepsTimeline: timelinePath != nil)
    var logger = Logger(label: "gale.bench")
    logger.logLevel = .error
    let topology =
        try scenario.userParallelism.map {
            try makeUserWordCount(name: scenario.name, tracked: scenario.track, parallelism: $0)
        } ?? makeTopology(scenario, control: control)
    let target =
        scenario.workers > 0
        ? try await BenchTarget(
            workers: scenario.workers,
            topology: topology,
            logger: logger,
            tls: scenario.tls ? try makeTransportTLS() : nil
        )
        : BenchTarget(runtime: try TopologyRuntime(topology: topology, logger: logger))
    let samplePercent = option("--sample-percent").flatMap(Double.init)
    if let samplePercent { target.sample(samplePercent) }
    func counted() -> UInt64 { target.stats().reduce(0) { $0 + ($1.component("count")?.executed ?? 0) } }
    func components() -> [ComponentStats] { target.stats().flatMap(\.components) }
    let clock = ContinuousClock()
    func elapsedSeconds(since start: ContinuousClock.Instant) -> Double {
        let d = clock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    // Phase 1: peak throughput after a one-second warm-up.
    if let fixed = option("--rate").flatMap(Int.init) { control.rate.store(fixed, ordering: .relaxed) }
    try await Task.sleep(for: .seconds(1))
    let before = counted()
    let cpuBefore = processCPUSeconds()
    let start = clock.now
    try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
    let elapsed = elapsedSeconds(since: start)
    let cpu = processCPUSeconds() - cpuBefore
    let done = counted() - before
    let peak = Double(done) / elapsed
    if CommandLine.arguments.contains("--verbose") {
        let summary = components().map { "\($0.id) x=\($0.executed) cap=\(String(format: "%.2f", $0.capacity))" }
        let cost = String(
            format: "cpu %.3f µs per tuple, %.2f cores busy",
            cpu * 1e6 / Double(max(1, done)),
            cpu / elapsed
        )
        FileHandle.standardError.write(Data("peak \(Int(peak)) (\(cost)): \(summary)\n".utf8))
        for t in target.transport() {
            FileHandle.standardError.write(
                Data(
                    "  transport sent=\(t.envelopesSent) received=\(t.envelopesReceived) frames=\(t.framesSent) writes=\(t.writes) bytes=\(t.bytesSent) dropped=\(t.envelopesDropped) control=\(t.controlFramesSent) tls_handshakes=\(t.tlsHandshakesCompleted) tls_refused=\(t.tlsHandshakesRefused)\n"
                        .utf8
                )
            )
        }
    }

    if scenario.userParallelism != nil {
        // The README's spout has no rate limit: the runtime's complete latency over the run.
        let spout = components().first { $0.id == "sentences" }
        await target.shutdown()
        return String(
            format: "scenario=%@ tuples_per_sec=%d complete_mean_ms=%.3f complete_p99_ms=%.3f rss_mb=%.1f",
            scenario.name,
            Int(peak),
            spout?.completeLatencyMs ?? 0,
            spout?.completeLatencyP99Ms ?? 0,
            peakRSSMegabytes()
        )
    }

    // Phase 2: latency at half the peak rate (in spout tuples: words / 8 for word count).
    let spoutRate = scenario.wordcount ? peak / 8 : peak
    control.rate.store(max(1, Int(spoutRate / 2)), ordering: .relaxed)
    try await Task.sleep(for: .seconds(1))
    control.latency.setEnabled(true)
    let before2 = counted()
    let cpuBefore2 = processCPUSeconds()
    let start2 = clock.now
    if CommandLine.arguments.contains("--poll") {
        for _ in 0..<Int(seconds * 4) {
            try await Task.sleep(for: .milliseconds(250))
            FileHandle.standardError.write(
                Data(
                    "  \(components().map { "\($0.id) q=\($0.queued) p=\($0.pending) x=\($0.executed) cap=\(String(format: "%.2f", $0.capacity))" })\n"
                        .utf8
                )
            )
        }
    } else {
        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
    }
    control.latency.setEnabled(false)
    let done2 = counted() - before2
    let elapsed2 = elapsedSeconds(since: start2)
    let cpu2 = processCPUSeconds() - cpuBefore2
    let achieved = Double(done2) / elapsed2
    if CommandLine.arguments.contains("--verbose") {
        let cost2 = String(
            format: "cpu %.3f µs per tuple, %.2f cores busy",
            cpu2 * 1e6 / Double(max(1, done2)),
            cpu2 / elapsed2
        )
        FileHandle.standardError.write(
            Data(
                "\(scenario.name): half-rate phase achieved \(Int(achieved))/s (\(cost2)); \(components().map { "\($0.id) cap=\($0.capacity) pending=\($0.pending) maxq=\($0.maxQueueLength)" })\n"
                    .utf8
            )
        )
    }
    await target.shutdown()
    if let timelinePath {
        try control.latency.timelineText().write(toFile: timelinePath, atomically: true, encoding: .utf8)
    }
    let (p50, p99) = control.latency.quantiles()
    return String(
        format: "scenario=%@ tuples_per_sec=%d p50_ms=%.3f p99_ms=%.3f rss_mb=%.1f",
        scenario.name,
        Int(peak),
        p50,
        p99,
        peakRSSMegabytes()
    ) + (samplePercent.map { " sample_percent=\($0) samples=\(target.sampled())" } ?? "")
}

let seconds = option("--seconds").flatMap(Double.init) ?? 5
if let name = option("--scenario") {
    guard let scenario = scenarios.first(where: { $0.name == name }) else {
        FileHandle.standardError.write(Data("unknown scenario \(name); known: \(scenarios.map(\.name))\n".utf8))
        exit(2)
    }
    print(try await runScenario(scenario, seconds: seconds))
    exit(0)
}

for scenario in scenarios {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    if !(CommandLine.arguments[0].contains("/")) {
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    }
    child.arguments =
        ["--scenario", scenario.name, "--seconds", String(seconds)]
        + (option("--sample-percent").map { ["--sample-percent", $0] } ?? [])
    let pipe = Pipe()
    child.standardOutput = pipe
    try child.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    child.waitUntilExit()
    print(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    if child.terminationStatus != 0 {
        print("scenario=\(scenario.name) error=exit_status_\(child.terminationStatus)")
    }
}
