import Foundation
import Gale
import GaleCoordination
import GaleDaemons
import GaleTestSupport
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real cluster on loopback: ZooKeeper, `gale nimbus`, `gale supervisor` processes and worker
/// processes of the test topology (Tests/Fixtures/ClusterTopology).
@Suite(.serialized) struct ClusterTests {
    /// Every id in 0..<messages acked at least once.
    static func allAcked(_ cluster: ClusterHarness, _ messages: Int) -> Bool {
        let acked = cluster.ackedIds()
        return (0..<messages).allSatisfy { acked[$0] != nil }
    }

    @Test func submitSchedulesTasksOverBothSupervisorsWhoFetchTheVerifiedBinaryAndKillRemovesIt() async throws {
        let cluster = try ClusterHarness("schedule")
        defer { cluster.tearDown() }
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1")
        try cluster.startSupervisor("s2")
        try await cluster.waitUntil("both supervisors are registered", timeout: 30) {
            let rows = try cluster.cli(["supervisors", "--json"])
            return rows.output.contains("\"s1\"") && rows.output.contains("\"s2\"")
        }
        try cluster.submit(workers: 4, messages: 10, rate: 0)
        try await cluster.waitUntil("four workers are assigned", timeout: 30) {
            try cluster.status().workers.count == 4
        }
        let status = try cluster.status()
        #expect(Set(status.workers.map(\.supervisorId)) == ["s1", "s2"])
        #expect(status.workers.flatMap(\.tasks).sorted() == Array(1...10))
        #expect(Set(status.workers.map(\.port)).count == 4)
        #expect(status.epoch == 1)
        // Each supervisor downloads the binary from nimbus and checks its SHA-256 before launching.
        for s in cluster.supervisors {
            try await cluster.waitUntil("\(s.id) holds the verified binary", timeout: 30) {
                let dir = "\(s.dir)/topologies/\(status.binaryDigest)"
                return FileManager.default.isExecutableFile(atPath: "\(dir)/cluster-wordcount")
            }
        }
        // Every worker hands its supervisor's ZooKeeper and the topology id to the topology builder
        // and to each task's context (the spout tasks write what they saw).
        try await cluster.waitUntil("both spout tasks wrote their settings", timeout: 30) {
            cluster.clusterSettings().count == 2
        }
        for (file, settings) in cluster.clusterSettings() {
            #expect(
                settings == [
                    "gale.zookeeper.servers": cluster.zooKeeper, "gale.topology.id": status.id,
                    "test.builder.zookeeper": cluster.zooKeeper,
                ],
                "\(file)"
            )
        }
        let list = try cluster.cli(["list"])
        #expect(list.status == 0 && list.output.contains(cluster.name) && list.output.contains("active"))
        #expect(try cluster.cli(["deactivate", cluster.name]).output.contains("inactive"))
        #expect(try cluster.cli(["activate", cluster.name]).output.contains("active"))
        #expect(try cluster.cli(["rebalance", cluster.name, "--workers", "2"]).status == 0)
        try await cluster.waitUntil("two workers are assigned", timeout: 30) {
            let s = try cluster.status()
            return s.workers.count == 2 && s.epoch == 2
        }
        let zk = try ZooKeeperClient(ZooKeeperConfig(connectString: cluster.zooKeeper), logger: .init(label: "test"))
        defer { zk.close() }
        let before = try cluster.zxid()
        try await Task.sleep(for: .seconds(5))
        #expect(try cluster.zxid() == before, "no ZooKeeper writes in steady state")
        #expect(try cluster.cli(["kill", cluster.name, "--wait", "0"]).status == 0)
        try await cluster.waitUntil("the topology is gone", timeout: 20) {
            try cluster.cli(["status", cluster.name]).status != 0
        }
        #expect(try zk.children(ClusterPaths.assignments).filter { $0.hasPrefix(cluster.name + "-") }.isEmpty)
        #expect(try zk.children(ClusterPaths.topologies).filter { $0.hasPrefix(cluster.name + "-") }.isEmpty)
    }

    /// Starts nimbus and supervisors `s1`, `s2` (two slots each) and waits until both registered.
    static func startCluster(_ cluster: ClusterHarness, orphanTimeout: Double = 10) async throws {
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1", orphanTimeout: orphanTimeout)
        try cluster.startSupervisor("s2", orphanTimeout: orphanTimeout)
        try await cluster.waitUntil("both supervisors are registered", timeout: 30) {
            let rows = try cluster.cli(["supervisors", "--json"])
            return rows.output.contains("\"s1\"") && rows.output.contains("\"s2\"")
        }
    }

    /// SIGTERM shuts each daemon's services down in order and the process exits by itself with
    /// status 0: a supervisor stops and reaps its workers first, nimbus lets its API finish.
    @Test func sigtermStopsTheSupervisorAndItsWorkersThenNimbusAndEachExitsZero() async throws {
        let cluster = try ClusterHarness("sigterm")
        defer { cluster.tearDown() }
        try await Self.startCluster(cluster)
        try cluster.submit(workers: 4, messages: 100_000, rate: 150)
        try await cluster.waitForWorkers(4)
        let supervisor = try #require(cluster.supervisors.first { $0.id == "s1" })
        let workers = cluster.workerPids(of: "s1")
        #expect(workers.count == 2)
        kill(supervisor.pid, SIGTERM)
        let supervisorStatus = cluster.reap(supervisor.pid, grace: 60)
        cluster.supervisors.removeAll { $0.id == "s1" }
        #expect(supervisorStatus == 0, "the supervisor exited by itself with status 0")
        let supervisorLog = (try? String(contentsOfFile: cluster.root + "/s1.log", encoding: .utf8)) ?? ""
        #expect(supervisorLog.contains("shutting down"), "\(supervisorLog.suffix(2000))")
        #expect(supervisorLog.contains("supervisor s1 stopped"), "\(supervisorLog.suffix(2000))")
        for pid in workers {
            #expect(kill(pid, 0) != 0, "worker \(pid) of the stopped supervisor is gone")
        }

        kill(cluster.nimbusPid, SIGTERM)
        let nimbusStatus = cluster.reap(cluster.nimbusPid, grace: 60)
        cluster.nimbusPid = 0
        #expect(nimbusStatus == 0, "nimbus exited by itself with status 0")
        let nimbusLog = (try? String(contentsOfFile: cluster.root + "/nimbus.log", encoding: .utf8)) ?? ""
        #expect(nimbusLog.contains("nimbus stopped"), "\(nimbusLog.suffix(2000))")
    }

    /// Each assignment has a secret: the workers' launch specs hold it readable by the
    /// supervisor's user only, the workers prove it to each other (they ack), and a heartbeat
    /// without the worker's token is refused by its supervisor.
    @Test func workersHoldTheirAssignmentSecretPrivatelyAndProveItToTheirSupervisor() async throws {
        let cluster = try ClusterHarness("secret")
        defer { cluster.tearDown() }
        try await Self.startCluster(cluster)
        let messages = 500
        try cluster.submit(workers: 2, messages: messages, rate: 0)
        try await cluster.waitForWorkers(2)
        try await cluster.waitUntil("every message is acked", timeout: 60) { Self.allAcked(cluster, messages) }
        let status = try cluster.status()
        let zk = try ZooKeeperClient(ZooKeeperConfig(connectString: cluster.zooKeeper), logger: .init(label: "test"))
        defer { zk.close() }
        let assignment = try ClusterJSON.decode(
            AssignmentRecord.self,
            from: try zk.get(ClusterPaths.assignment(status.id)).data
        )
        let secret = try #require(assignment.secret)
        #expect(secret.count == 64)
        var checked = 0
        for s in cluster.supervisors {
            let workers = s.dir + "/workers/" + status.id
            for worker in (try? FileManager.default.contentsOfDirectory(atPath: workers)) ?? [] {
                let spec = "\(workers)/\(worker)/epoch-\(assignment.epoch).json"
                guard FileManager.default.fileExists(atPath: spec) else { continue }
                // The supervisor's, readable by the topology's workers only: their group when
                // they run as another user, else the supervisor's user alone.
                let info = WorkerUserTests.info(spec)
                #expect(info.mode == (ClusterHarness.workerUser == nil ? 0o600 : 0o640), "\(spec) is private")
                #expect(info.uid == geteuid())
                if ClusterHarness.workerUser != nil {
                    let directory = WorkerUserTests.info(workers)
                    #expect(directory.mode == 0o750 && (60_600...61_099).contains(directory.gid), "\(workers)")
                    #expect(info.gid == directory.gid, "\(spec) has its topology's group")
                }
                let text = (try? String(contentsOfFile: spec, encoding: .utf8)) ?? ""
                #expect(text.contains(secret))
                checked += 1
                // A heartbeat for this worker without its token.
                let port =
                    (try? String(contentsOfFile: s.dir + "/heartbeat-port", encoding: .utf8))
                    .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
                let beat = WorkerHeartbeat(
                    workerId: worker,
                    topologyId: status.id,
                    epoch: assignment.epoch,
                    port: 1,
                    pid: 1,
                    uptimeSeconds: 1,
                    stats: TopologyStats(name: status.name, uptimeSeconds: 1, components: [])
                )
                let forged = try await HTTPClient(timeout: .seconds(10)).postJSON(
                    address: "127.0.0.1:\(port)",
                    path: "/heartbeat",
                    beat
                )
                #expect(forged.status == 401, "\(forged.status) \(String(decoding: forged.body, as: UTF8.self))")
            }
        }
        #expect(checked == 2)
    }

    @Test func wordCountOverFourWorkersAcksEveryMessageWithoutZooKeeperWrites() async throws {
        let cluster = try ClusterHarness("wc4")
        defer { cluster.tearDown() }
        try await Self.startCluster(cluster)
        // 6000 messages at 100/s per spout task (two tasks): about 30 s of traffic.
        let messages = 6000
        try cluster.submit(workers: 4, messages: messages, rate: 100)
        try await cluster.waitForWorkers(4)
        try await cluster.waitUntil("the first message is acked", timeout: 30) { !cluster.ackedIds().isEmpty }

        // Steady state: tuples flow, heartbeats and reports go over HTTP, ZooKeeper sees no write.
        let before = try cluster.zxid()
        let ackedBefore = cluster.ackedIds().count
        try await Task.sleep(for: .seconds(30))
        #expect(try cluster.zxid() == before, "no ZooKeeper writes in steady state")
        #expect(cluster.ackedIds().count > ackedBefore, "messages are acked during the window")

        try await cluster.waitUntil("every message is acked", timeout: 90) { Self.allAcked(cluster, messages) }
        let acked = cluster.ackedIds()
        #expect(acked.values.allSatisfy { $0 == 1 }, "no failures, so no message is acked twice")
        try await cluster.waitUntil("the counts equal the ground truth", timeout: 30) {
            cluster.counts() == ClusterHarness.groundTruth(messages: messages)
        }
        // Status: per-component counters summed over the four workers' reports, each report up
        // to 2 s old: wait until every component's shows the whole run.
        try await cluster.waitUntil("status shows every message through every component", timeout: 30) {
            let components = try cluster.status().components
            func component(_ id: String) -> ComponentStats? { components.first { $0.id == id } }
            return component("sentences")?.acked == UInt64(messages)
                && component("split")?.executed == UInt64(messages)
                && (component("count")?.executed ?? 0) >= UInt64(messages * 5)
        }
        let status = try cluster.status()
        let count = try #require(status.components.first { $0.id == "count" })
        let split = try #require(status.components.first { $0.id == "split" })
        #expect(count.tasks == 3 && split.tasks == 3)
        #expect(split.executed == UInt64(messages) && split.emitted == UInt64(messages * 5))
        #expect(count.executed >= UInt64(messages * 5), "every word, plus tick tuples")
        #expect(status.workers.allSatisfy { $0.state == "running" && $0.uptimeSeconds > 0 && $0.host == "127.0.0.1" })
        let table = try cluster.cli(["status", cluster.name])
        #expect(table.status == 0 && table.output.contains("sentences") && table.output.contains("count"))

        #expect(try cluster.cli(["kill", cluster.name, "--wait", "1"]).status == 0)
        try await cluster.waitUntil("every worker process is gone", timeout: 30) { cluster.workerPids().isEmpty }
    }

    @Test func killedWorkerIsRestartedAndTheRunStillAcksEveryMessage() async throws {
        let cluster = try ClusterHarness("kill9")
        defer { cluster.tearDown() }
        try await Self.startCluster(cluster)
        let messages = 3000
        try cluster.submit(workers: 4, messages: messages, rate: 150)
        try await cluster.waitForWorkers(4)
        try await cluster.waitUntil("the first message is acked", timeout: 30) { !cluster.ackedIds().isEmpty }
        let victim = try #require(cluster.workerPids().first)
        let others = Set(cluster.workerPids()).subtracting([victim])
        let killedAt = Date()
        kill(victim, SIGKILL)
        try await cluster.waitUntil("the supervisor restarts the killed worker", timeout: 30) {
            let now = Set(cluster.workerPids())
            return now.count == 4 && !now.contains(victim) && now.isSuperset(of: others)
        }
        print("worker restart after kill -9: \(Int(Date().timeIntervalSince(killedAt) * 1000)) ms")
        try await cluster.waitUntil("every message is acked", timeout: 120) { Self.allAcked(cluster, messages) }
        try await cluster.waitUntil("status shows the restart", timeout: 30) {
            try cluster.status().workers.contains { $0.restarts >= 1 }
        }
    }

    @Test func hungWorkerWhoseHeartbeatsStopIsReplacedAndTheRunCompletes() async throws {
        let cluster = try ClusterHarness("hung")
        defer { cluster.tearDown() }
        try await Self.startCluster(cluster)
        let messages = 3000
        try cluster.submit(workers: 2, messages: messages, rate: 100)
        try await cluster.waitForWorkers(2)
        try await cluster.waitUntil("the first message is acked", timeout: 30) { !cluster.ackedIds().isEmpty }
        let victim = try #require(cluster.workerPids().first)
        // Stopped, not dead: its connections stay open and its heartbeats stop.
        kill(victim, SIGSTOP)
        try await cluster.waitUntil("the supervisor replaces the silent worker", timeout: 60) {
            let now = cluster.workerPids()
            return now.count == 2 && !now.contains(victim)
        }
        try await cluster.waitUntil("every message is acked", timeout: 120) { Self.allAcked(cluster, messages) }
        #expect(cluster.workersById().values.allSatisfy { $0 == 1 })
    }

    @Test func workersOfAKilledSupervisorAreReassignedAndTheRunCompletes() async throws {
        let cluster = try ClusterHarness("supkill")
        defer { cluster.tearDown() }
        try await Self.startCluster(cluster)
        let messages = 3000
        try cluster.submit(workers: 2, messages: messages, rate: 150)
        try await cluster.waitForWorkers(2)
        #expect(Set(try cluster.status().workers.map(\.supervisorId)) == ["s1", "s2"])
        try await cluster.waitUntil("the first message is acked", timeout: 30) { !cluster.ackedIds().isEmpty }
        let s1 = try #require(cluster.supervisors.first { $0.id == "s1" })
        let orphans = cluster.workerPids(of: "s1")
        kill(s1.pid, SIGKILL)
        cluster.reap(s1.pid, grace: 5)
        for pid in orphans { kill(pid, SIGKILL) }
        try await cluster.waitUntil("both workers run on s2", timeout: 60) {
            let workers = try cluster.status().workers
            return workers.count == 2 && workers.allSatisfy { $0.supervisorId == "s2" && $0.state == "running" }
        }
        try await cluster.waitUntil("every message is acked", timeout: 120) { Self.allAcked(cluster, messages) }
        #expect(cluster.workerPids().count == 2)
    }

    /// The socket inodes open in process `pid` (`socket:[N]` links under `/proc/PID/fd`).
    static func sockets(of pid: pid_t) -> Set<String> {
        let dir = "/proc/\(pid)/fd"
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return Set(
            fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/\($0)") }
                .filter { $0.hasPrefix("socket:") }
        )
    }

    @Test func restartedSupervisorBindsItsPortAgainAndAdoptsItsWorkersWhichHoldNoneOfItsSockets() async throws {
        let cluster = try ClusterHarness("adopt")
        defer { cluster.tearDown() }
        try await Self.startCluster(cluster)
        let messages = 2000
        try cluster.submit(workers: 2, messages: messages, rate: 100)
        try await cluster.waitForWorkers(2)
        let s1 = try #require(cluster.supervisors.first { $0.id == "s1" })
        let workers = Set(cluster.workerPids(of: "s1"))
        #expect(workers.count == 1)
        // A worker gets stdin, stdout and stderr from its supervisor and nothing else: none of
        // the supervisor's sockets (its heartbeat listener, ZooKeeper and nimbus connections).
        let supervisorSockets = Self.sockets(of: s1.pid)
        #expect(supervisorSockets.count >= 2, "the supervisor listens and talks to ZooKeeper")
        for worker in workers {
            let shared = Self.sockets(of: worker).intersection(supervisorSockets)
            #expect(shared.isEmpty, "worker \(worker) holds its supervisor's sockets \(shared)")
        }
        let heartbeatPort = try String(contentsOfFile: s1.dir + "/heartbeat-port", encoding: .utf8)
        let epoch = try cluster.status().epoch
        // The supervisor dies without stopping its worker and comes back at once, on the same
        // heartbeat port (no worker holds the old listener open).
        kill(s1.pid, SIGKILL)
        cluster.reap(s1.pid, grace: 5)
        try cluster.startSupervisor("s1")
        try await cluster.waitUntil("the restarted s1 reports its worker running", timeout: 30) {
            let status = try cluster.status()
            return status.workers.count == 2 && status.workers.allSatisfy { $0.state == "running" }
                && status.workers.contains { $0.supervisorId == "s1" && $0.pid.map(workers.contains) == true }
        }
        #expect(Set(cluster.workerPids(of: "s1")) == workers, "the running worker was adopted, not started again")
        #expect(cluster.workersById().values.allSatisfy { $0 == 1 })
        #expect(try String(contentsOfFile: s1.dir + "/heartbeat-port", encoding: .utf8) == heartbeatPort)
        let log = try String(contentsOfFile: cluster.root + "/s1.log", encoding: .utf8)
        #expect(!log.contains("cannot listen for heartbeats"), "the restarted supervisor bound its port again")
        try await cluster.waitUntil("every message is acked", timeout: 120) { Self.allAcked(cluster, messages) }
        // The supervisor took its ZooKeeper node over without ever being gone: nothing was moved.
        #expect(try cluster.status().epoch == epoch)
    }

    @Test func supervisorWhoseSessionExpiredRecoversWithoutDuplicateWorkers() async throws {
        let cluster = try ClusterHarness("expiry")
        defer { cluster.tearDown() }
        // Workers outlive the pause below (their orphan timeout is longer than it).
        try await Self.startCluster(cluster, orphanTimeout: 60)
        let messages = 3000
        try cluster.submit(workers: 2, messages: messages, rate: 150)
        try await cluster.waitForWorkers(2)
        let s1 = try #require(cluster.supervisors.first { $0.id == "s1" })
        // Paused for three times its 4 s session timeout: ZooKeeper expires the session and
        // nimbus moves its worker to s2's free slot.
        kill(s1.pid, SIGSTOP)
        try await cluster.waitUntil("nimbus reassigns s1's worker", timeout: 30) {
            try cluster.status().workers.allSatisfy { $0.supervisorId == "s2" }
        }
        try await Task.sleep(for: .seconds(4))
        kill(s1.pid, SIGCONT)
        try await cluster.waitUntil("s1 registers again with a new session", timeout: 30) {
            let rows = try cluster.cli(["supervisors", "--json"])
            return rows.output.contains("\"s1\"")
        }
        try await cluster.waitUntil("s1 stops the worker it no longer owns", timeout: 30) {
            cluster.workerPids(of: "s1").isEmpty
        }
        try await cluster.waitForWorkers(2)
        try await cluster.waitUntil("every message is acked", timeout: 120) { Self.allAcked(cluster, messages) }
        #expect(cluster.workersById().values.allSatisfy { $0 == 1 })
        #expect(cluster.workerPids().count == 2)
    }

    @Test func nimbusRestartedMidRunKeepsTheTopologyRunningAndAFollowerNamesTheLeader() async throws {
        let cluster = try ClusterHarness("nimbus")
        defer { cluster.tearDown() }
        try await Self.startCluster(cluster)
        let messages = 3000
        try cluster.submit(workers: 2, messages: messages, rate: 150)
        try await cluster.waitForWorkers(2)

        // A second nimbus follows and refuses writes, naming the leader.
        let followerPort = ClusterHarness.freePort()
        let follower = try cluster.spawnNimbus(port: followerPort, name: "nimbus2")
        cluster.extraPids.append(follower)
        try await cluster.waitUntil("the follower answers", timeout: 30) {
            let health = try ClusterHarness.run(cluster.gale, ["list", "--nimbus", "127.0.0.1:\(followerPort)"])
            return health.status == 0
        }

        // The leader goes away mid-run; the follower takes over and serves the status.
        kill(cluster.nimbusPid, SIGTERM)
        cluster.reap(cluster.nimbusPid, grace: 10)
        let pidsBefore = Set(cluster.workerPids())
        try await cluster.waitUntil("the new leader serves the topology's status with reports", timeout: 60) {
            let result = try ClusterHarness.run(
                cluster.gale,
                ["status", cluster.name, "--json", "--nimbus", "127.0.0.1:\(followerPort)"]
            )
            guard result.status == 0 else { return false }
            let status = try JSONDecoder().decode(NimbusAPI.TopologyStatusResponse.self, from: Data(result.output.utf8))
            return status.workers.count == 2 && status.workers.allSatisfy { $0.state == "running" }
        }
        // The old leader comes back as a follower: writes to it name the new leader.
        cluster.nimbusPid = try cluster.spawnNimbus(port: cluster.nimbusPort, name: "nimbus")
        try await cluster.waitUntil("the restarted nimbus answers", timeout: 30) {
            (try? cluster.cli(["list"]))?.status == 0
        }
        let write = try ClusterHarness.run(
            "/bin/bash",
            [
                "-c",
                "exec 3<>/dev/tcp/127.0.0.1/\(cluster.nimbusPort); printf 'POST /api/v1/topologies/\(cluster.name)/deactivate HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n' >&3; cat <&3",
            ]
        )
        #expect(write.output.contains("127.0.0.1:\(followerPort)"), "the follower names the leader: \(write.output)")

        try await cluster.waitUntil("every message is acked", timeout: 120) { Self.allAcked(cluster, messages) }
        #expect(Set(cluster.workerPids()) == pidsBefore, "workers kept running through the nimbus change")
    }

    @Test func afterTheLeaderNimbusDiesANewLeaderServesTheBinaryToASupervisorThatNeverHadIt() async throws {
        let cluster = try ClusterHarness("failover")
        defer { cluster.tearDown() }
        // The first leader's session outlives a stop long enough to see the election from the CLI.
        try await cluster.startNimbus(sessionTimeout: 20)
        let followerPort = ClusterHarness.freePort()
        cluster.extraPids.append(try cluster.spawnNimbus(port: followerPort, name: "nimbus2"))
        let both = "127.0.0.1:\(cluster.nimbusPort),127.0.0.1:\(followerPort)"
        try await cluster.waitUntil("the follower is in the election", timeout: 30) {
            let health = try ClusterHarness.run(cluster.gale, ["supervisors", "--nimbus", "127.0.0.1:\(followerPort)"])
            return health.status == 0
        }
        try cluster.startSupervisor("s1", slots: 1)
        try await cluster.waitUntil("s1 is registered", timeout: 30) {
            try cluster.cli(["supervisors", "--json"]).output.contains("\"s1\"")
        }
        // Submitted through the list of both nimbus processes: the upload is on both before it
        // is acknowledged.
        let messages = 3000
        let submitted = try ClusterHarness.run(
            cluster.gale,
            [
                "submit", cluster.topologyBinary, "--name", cluster.name, "--workers", "1", "--nimbus", both,
                "--config", "test.messages=\(messages)", "--config", "test.rate=100", "--config",
                "test.output=\(cluster.output)",
            ]
        )
        #expect(submitted.status == 0, "\(submitted.output)")
        #expect(submitted.output.contains("binary stored on 2 nimbus"), "\(submitted.output)")
        try await cluster.waitForWorkers(1)
        let digest = try cluster.status().binaryDigest
        #expect(FileManager.default.fileExists(atPath: "\(cluster.root)/nimbus2/blobs/\(digest)"))
        // A nimbus started later fetches the binary from the others.
        cluster.extraPids.append(try cluster.spawnNimbus(port: ClusterHarness.freePort(), name: "nimbus3"))
        try await cluster.waitUntil("the third nimbus fetched the binary", timeout: 30) {
            FileManager.default.fileExists(atPath: "\(cluster.root)/nimbus3/blobs/\(digest)")
        }

        // The leader hangs: until its session expires the followers still name it, and the CLI
        // says an election is under way instead of naming the silent leader as unreachable.
        kill(cluster.nimbusPid, SIGSTOP)
        let during = try ClusterHarness.run(
            cluster.gale,
            ["list", "--nimbus", "127.0.0.1:\(followerPort)", "--timeout", "2"]
        )
        #expect(during.status == 1)
        #expect(during.output.contains("no nimbus leader yet (election in progress)"), "\(during.output)")
        kill(cluster.nimbusPid, SIGKILL)
        cluster.reap(cluster.nimbusPid, grace: 5)
        cluster.nimbusPid = 0
        try await cluster.waitUntil("a new leader answers through the address list", timeout: 60) {
            try ClusterHarness.run(cluster.gale, ["list", "--nimbus", both]).status == 0
        }

        // s1 and its worker die; s2 never had the binary and gets it from the new leader.
        try cluster.startSupervisor("s2", slots: 1)
        let s1 = try #require(cluster.supervisors.first { $0.id == "s1" })
        let s1Workers = cluster.workerPids(of: "s1")
        kill(s1.pid, SIGKILL)
        for pid in s1Workers { kill(pid, SIGKILL) }
        cluster.reap(s1.pid, grace: 5)
        cluster.supervisors.removeAll { $0.id == "s1" }
        try await cluster.waitUntil("the worker runs on s2", timeout: 90) {
            let result = try ClusterHarness.run(cluster.gale, ["status", cluster.name, "--json", "--nimbus", both])
            guard result.status == 0 else { return false }
            let status = try JSONDecoder().decode(NimbusAPI.TopologyStatusResponse.self, from: Data(result.output.utf8))
            return status.workers.count == 1 && status.workers[0].supervisorId == "s2"
                && status.workers[0].state == "running" && status.problems.isEmpty
        }
        try await cluster.waitUntil("every message is acked", timeout: 120) { Self.allAcked(cluster, messages) }
    }

    @Test func rebalanceFromTwoToFourWorkersAndBackThenKillRemovesEverything() async throws {
        let cluster = try ClusterHarness("rebalance")
        defer { cluster.tearDown() }
        try await Self.startCluster(cluster)
        let messages = 4000
        try cluster.submit(workers: 2, messages: messages, rate: 100)
        try await cluster.waitForWorkers(2)
        #expect(try cluster.cli(["rebalance", cluster.name, "--workers", "4"]).status == 0)
        try await cluster.waitForWorkers(4)
        #expect(try cluster.status().epoch == 2)
        #expect(try cluster.cli(["rebalance", cluster.name, "--workers", "2", "--parallelism", "split=2"]).status == 0)
        try await cluster.waitForWorkers(2)
        let status = try cluster.status()
        #expect(status.epoch == 3)
        #expect(status.workers.flatMap(\.tasks).count == 9, "split has two tasks now: 2 + 2 + 3 + 2 ackers")
        try await cluster.waitUntil("every message is acked", timeout: 120) { Self.allAcked(cluster, messages) }

        let zk = try ZooKeeperClient(ZooKeeperConfig(connectString: cluster.zooKeeper), logger: .init(label: "test"))
        defer { zk.close() }
        #expect(try cluster.cli(["kill", cluster.name, "--wait", "1"]).status == 0)
        try await cluster.waitUntil("every worker process is gone", timeout: 30) { cluster.workerPids().isEmpty }
        try await cluster.waitUntil("the topology's znodes are gone", timeout: 30) {
            try zk.children(ClusterPaths.assignments).isEmpty && zk.children(ClusterPaths.topologies).isEmpty
        }
    }

    @Test func badInputGetsAClearErrorAndANonZeroExit() async throws {
        let cluster = try ClusterHarness("bad")
        defer { cluster.tearDown() }
        try await cluster.startNimbus()

        // Usage errors exit 64 (EX_USAGE), every other mistake 1; each is one line naming it.
        let notTopology = try cluster.cli(["submit", "/bin/true"])
        #expect(notTopology.status == 1)
        #expect(notTopology.output.contains("not a Gale topology binary"))
        // Submit runs `FILE describe` only for a Gale binary: touch is never run (it would
        // create a file named describe).
        let touch = try cluster.cli(["submit", "/usr/bin/touch"])
        #expect(touch.status == 1 && touch.output.contains("not a Gale topology binary"), "\(touch.output)")
        #expect(!FileManager.default.fileExists(atPath: FileManager.default.currentDirectoryPath + "/describe"))
        let missing = try cluster.cli(["submit", cluster.root + "/nope"])
        #expect(missing.status == 1 && missing.output.contains("no such file"))
        let directory = try cluster.cli(["submit", cluster.root])
        #expect(directory.status == 1 && directory.output.contains("is a directory"), "\(directory.output)")
        let several = try cluster.cli(["submit", cluster.binDirectory + "/kafka-stages"])
        #expect(several.status == 1, "\(several.output)")
        #expect(several.output.contains("3 topologies (parse, enrich, aggregate); choose one with --topology"))
        let unknown = try cluster.cli(["status", "nope"])
        #expect(unknown.status == 1 && unknown.output.contains("unknown topology 'nope'"))
        let badFlag = try cluster.cli(["rebalance", "nope", "--workers", "0"])
        #expect(badFlag.status == 64 && badFlag.output.contains("--workers must be positive"))
        let negativeWait = try cluster.cli(["kill", "nope", "--wait", "-1"])
        #expect(negativeWait.status == 64, "\(negativeWait.output)")
        #expect(negativeWait.output.contains("--wait must be a non-negative number of seconds, got -1"))
        let negativeSeconds = try ClusterHarness.run(cluster.topologyBinary, ["local", "--seconds", "-1"])
        #expect(negativeSeconds.status == 64, "\(negativeSeconds.output)")
        #expect(negativeSeconds.output.contains("--seconds must be a positive number, got -1"))
        let badDataDir = try ClusterHarness.run(
            cluster.gale,
            ["nimbus", "--zookeeper", cluster.zooKeeper, "--port", "0", "--data-dir", "/proc/nope"]
        )
        #expect(badDataDir.status == 1)
        #expect(badDataDir.output.contains("cannot use data directory /proc/nope: No such file or directory"))
        let badConfig = try cluster.cli(["submit", cluster.topologyBinary, "--config", "topology.workers=zero"])
        #expect(badConfig.status != 0 && badConfig.output.contains("topology.workers"))

        let closed = ClusterHarness.freePort()
        let unreachable = try ClusterHarness.run(cluster.gale, ["list", "--nimbus", "127.0.0.1:\(closed)"])
        #expect(unreachable.status != 0 && unreachable.output.contains("nimbus unreachable"))
        let started = Date()
        let noZooKeeper = try ClusterHarness.run(
            cluster.gale,
            [
                "nimbus", "--zookeeper", "127.0.0.1:\(closed)", "--port", "0", "--data-dir", cluster.root + "/nz",
                "--log-level", "critical",
            ],
            timeout: 60
        )
        #expect(noZooKeeper.status != 0)
        #expect(noZooKeeper.output.contains("127.0.0.1:\(closed)"))
        // The ZooKeeper C client logs through swift-log at the process's level: nothing at critical.
        #expect(!noZooKeeper.output.contains("ZOO_"), "\(noZooKeeper.output)")
        #expect(noZooKeeper.output.split(separator: "\n").count == 1, "\(noZooKeeper.output)")
        #expect(Date().timeIntervalSince(started) < 30)

        // A binary whose stored blob no longer matches its digest is never launched.
        try cluster.submit(workers: 1, messages: 10, rate: 0)
        let blobs = cluster.root + "/nimbus/blobs"
        let blob = try #require(try FileManager.default.contentsOfDirectory(atPath: blobs).first { $0.count == 64 })
        let handle = try #require(FileHandle(forUpdatingAtPath: "\(blobs)/\(blob)"))
        handle.seek(toFileOffset: 1000)
        handle.write(Data([0xde, 0xad, 0xbe, 0xef]))
        try handle.close()
        try cluster.startSupervisor("s1", slots: 1)
        try await cluster.waitUntil("the digest mismatch is reported", timeout: 30) {
            try cluster.status().errors.contains { $0.contains("digest mismatch") }
        }
        #expect(cluster.workerPids().isEmpty)
        let stranded = try cluster.status()
        #expect(stranded.workers.map(\.state) == ["no-binary"])
        #expect(stranded.problems.contains { $0.contains("cannot get the binary") }, "\(stranded.problems)")
        let noSuchComponent = try cluster.cli(["rebalance", cluster.name, "--parallelism", "nosuch=3"])
        #expect(noSuchComponent.status == 1)
        #expect(
            noSuchComponent.output.contains(
                "topology '\(cluster.name)' has no component 'nosuch'; its components are sentences, split, count"
            ),
            "\(noSuchComponent.output)"
        )
        #expect(try cluster.cli(["kill", cluster.name, "--wait", "0"]).status == 0)

        // Without ZooKeeper, nimbus answers at once that ZooKeeper is unavailable.
        cluster.stopZooKeeper()
        try await cluster.waitUntil("nimbus says ZooKeeper is unavailable", timeout: 30) {
            let list = try cluster.cli(["list", "--timeout", "5"])
            return list.status == 1 && list.output.contains("ZooKeeper (\(cluster.zooKeeper)) is unavailable")
        }
    }
}
