import Foundation
import Gale
import GaleCoordination
import GaleDaemons
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A cluster over separate hosts: ZooKeeper, two nimbus processes and three supervisors, each in a
/// network namespace of its own with its own address (``NetworkNamespaces``); workers talk across
/// namespaces. Every host uses the same ports (nimbus 8080, slots 6700 and 6701), as real hosts do.
final class MultiHostCluster: @unchecked Sendable {
    static let nimbusHosts = ["n1", "n2"]
    static let supervisorHosts = ["s1", "s2", "s3"]
    static let nimbusPort = 8080
    static let slots = [6700, 6701]
    static let sessionTimeout = 4.0
    static let workerTimeout = 10.0
    static let orphanTimeout = 10.0

    let net: NetworkNamespaces
    let cluster: ClusterHarness
    var nimbusPids: [String: pid_t] = [:]

    init(_ name: String) throws {
        let net = try NetworkNamespaces(hosts: ["zk"] + Self.nimbusHosts + Self.supervisorHosts)
        do {
            cluster = try ClusterHarness("mh-\(name)") { directory in
                try ClusterHarness.startZooKeeper(
                    stateDirectory: directory,
                    launcher: net.launcher("zk"),
                    host: net.address("zk")
                )
            }
            // Hosts that others reach: authentication, HTTPS, mutual TLS between workers and
            // ZooKeeper ACLs on, as a real cluster has them (each nimbus's certificate names its
            // address; the workers, which check no names, use the same certificate).
            try cluster.secure(
                zookeeperAuth: ZooKeeperAuth(user: "gale", password: UUID().uuidString),
                tls: true,
                tlsNames: Self.nimbusHosts.map { "IP:\(net.address($0))" },
                transportTLS: true
            )
        } catch {
            net.tearDown()
            throw error
        }
        self.net = net
        cluster.nimbusAddresses = Self.nimbusHosts.map { nimbusAddress($0) }.joined(separator: ",")
    }

    func nimbusAddress(_ host: String) -> String { "\(net.address(host)):\(Self.nimbusPort)" }

    /// Starts ZooKeeper's users: both nimbus processes, then the three supervisors; waits until
    /// a leader answers the CLI and every supervisor is registered.
    func start() async throws {
        for host in Self.nimbusHosts { try startNimbus(host) }
        try await cluster.waitUntil("a nimbus leader answers through the address list", timeout: 30) {
            try cluster.cli(["list"]).status == 0
        }
        for host in Self.supervisorHosts { try startSupervisor(host) }
        try await cluster.waitUntil("all three supervisors are registered", timeout: 30) {
            let rows = try cluster.cli(["supervisors", "--json"]).output
            return Self.supervisorHosts.allSatisfy { rows.contains("\"\($0)\"") }
        }
    }

    func startNimbus(_ host: String) throws {
        let command =
            net.launcher(host) + [
                cluster.gale, "nimbus", "--zookeeper", cluster.zooKeeper, "--host", net.address(host), "--port",
                String(Self.nimbusPort), "--data-dir", "\(cluster.root)/\(host)", "--session-timeout",
                String(Self.sessionTimeout), "--worker-timeout", String(Self.workerTimeout),
            ] + cluster.configArguments
        let pid = try ClusterHarness.spawn(command[0], Array(command.dropFirst()), log: "\(cluster.root)/\(host).log")
        nimbusPids[host] = pid
        cluster.extraPids.append(pid)
    }

    func startSupervisor(_ host: String) throws {
        let dir = "\(cluster.root)/\(host)"
        let command =
            net.launcher(host) + [
                cluster.gale, "supervisor", "--zookeeper", cluster.zooKeeper, "--nimbus", cluster.nimbus, "--host",
                net.address(host), "--slots", Self.slots.map(String.init).joined(separator: ","), "--data-dir", dir,
                "--id", host, "--session-timeout", String(Self.sessionTimeout), "--orphan-timeout",
                String(Self.orphanTimeout),
            ] + cluster.configArguments + ClusterHarness.workerArguments
        let pid = try ClusterHarness.spawn(command[0], Array(command.dropFirst()), log: "\(cluster.root)/\(host).log")
        cluster.supervisors.append((host, pid, Self.slots, dir))
    }

