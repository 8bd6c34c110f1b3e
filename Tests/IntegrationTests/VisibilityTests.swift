import Foundation
import Gale
import GaleCoordination
import GaleDaemons
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `gale set-log-level`, `gale debug` and `gale monitor` against a real cluster: one supervisor
/// running two workers of the test topology (Tests/Fixtures/ClusterTopology), whose count bolt
/// logs `count tick` at debug every second.
@Suite(.serialized) struct VisibilityTests {
    /// A cluster running the test topology on two workers, slowly and for good.
    static func start(_ name: String) async throws -> ClusterHarness {
        let cluster = try ClusterHarness(name)
        do {
            try await cluster.startNimbus()
            try cluster.startSupervisor("s1", slots: 2)
            try cluster.submit(workers: 2, messages: 10_000_000, rate: 20)
            try await cluster.waitForWorkers(2)
        } catch {
            cluster.tearDown()
            throw error
        }
        return cluster
    }

    /// The text of every worker log of the cluster's supervisors.
    static func workerLogs(_ cluster: ClusterHarness) -> [String] {
        cluster.supervisors.flatMap { s -> [String] in
            let dir = s.dir + "/logs"
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            return files.filter { $0.hasSuffix(".log") }.compactMap {
                try? String(contentsOfFile: "\(dir)/\($0)", encoding: .utf8)
            }
        }
    }

    /// How many worker log lines contain `text`.
    static func lines(_ text: String, _ cluster: ClusterHarness) -> Int {
        workerLogs(cluster).reduce(0) { $0 + $1.split(separator: "\n").filter { $0.contains(text) }.count }
    }

