import Foundation
import GaleCoordination
import GaleDaemons
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

    @Test func wordCountOnFourWorkersAcksEveryMessageWithExactCountsAndNoZooKeeperWritesInSteadyState() throws {
        let cluster = try ClusterHarness("wc4")
        defer { cluster.tearDown() }
        try cluster.startNimbus()
        try cluster.startSupervisor("s1")
        try cluster.startSupervisor("s2")
        let messages = 2000
        let submitted = Date()
        try cluster.submit(workers: 4, messages: messages, rate: 400)
        try cluster.waitUntil("the first message is acked", timeout: 60) { !cluster.ackedIds().isEmpty }
        print("submit to first ack: \(String(format: "%.2f", Date().timeIntervalSince(submitted))) s")
        try cluster.waitUntil("every message is acked", timeout: 90) { Self.allAcked(cluster, messages) }
        let truth = ClusterHarness.groundTruth(messages: messages)
        try cluster.waitUntil("the counts equal the ground truth", timeout: 30) { cluster.counts() == truth }
        #expect(cluster.counts() == truth)

        let status = try cluster.status()
        #expect(status.workers.count == 4)
        #expect(Set(status.workers.map(\.supervisorId)) == ["s1", "s2"])
        try cluster.waitUntil("every worker reports", timeout: 20) {
            try cluster.status().workers.allSatisfy { $0.state == "running" }
        }
        let spout = try #require(try cluster.status().components.first { $0.id == "sentences" })
        #expect(spout.acked >= UInt64(messages))
        #expect(spout.failed == 0)
        #expect(cluster.workersById().values.allSatisfy { $0 == 1 })
        #expect(cluster.workersById().count == 4)

        let table = try cluster.cli(["status", "wc"])
        #expect(table.status == 0)
        #expect(table.output.contains("COMPONENT") && table.output.contains("sentences") && table.output.contains("SUPERVISOR"))

        // Steady state: heartbeats and statistics flow, ZooKeeper sees no writes.
        let before = try cluster.zxid()
        Thread.sleep(forTimeInterval: 30)
        #expect(try cluster.zxid() == before)

        // Kill removes every worker process and the topology's znodes.
        #expect(try cluster.cli(["kill", "wc", "--wait", "1"]).status == 0)
        try cluster.waitUntil("every worker process is gone", timeout: 30) { cluster.workerPids().isEmpty }
        try cluster.waitUntil("the topology is gone", timeout: 10) {
            try cluster.cli(["status", "wc"]).status != 0
        }
        let zk = try ZooKeeperClient(ZooKeeperConfig(connectString: cluster.zooKeeper), logger: .init(label: "test"))
        defer { zk.close() }
        #expect(try zk.children(ClusterPaths.assignments).filter { $0.hasPrefix("wc-") }.isEmpty)
        #expect(try zk.children(ClusterPaths.topologies).filter { $0.hasPrefix("wc-") }.isEmpty)
    }

    @Test func killedWorkerIsRestartedAndTheRunCompletes() throws {
        let cluster = try ClusterHarness("kill9")
        defer { cluster.tearDown() }
        try cluster.startNimbus()
        try cluster.startSupervisor("s1")
        try cluster.startSupervisor("s2")
        let messages = 3000
        try cluster.submit(workers: 4, messages: messages, rate: 150)
        try cluster.waitUntil("some messages are acked", timeout: 60) { cluster.ackedIds().count > 200 }
        try cluster.waitUntil("every worker reports a pid", timeout: 20) {
            try cluster.status().workers.allSatisfy { $0.pid != nil && $0.state == "running" }
        }
        let victim = try #require(try cluster.status().workers.first)
        let pid = try #require(victim.pid)
        let killedAt = Date()
        kill(pid, SIGKILL)
        try cluster.waitUntil("the worker runs again with a new pid", timeout: 30) {
            cluster.workerPids().count == 4 && !cluster.workerPids().contains(pid)
        }
        print("worker restart after kill -9: \(String(format: "%.2f", Date().timeIntervalSince(killedAt))) s")
        try cluster.waitUntil("every message is acked", timeout: 120) { Self.allAcked(cluster, messages) }
        try cluster.waitUntil("the restart is reported", timeout: 20) {
            try cluster.status().workers.contains { $0.restarts >= 1 }
        }
        #expect(cluster.workersById().values.allSatisfy { $0 == 1 })
    }

    @Test func killedSupervisorsWorkersMoveToTheOtherSupervisor() throws {
        let cluster = try ClusterHarness("supkill")
        defer { cluster.tearDown() }
        try cluster.startNimbus()
        try cluster.startSupervisor("s1")
        try cluster.startSupervisor("s2")
        let messages = 3000
        try cluster.submit(workers: 2, messages: messages, rate: 150)
        try cluster.waitUntil("some messages are acked", timeout: 60) { cluster.ackedIds().count > 200 }
        #expect(Set(try cluster.status().workers.map(\.supervisorId)) == ["s1", "s2"])
        let s2 = try #require(cluster.supervisors.first { $0.id == "s2" })
        kill(s2.pid, SIGKILL)
        cluster.reap(s2.pid, grace: 5)
        // Its orphaned workers stop on their own (orphan timeout); kill them now to be quick.
        try cluster.waitUntil("both workers run on s1", timeout: 60) {
            let status = try cluster.status()
            return status.workers.count == 2 && status.workers.allSatisfy { $0.supervisorId == "s1" && $0.state == "running" }
        }
        try cluster.waitUntil("every message is acked", timeout: 120) { Self.allAcked(cluster, messages) }
    }

    @Test func supervisorSurvivesSessionExpiryWithoutDuplicateWorkers() throws {
        let cluster = try ClusterHarness("expiry")
        defer { cluster.tearDown() }
        try cluster.startNimbus()
        try cluster.startSupervisor("s1", slots: 2, sessionTimeout: 2)
        let messages = 2000
        try cluster.submit(workers: 2, messages: messages, rate: 100)
        try cluster.waitUntil("some messages are acked", timeout: 60) { cluster.ackedIds().count > 100 }
        let s1 = try #require(cluster.supervisors.first)
        // Paused past its session timeout, the supervisor's session expires.
        kill(s1.pid, SIGSTOP)
        try cluster.waitUntil("nimbus sees the supervisor gone", timeout: 30) {
            let rows = try cluster.cli(["supervisors", "--json"])
            return rows.status == 0 && !rows.output.contains("\"s1\"")
        }
        kill(s1.pid, SIGCONT)
        try cluster.waitUntil("the supervisor is registered again", timeout: 30) {
            try cluster.cli(["supervisors", "--json"]).output.contains("\"s1\"")
        }
        try cluster.waitUntil("every message is acked", timeout: 120) { Self.allAcked(cluster, messages) }
        try cluster.waitUntil("two workers run", timeout: 30) { cluster.workerPids().count == 2 }
        #expect(cluster.workersById().values.allSatisfy { $0 == 1 })
    }

    @Test func nimbusRestartKeepsTheTopologyRunningAndAFollowerNamesTheLeader() throws {
        let cluster = try ClusterHarness("nimbus")
        defer { cluster.tearDown() }
        try cluster.startNimbus()
        try cluster.startSupervisor("s1")
        let messages = 3000
        try cluster.submit(workers: 2, messages: messages, rate: 150)
        try cluster.waitUntil("some messages are acked", timeout: 60) { cluster.ackedIds().count > 100 }
        let pids = Set(cluster.workerPids())

        // A second nimbus is a follower: it refuses API calls, naming the leader.
        let followerPort = ClusterHarness.freePort()
        let follower = try ClusterHarness.spawn(
            cluster.gale,
            ["nimbus", "--zookeeper", cluster.zooKeeper, "--port", String(followerPort), "--data-dir", cluster.root + "/nimbus2"],
            log: cluster.root + "/nimbus2.log"
        )
        cluster.extraPids.append(follower)
        try cluster.waitUntil("the follower answers", timeout: 30) {
            let r = try ClusterHarness.run("/usr/bin/curl", ["-s", "http://127.0.0.1:\(followerPort)/api/v1/topologies"])
            return r.output.contains("not the leader") && r.output.contains(cluster.nimbus)
        }
        kill(follower, SIGTERM)
        cluster.reap(follower, grace: 10)

        kill(cluster.nimbusPid, SIGTERM)
        cluster.reap(cluster.nimbusPid, grace: 10)
        let ackedWhileDown = cluster.ackedIds().count
        try cluster.waitUntil("acks continue without nimbus", timeout: 30) { cluster.ackedIds().count > ackedWhileDown + 50 }
        try cluster.startNimbus()
        try cluster.waitUntil("the new nimbus serves the status", timeout: 30) {
            let status = try cluster.status()
            return status.workers.count == 2 && status.workers.allSatisfy { $0.state == "running" }
        }
        #expect(Set(cluster.workerPids()) == pids)
        try cluster.waitUntil("every message is acked", timeout: 120) { Self.allAcked(cluster, messages) }
    }

    @Test func rebalanceChangesTheWorkerCountBothWays() throws {
        let cluster = try ClusterHarness("rebalance")
        defer { cluster.tearDown() }
        try cluster.startNimbus()
        try cluster.startSupervisor("s1")
        try cluster.startSupervisor("s2")
        try cluster.submit(workers: 2, messages: 100_000, rate: 50)
        try cluster.waitUntil("two workers run", timeout: 60) { cluster.workerPids().count == 2 }
        #expect(try cluster.cli(["rebalance", "wc", "--workers", "4"]).status == 0)
        try cluster.waitUntil("four workers run and report", timeout: 60) {
            let status = try cluster.status()
            return cluster.workerPids().count == 4 && status.workers.count == 4 && status.workers.allSatisfy { $0.state == "running" }
        }
        let acked = cluster.ackedIds().count
        try cluster.waitUntil("acks continue on four workers", timeout: 30) { cluster.ackedIds().count > acked + 20 }
        #expect(try cluster.cli(["rebalance", "wc", "--workers", "2", "--parallelism", "split=2"]).status == 0)
        try cluster.waitUntil("two workers run again", timeout: 60) {
            cluster.workerPids().count == 2 && (try cluster.status().workers.count) == 2
        }
        let again = cluster.ackedIds().count
        try cluster.waitUntil("acks continue on two workers", timeout: 30) { cluster.ackedIds().count > again + 20 }
        #expect(try cluster.cli(["kill", "wc", "--wait", "0"]).status == 0)
        try cluster.waitUntil("every worker process is gone", timeout: 30) { cluster.workerPids().isEmpty }
    }

    @Test func badInputGetsAClearErrorAndANonZeroExit() throws {
        let cluster = try ClusterHarness("bad")
        defer { cluster.tearDown() }
        try cluster.startNimbus()

        let notTopology = try cluster.cli(["submit", "/bin/true"])
        #expect(notTopology.status != 0)
        #expect(notTopology.output.contains("not a Gale topology binary"))
        let missing = try cluster.cli(["submit", cluster.root + "/nope"])
        #expect(missing.status != 0 && missing.output.contains("no such file"))
        let unknown = try cluster.cli(["status", "nope"])
        #expect(unknown.status != 0 && unknown.output.contains("unknown topology 'nope'"))
        let badFlag = try cluster.cli(["rebalance", "nope", "--workers", "0"])
        #expect(badFlag.status != 0 && badFlag.output.contains("--workers must be positive"))
        let badConfig = try cluster.cli(["submit", cluster.topologyBinary, "--config", "topology.workers=zero"])
        #expect(badConfig.status != 0 && badConfig.output.contains("topology.workers"))

        let closed = ClusterHarness.freePort()
        let unreachable = try ClusterHarness.run(cluster.gale, ["list", "--nimbus", "127.0.0.1:\(closed)"])
        #expect(unreachable.status != 0 && unreachable.output.contains("nimbus unreachable"))
        let started = Date()
        let noZooKeeper = try ClusterHarness.run(
            cluster.gale,
            ["nimbus", "--zookeeper", "127.0.0.1:\(closed)", "--port", "0", "--data-dir", cluster.root + "/nz"],
            timeout: 60
        )
        #expect(noZooKeeper.status != 0)
        #expect(noZooKeeper.output.contains("127.0.0.1:\(closed)"))
        #expect(Date().timeIntervalSince(started) < 30)

        // A binary whose stored blob no longer matches its digest is never launched.
        try cluster.submit(workers: 1, messages: 10, rate: 0)
        let blobs = cluster.root + "/nimbus/blobs"
        let blob = try #require(try FileManager.default.contentsOfDirectory(atPath: blobs).first)
        let handle = try #require(FileHandle(forUpdatingAtPath: "\(blobs)/\(blob)"))
        handle.seek(toFileOffset: 1000)
        handle.write(Data([0xde, 0xad, 0xbe, 0xef]))
        try handle.close()
        try cluster.startSupervisor("s1", slots: 1)
        try cluster.waitUntil("the digest mismatch is reported", timeout: 30) {
            try cluster.status().errors.contains { $0.contains("digest mismatch") }
        }
        #expect(cluster.workerPids().isEmpty)
    }
}