    /// Stops the daemons and their workers and ZooKeeper, deletes the copies of the topology
    /// binary (``ClusterHarness/tearDown()``), then removes the namespaces; the logs stay.
    func tearDown() {
        cluster.tearDown()
        net.tearDown()
    }

    /// Worker processes per `<supervisor>/<worker id>` (ids repeat across hosts: same ports).
    func workersByHost() -> [String: Int] {
        var result: [String: Int] = [:]
        for supervisor in cluster.supervisors {
            for pid in cluster.workerPids(of: supervisor.id) {
                guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
                let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                guard let file = args.last else { continue }
                let id = URL(fileURLWithPath: file).deletingLastPathComponent().lastPathComponent
                result["\(supervisor.id)/\(id)", default: 0] += 1
            }
        }
        return result
    }

    /// The assigned workers as `<supervisor>/<worker id>` (`<topology id>-<port>`).
    func assignedWorkers(_ status: NimbusAPI.TopologyStatusResponse) -> Set<String> {
        Set(status.workers.map { "\($0.supervisorId)/\(status.id)-\($0.port)" })
    }

    /// Whether exactly the assigned workers run, each once, and every one reports running.
    func runsExactlyTheAssignment(_ count: Int) throws -> Bool {
        let status = try cluster.status()
        let running = workersByHost()
        return status.workers.count == count && status.workers.allSatisfy { $0.state == "running" }
            && Set(running.keys) == assignedWorkers(status) && running.values.allSatisfy { $0 == 1 }
            && cluster.workerPids().count == count
    }

    /// Waits until ``runsExactlyTheAssignment(_:)``.
    func waitForWorkers(_ count: Int, timeout: Double = 60) async throws {
        try await cluster.waitUntil("\(count) workers run, one process per assigned worker", timeout: timeout) {
            try runsExactlyTheAssignment(count)
        }
    }

    /// The ids in 0..<messages no spout recorded as acked.
    func missingIds(_ messages: Int) -> [Int] {
        let acked = cluster.ackedIds()
        return (0..<messages).filter { acked[$0] == nil }
    }

    /// Waits until every id in 0..<messages is acked; the failure names the missing ids.
    func waitForAllAcked(_ messages: Int, timeout: Double = 120) async throws {
        do {
            try await cluster.waitUntil("every message is acked", timeout: timeout) { missingIds(messages).isEmpty }
        } catch {
            let missing = missingIds(messages)
            throw SmokeTestFailure("\(error); \(missing.count) ids missing: \(missing.prefix(50))")
        }
    }

    /// `GET /api/v1/health` of the nimbus on `host`.
    func health(_ host: String) async -> NimbusAPI.Health? {
        let client = HTTPClient(
            timeout: .seconds(2),
            tls: cluster.tlsDirectory.flatMap { try? HTTPClientTLS(caFile: $0 + "/ca.pem") }
        )
        guard let response = try? await client.send("GET", address: nimbusAddress(host), path: "/api/v1/health"),
            response.status == 200
        else { return nil }
        return try? JSONDecoder().decode(NimbusAPI.Health.self, from: Data(response.body))
    }
}