    /// Whether every count task has written its counts (it does at each tick) after `time`.
    static func countsWritten(after time: Date, _ cluster: ClusterHarness) -> Bool {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: cluster.output)) ?? [])
            .filter { $0.hasPrefix("counts-") }
        return files.count == 3
            && files.allSatisfy { file in
                let attributes = try? FileManager.default.attributesOfItem(atPath: "\(cluster.output)/\(file)")
                return (attributes?[.modificationDate] as? Date).map { $0 > time } ?? false
            }
    }

    @Test func setLogLevelChangesAComponentsLevelInTheRunningWorkersAndRevertsAfterItsTime() async throws {
        let cluster = try await Self.start("log-level")
        defer { cluster.tearDown() }
        #expect(Self.lines("count tick", cluster) == 0, "debug lines are not logged at the supervisor's level, info")

        // A level or component nobody knows is refused, naming it: by the CLI, and by nimbus.
        let loud = try cluster.cli(["set-log-level", cluster.name, "loud"])
        #expect(loud.status != 0 && loud.output.contains("'loud'"), "\(loud.output)")
        let nope = try cluster.cli(["set-log-level", cluster.name, "debug", "--component", "nope"])
        #expect(nope.status != 0 && nope.output.contains("no component 'nope'"), "\(nope.output)")
        let raw = try ClusterHarness.run(
            "/usr/bin/curl",
            [
                "-sS", "-w", " %{http_code}", "-X", "POST", "-H", "content-type: application/json", "-d",
                #"{"level":"loud"}"#, "\(cluster.nimbusURL)/api/v1/topologies/\(cluster.name)/log-level",
            ]
        )
        #expect(raw.output.hasSuffix(" 400") && raw.output.contains("'loud'"), "\(raw.output)")

        // The count component at debug for 10 s: its code's lines appear, the worker's own do not.
        let set = try cluster.cli(["set-log-level", cluster.name, "--component", "count", "debug", "--for", "10"])
        #expect(set.status == 0, "\(set.output)")
        #expect(set.output.contains("log level: debug (component count, "), "\(set.output)")
        try await cluster.waitUntil("a worker logs the count bolt's debug lines", timeout: 30) {
            Self.lines("count tick", cluster) > 0
        }
        #expect(Self.lines("log levels now component count debug", cluster) == 2, "both workers applied it")
        #expect(Self.lines("heartbeat answered", cluster) == 0, "only the count component's loggers log at debug")

        // After 10 s each worker reverts by itself; then the count tasks tick on without a debug line.
        try await cluster.waitUntil("both workers revert", timeout: 40) {
            Self.lines("log levels now the loggers' own", cluster) == 2
        }
        let reverted = Date()
        try await cluster.waitUntil("every count task ticks a second after the revert", timeout: 30) {
            Self.countsWritten(after: reverted.addingTimeInterval(1.5), cluster)
        }
        let ticks = Self.lines("count tick", cluster)
        try await cluster.waitUntil("every count task ticks three seconds after the revert", timeout: 30) {
            Self.countsWritten(after: reverted.addingTimeInterval(3.5), cluster)
        }
        #expect(Self.lines("count tick", cluster) == ticks, "no debug line after the revert")

        // Every logger of the topology at debug, until reset.
        let all = try cluster.cli(["set-log-level", cluster.name, "debug"])
        #expect(all.output.contains("logs at debug until changed"), "\(all.output)")
        try await cluster.waitUntil("the workers' own debug lines appear", timeout: 30) {
            Self.lines("heartbeat answered", cluster) > 0 && Self.lines("count tick", cluster) > ticks
        }
        let reset = try cluster.cli(["set-log-level", cluster.name, "reset"])
        #expect(reset.status == 0 && reset.output.contains("logs at its own level again"), "\(reset.output)")
        #expect(!reset.output.contains("log level:"), "no level is left: \(reset.output)")
        try await cluster.waitUntil("both workers revert again", timeout: 30) {
            Self.lines("log levels now the loggers' own", cluster) == 4
        }
    }

    /// The samples nimbus holds, as `gale debug NAME --show --json` prints them.
    static func samples(_ cluster: ClusterHarness, component: String? = nil) throws -> NimbusAPI.SamplesResponse {
        let result = try cluster.cli(
            ["debug", cluster.name, "--show", "--json"] + (component.map { ["--component", $0] } ?? [])
        )
        guard result.status == 0 else { throw SmokeTestFailure("gale debug --show failed: \(result.output)") }
        return try JSONDecoder().decode(NimbusAPI.SamplesResponse.self, from: Data(result.output.utf8))
    }

    /// Each worker's uptime (its last heartbeat's, relayed by its supervisor's last report), by port.
    static func uptimes(_ cluster: ClusterHarness) throws -> [Int: Double] {
        Dictionary(uniqueKeysWithValues: try cluster.status().workers.map { ($0.port, $0.uptimeSeconds) })
    }

    /// Waits until nimbus holds reports of heartbeats sent `seconds` after `since`, from every worker.
    static func waitForReports(_ cluster: ClusterHarness, _ seconds: Double, after since: [Int: Double]) async throws {
        try await cluster.waitUntil("reports of heartbeats \(seconds) s later", timeout: 30) {
            let now = try uptimes(cluster)
            return since.allSatisfy { port, uptime in (now[port] ?? 0) >= uptime + seconds }
        }
    }

    @Test func debugSamplesTheTuplesOfOneComponentUntilTurnedOffAndTheControlsGoWithTheTopology() async throws {
        let cluster = try await Self.start("sampling")
        defer { cluster.tearDown() }
        let none = try cluster.cli(["debug", cluster.name, "--show"])
        #expect(none.status == 0 && none.output.contains("no samples"), "sampling is off by default: \(none.output)")

        let on = try cluster.cli(["debug", cluster.name, "--component", "split", "--percent", "50"])
        #expect(on.status == 0 && on.output.contains("sampling 50 % of split's tuples until changed"), "\(on.output)")
        #expect(on.output.contains("sampling: 50 % of split (until changed)"), "\(on.output)")
        try await cluster.waitUntil("nimbus holds 20 samples of split", timeout: 60) {
            try Self.samples(cluster, component: "split").samples.count >= 20
        }
        let status = try cluster.status()
        let answer = try Self.samples(cluster)
        #expect(answer.controls.sampling.map(\.component) == ["split"])
        #expect(answer.samples.allSatisfy { $0.component == "split" }, "only the sampled component")
        #expect(answer.samples.allSatisfy { $0.stream == "default" && $0.values.hasPrefix("[\"") })
        #expect(Set(answer.samples.map(\.port)).isSubset(of: Set(status.workers.map(\.port))))
        #expect(answer.samples.allSatisfy { $0.host == "127.0.0.1" })
        let words = Set(ClusterHarness.groundTruth(messages: 100).keys)
        #expect(
            answer.samples.allSatisfy { sample in words.contains { sample.values.contains($0) } },
            "each sample shows a sentence of the test's words"
        )
        #expect(answer.samples.map(\.time) == answer.samples.map(\.time).sorted(), "oldest first")
        let table = try cluster.cli(["debug", cluster.name, "--show", "--component", "split"])
        #expect(
            table.output.contains("COMPONENT") && table.output.contains("split") && table.output.contains("default")
        )
        let notThere = try cluster.cli(["debug", cluster.name, "--component", "nope", "--percent", "1"])
        #expect(notThere.status != 0 && notThere.output.contains("no component 'nope'"), "\(notThere.output)")

        // Off: once both workers stopped and every sample they took has come through, no new one.
        let off = try cluster.cli(["debug", cluster.name, "--component", "split", "--off"])
        #expect(off.status == 0 && off.output.contains("sampling of split stopped"), "\(off.output)")
        try await cluster.waitUntil("both workers stop sampling", timeout: 30) {
            Self.lines("event sampling now off", cluster) == 2
        }
        try await Self.waitForReports(cluster, 3, after: try Self.uptimes(cluster))
        let stopped = try Self.samples(cluster)
        #expect(stopped.controls.sampling.isEmpty)
        try await Self.waitForReports(cluster, 5, after: try Self.uptimes(cluster))
        let later = try Self.samples(cluster)
        #expect(later.samples.count == stopped.samples.count)
        #expect(later.samples.last?.time == stopped.samples.last?.time, "no sample after sampling stopped")

        // The controls live in ZooKeeper until the topology is removed.
        let zk = try ZooKeeperClient(ZooKeeperConfig(connectString: cluster.zooKeeper), logger: .init(label: "test"))
        defer { zk.close() }
        #expect(try zk.exists(ClusterPaths.controls(status.id)) != nil)
        #expect(try cluster.cli(["kill", cluster.name, "--wait", "0"]).status == 0)
        try await cluster.waitUntil("nimbus removes the topology's controls", timeout: 30) {
            try zk.exists(ClusterPaths.controls(status.id)) == nil
        }
    }

    @Test func monitorRedrawsInPlaceOnATerminalAndPrintsPlainLinesIntoAPipe() async throws {
        let cluster = try await Self.start("monitor")
        defer { cluster.tearDown() }
        // Into a file: one key=value line per component per interval, no escape codes.
        let plainLog = cluster.root + "/monitor-plain.log"
        let plain = try ClusterHarness.spawn(
            cluster.gale,
            ["monitor", cluster.name, "--interval", "0.5", "--nimbus", cluster.nimbus] + cluster.configArguments,
            log: plainLog
        )
        cluster.extraPids.append(plain)
        func plainLines() -> [Substring] {
            ((try? String(contentsOfFile: plainLog, encoding: .utf8)) ?? "").split(separator: "\n")
        }
        try await cluster.waitUntil("the plain monitor prints the spouts' emit rate twice", timeout: 60) {
            plainLines().filter { $0.contains("row=sentences ") && !$0.contains("emitted_per_s=-") }.count >= 2
        }
        kill(plain, SIGINT)
        #expect(ClusterHarness.reap(plain, grace: 10) != nil, "Ctrl-C ends it")
        let text = plainLines()
        #expect(!text.contains { $0.contains("\u{1B}") }, "no escape codes")
        for row in ["sentences", "split", "count"] {
            #expect(text.contains { $0.contains("topology=\(cluster.name) row=\(row) emitted_per_s=") }, "\(row)")
        }

        // With --component: one row per task of it, with its worker's pending trees.
        let tasksLog = cluster.root + "/monitor-tasks.log"
        let tasks = try ClusterHarness.spawn(
            cluster.gale,
            ["monitor", cluster.name, "--component", "split", "--interval", "0.5", "--nimbus", cluster.nimbus]
                + cluster.configArguments,
            log: tasksLog
        )
        cluster.extraPids.append(tasks)
        let splitTasks = Set(try cluster.status().tasks?.filter { $0.component == "split" }.map(\.task) ?? [])
        #expect(splitTasks.count == 3)
        try await cluster.waitUntil("the monitor shows a row per split task", timeout: 60) {
            let text = (try? String(contentsOfFile: tasksLog, encoding: .utf8)) ?? ""
            return splitTasks.allSatisfy { text.contains("row=task-\($0) ") }
        }
        kill(tasks, SIGINT)
        #expect(ClusterHarness.reap(tasks, grace: 10) != nil)
        let taskText = (try? String(contentsOfFile: tasksLog, encoding: .utf8)) ?? ""
        #expect(!taskText.contains("row=count") && !taskText.contains("row=sentences"), "only split's tasks")

        // On a terminal (tmux): one table, redrawn in place.
        let socket = cluster.root + "/tmux.sock"
        func tmux(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try ClusterHarness.run("/usr/bin/env", ["TERM=xterm", "tmux", "-S", socket] + arguments)
        }
        defer { _ = try? tmux(["kill-server"]) }
        let command =
            ([cluster.gale, "monitor", cluster.name, "--interval", "0.5", "--nimbus", cluster.nimbus]
            + cluster.configArguments).joined(separator: " ")
        let started = try tmux(["new-session", "-d", "-s", "monitor", "-x", "180", "-y", "40", command])
        #expect(started.status == 0, "\(started.output)")
        func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", "monitor"]).output }
        try await cluster.waitUntil("the monitor shows every component with rates", timeout: 60) {
            let s = try screen()
            return s.contains("COMPONENT") && s.contains("split") && s.contains("count")
                && s.split(separator: "\n").contains { $0.hasPrefix("sentences") && !$0.contains(" - ") }
        }
        let first = try screen()
        let header = try #require(first.split(separator: "\n").first { $0.hasPrefix("gale monitor \(cluster.name)") })
        try await cluster.waitUntil("the view is redrawn", timeout: 30) {
            let s = try screen()
            return s.contains("gale monitor \(cluster.name)") && !s.contains(header)
        }
        let later = try screen()
        #expect(later.components(separatedBy: "gale monitor \(cluster.name)").count == 2, "one header: \(later)")
        #expect(later.components(separatedBy: "COMPONENT").count == 2, "one table: \(later)")
        #expect(later.split(separator: "\n").first?.hasPrefix("gale monitor") == true, "drawn from the top")
        _ = try tmux(["send-keys", "-t", "monitor", "C-c"])
        try await cluster.waitUntil("Ctrl-C ends the monitor (and its tmux session)", timeout: 30) {
            try tmux(["has-session", "-t", "monitor"]).status != 0
        }
    }
}
