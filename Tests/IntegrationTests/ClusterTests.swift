import Foundation
import Logging
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

    @Test func submitSchedulesTasksOverBothSupervisorsWhoFetchTheVerifiedBinaryAndKillRemovesIt() throws {
        let cluster = try ClusterHarness("schedule")
        defer { cluster.tearDown() }
        try cluster.startNimbus()
        try cluster.startSupervisor("s1")
        try cluster.startSupervisor("s2")
        try cluster.waitUntil("both supervisors are registered", timeout: 30) {
            let rows = try cluster.cli(["supervisors", "--json"])
            return rows.output.contains("\"s1\"") && rows.output.contains("\"s2\"")
        }
        try cluster.submit(workers: 4, messages: 10, rate: 0)
        try cluster.waitUntil("four workers are assigned", timeout: 30) { try cluster.status().workers.count == 4 }
        let status = try cluster.status()
        #expect(Set(status.workers.map(\.supervisorId)) == ["s1", "s2"])
        #expect(status.workers.flatMap(\.tasks).sorted() == Array(1...10))
        #expect(Set(status.workers.map(\.port)).count == 4)
        #expect(status.epoch == 1)
        // Each supervisor downloads the binary from nimbus and checks its SHA-256 before launching.
        for s in cluster.supervisors {
            try cluster.waitUntil("\(s.id) holds the verified binary", timeout: 30) {
                let dir = "\(s.dir)/topologies/\(status.binaryDigest)"
                return FileManager.default.isExecutableFile(atPath: "\(dir)/cluster-wordcount")
            }
        }
        let list = try cluster.cli(["list"])
        #expect(list.status == 0 && list.output.contains(cluster.name) && list.output.contains("active"))
        #expect(try cluster.cli(["deactivate", cluster.name]).output.contains("inactive"))
        #expect(try cluster.cli(["activate", cluster.name]).output.contains("active"))
        #expect(try cluster.cli(["rebalance", cluster.name, "--workers", "2"]).status == 0)
        try cluster.waitUntil("two workers are assigned", timeout: 30) {
            let s = try cluster.status()
            return s.workers.count == 2 && s.epoch == 2
        }
        let zk = try ZooKeeperClient(ZooKeeperConfig(connectString: cluster.zooKeeper), logger: .init(label: "test"))
        defer { zk.close() }
        let before = try cluster.zxid()
        Thread.sleep(forTimeInterval: 5)
        #expect(try cluster.zxid() == before, "no ZooKeeper writes in steady state")
        #expect(try cluster.cli(["kill", cluster.name, "--wait", "0"]).status == 0)
        try cluster.waitUntil("the topology is gone", timeout: 20) { try cluster.cli(["status", cluster.name]).status != 0 }
        #expect(try zk.children(ClusterPaths.assignments).filter { $0.hasPrefix(cluster.name + "-") }.isEmpty)
        #expect(try zk.children(ClusterPaths.topologies).filter { $0.hasPrefix(cluster.name + "-") }.isEmpty)
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
        #expect(try cluster.cli(["kill", cluster.name, "--wait", "0"]).status == 0)
    }
}