/// Multi-host tests: separate hosts in network namespaces on this machine. They need root (CI
/// runs as root here); elsewhere they are skipped, saying why.
@Suite(
    .serialized,
    .timeLimit(.minutes(10)),
    .enabled(if: NetworkNamespaces.unavailableReason == nil, Comment(rawValue: NetworkNamespaces.skipReason))
)
struct MultiHostClusterTests {
    @Test func topologySpreadOverThreeHostsAcksFromEveryWorker() async throws {
        let hosts = try MultiHostCluster("spread")
        defer { hosts.tearDown() }
        let cluster = hosts.cluster
        try await hosts.start()
        let messages = 1500
        try cluster.submit(workers: 3, messages: messages, rate: 100)
        try await hosts.waitForWorkers(3)
        let status = try cluster.status()
        #expect(Set(status.workers.map(\.supervisorId)) == Set(MultiHostCluster.supervisorHosts))
        #expect(Set(status.workers.map(\.host)) == Set(MultiHostCluster.supervisorHosts.map { hosts.net.address($0) }))

        try await hosts.waitForAllAcked(messages)
        let acked = cluster.ackedIds()
        #expect(acked.values.allSatisfy { $0 == 1 }, "no failures, so no message is acked twice")
        try await cluster.waitUntil("the counts equal the ground truth", timeout: 30) {
            cluster.counts() == ClusterHarness.groundTruth(messages: messages)
        }
        // Every worker did its share: each runs a spout task that acked, or a count task that
        // counted the words other hosts' tasks sent it.
        let files = Set((try? FileManager.default.contentsOfDirectory(atPath: cluster.output)) ?? [])
        for worker in status.workers {
            let worked = worker.tasks.contains { task in
                files.contains("counts-\(task).json")
                    || (files.contains("acked-\(task).txt")
                        && (FileManager.default.contents(atPath: "\(cluster.output)/acked-\(task).txt")?.isEmpty
                            == false))
            }
            #expect(worked, "the worker on \(worker.supervisorId) (tasks \(worker.tasks)) acked or counted nothing")
        }
        try await cluster.waitUntil("status shows every message acked", timeout: 30) {
            try cluster.status().components.first { $0.id == "sentences" }?.acked == UInt64(messages)
        }
        // Across hosts, every connection between workers is mutual TLS, though no certificate
        // names a supervisor's address.
        for supervisor in cluster.supervisors {
            let connected = TransportTLSClusterTests.workerLogLines(supervisor.dir, containing: "connected to peer")
            #expect(connected.count >= 2 && connected.allSatisfy { $0.contains("tls=TLS 1.3") }, "\(connected)")
        }
        print("multi-host: spread over \(status.workers.count) hosts, ids lost = \(hosts.missingIds(messages).count)")
    }

    @Test func cuttingASupervisorHostsLinkMovesItsWorkerAndRestoringItLeavesNoDuplicates() async throws {
        let hosts = try MultiHostCluster("cut")
        defer { hosts.tearDown() }
        let cluster = hosts.cluster
        try await hosts.start()
        // About 25 s of traffic (two spout tasks at 60/s each), so that acks go on after the move.
        let messages = 3000
        try cluster.submit(workers: 3, messages: messages, rate: 60)
        try await hosts.waitForWorkers(3)
        try await cluster.waitUntil("the first message is acked", timeout: 30) { !cluster.ackedIds().isEmpty }

        // The host of the worker with the first spout task loses its link.
        let before = try cluster.status()
        let victim = try #require(before.workers.first(where: { $0.tasks.contains(1) })?.supervisorId)
        let survivors = Set(MultiHostCluster.supervisorHosts).subtracting([victim])
        let cutAt = Date()
        try hosts.net.cut(victim)
        var restored = false
        defer { if !restored { try? hosts.net.restore(victim) } }

        try await cluster.waitUntil("nimbus moves \(victim)'s worker to the other hosts", timeout: 60) {
            let workers = try cluster.status().workers
            return workers.count == 3 && workers.allSatisfy { survivors.contains($0.supervisorId) }
        }
        let assignedAfter = Date().timeIntervalSince(cutAt)
        try await cluster.waitUntil("the moved worker runs", timeout: 60) {
            let workers = try cluster.status().workers
            return workers.count == 3
                && workers.allSatisfy { survivors.contains($0.supervisorId) && $0.state == "running" }
        }
        let runningAfter = Date().timeIntervalSince(cutAt)
        // The topology keeps acking while the host is still cut off.
        let ackedAtMove = cluster.ackedIds().count
        try await cluster.waitUntil("messages are acked after the move, the link still cut", timeout: 60) {
            cluster.ackedIds().count >= min(messages, ackedAtMove + 100)
        }
        let ackingAfter = Date().timeIntervalSince(cutAt)
        #expect(
            assignedAfter < MultiHostCluster.workerTimeout,
            "reassigned \(assignedAfter) s after the cut, more than --worker-timeout \(MultiHostCluster.workerTimeout) s"
        )

        try hosts.net.restore(victim)
        restored = true
        let restoredAt = Date()
        try await cluster.waitUntil("\(victim) registers again", timeout: 60) {
            try cluster.cli(["supervisors", "--json"]).output.contains("\"\(victim)\"")
        }
        try await cluster.waitUntil("\(victim) stops the worker it no longer owns", timeout: 60) {
            cluster.workerPids(of: victim).isEmpty
        }
        let cleanAfter = Date().timeIntervalSince(restoredAt)
        try await hosts.waitForWorkers(3)
        try await hosts.waitForAllAcked(messages)
        #expect(try hosts.runsExactlyTheAssignment(3), "each worker runs exactly once: \(hosts.workersByHost())")
        #expect(try cluster.status().workers.allSatisfy { survivors.contains($0.supervisorId) })
        let lost = hosts.missingIds(messages).count
        #expect(lost == 0)
        print(
            "multi-host: reassignment after link cut took \(seconds(runningAfter)) s (assigned \(seconds(assignedAfter)) s, "
                + "running \(seconds(runningAfter)) s, acking again \(seconds(ackingAfter)) s after the cut; "
                + "--worker-timeout \(seconds(MultiHostCluster.workerTimeout)) s, session \(seconds(MultiHostCluster.sessionTimeout)) s); "
                + "\(victim)'s old worker stopped \(seconds(cleanAfter)) s after the link came back; ids lost = \(lost)"
        )
    }

    @Test func killingTheLeaderNimbusLetsTheOtherTakeOverAndTheCLIFollowsIt() async throws {
        let hosts = try MultiHostCluster("leader")
        defer { hosts.tearDown() }
        let cluster = hosts.cluster
        try await hosts.start()
        let messages = 3000
        try cluster.submit(workers: 3, messages: messages, rate: 60)
        try await hosts.waitForWorkers(3)
        try await cluster.waitUntil("the first message is acked", timeout: 30) { !cluster.ackedIds().isEmpty }

        var leader: String?
        for host in MultiHostCluster.nimbusHosts {
            if await hosts.health(host)?.leader == true { leader = host }
        }
        let old = try #require(leader)
        let other = try #require(MultiHostCluster.nimbusHosts.first { $0 != old })
        // The CLI is given the dead leader first.
        cluster.nimbusAddresses = [old, other].map { hosts.nimbusAddress($0) }.joined(separator: ",")
        let workersBefore = Set(cluster.workerPids())
        let pid = try #require(hosts.nimbusPids[old])
        let killedAt = Date()
        kill(pid, SIGKILL)
        ClusterHarness.reap(pid, grace: 5)
        cluster.extraPids.removeAll { $0 == pid }

        try await cluster.waitUntil("\(other) becomes the leader", timeout: 60) {
            (try? cluster.cli(["list"]))?.status == 0
        }
        let takeover = Date().timeIntervalSince(killedAt)
        #expect(await hosts.health(other)?.leader == true)
        // The CLI follows the new leader for writes as well.
        #expect(try cluster.cli(["deactivate", cluster.name]).output.contains("inactive"))
        #expect(try cluster.cli(["activate", cluster.name]).output.contains("active"))
        // The new leader knows the workers' states from the supervisors' next reports (every 2 s).
        try await cluster.waitUntil("the new leader reports the three workers running", timeout: 30) {
            let workers = try cluster.status().workers
            return workers.count == 3 && workers.allSatisfy { $0.state == "running" }
        }
        let reporting = Date().timeIntervalSince(killedAt)

        try await hosts.waitForAllAcked(messages)
        #expect(Set(cluster.workerPids()) == workersBefore, "workers kept running through the takeover")
        let lost = hosts.missingIds(messages).count
        #expect(lost == 0)
        print(
            "multi-host: nimbus takeover after kill -9 of the leader took \(seconds(takeover)) s "
                + "(session \(seconds(MultiHostCluster.sessionTimeout)) s; workers reported running by the new leader "
                + "\(seconds(reporting)) s after the kill); ids lost = \(lost)"
        )
    }
}

/// `x` with one decimal.
private func seconds(_ x: Double) -> String { String(format: "%.1f", x) }
