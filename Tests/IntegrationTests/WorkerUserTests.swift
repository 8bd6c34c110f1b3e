import Foundation
import GaleCoordination
import GaleDaemons
import GaleTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `supervisor.worker.user`: a supervisor running as root starts its workers as that user, each
/// topology's workers in a group of their own, and a worker of one topology cannot read
/// another's directory; a supervisor that cannot run its workers so refuses to start.
@Suite(.serialized) struct WorkerUserTests {
    static let isRoot = geteuid() == 0

    static func status(_ pid: pid_t) -> [String: String] { processStatus(pid) }

    /// `command` run as user `uid` in group `gid` without supplementary groups: what a worker of
    /// that topology may do.
    static func runAs(_ uid: UInt32, _ gid: UInt32, _ command: [String]) throws -> (status: Int32, output: String) {
        try ClusterHarness.run(
            "/usr/bin/setpriv",
            ["--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--"] + command
        )
    }

    static func info(_ path: String) -> FileInfo { FileInfo(path) }

    @Test(.enabled(if: isRoot, "only a supervisor running as root starts its workers as another user"))
    func workersOfTwoTopologiesRunAsTheUserEachInItsOwnGroupAndCannotReadTheOthersDirectory() async throws {
        let user = try #require(ClusterHarness.workerUser.flatMap(WorkerUser.lookUp))
        let cluster = try ClusterHarness("workeruser")
        defer { cluster.tearDown() }
        try cluster.secure(zookeeperAuth: ZooKeeperAuth(user: "gale", password: UUID().uuidString))
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1", slots: 2)
        try await cluster.waitUntil("the supervisor is registered", timeout: 30) {
            try cluster.cli(["supervisors", "--json"]).output.contains("\"s1\"")
        }
        let messages = 100
        try cluster.submit(workers: 1, messages: messages, rate: 0)
        let other = cluster.name + "b"
        let otherOutput = cluster.root + "/output-b"
        try FileManager.default.createDirectory(atPath: otherOutput, withIntermediateDirectories: true)
        ClusterHarness.shareWithWorkers(otherOutput)
        let submitted = try cluster.cli([
            "submit", cluster.topologyBinary, "--name", other, "--workers", "1", "--config",
            "test.messages=\(messages)", "--config", "test.rate=0", "--config", "test.output=\(otherOutput)",
        ])
        #expect(submitted.status == 0, "\(submitted.output)")
        func status(_ name: String) throws -> NimbusAPI.TopologyStatusResponse {
            let result = try cluster.cli(["status", name, "--json"])
            return try JSONDecoder().decode(NimbusAPI.TopologyStatusResponse.self, from: Data(result.output.utf8))
        }
        // Running, and writing where the tests read: the workers' user may write there.
        try await cluster.waitUntil("both topologies ack every message", timeout: 90) {
            let ledgers = [cluster.output, otherOutput].map { dir in
                ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("acked-") }
                    .flatMap { file in
                        ((try? String(contentsOfFile: "\(dir)/\(file)", encoding: .utf8)) ?? "").split(separator: "\n")
                    }
            }
            return try ledgers.allSatisfy { Set($0).count == messages }
                && [cluster.name, other].allSatisfy { try status($0).workers.first?.state == "running" }
        }

        let data = cluster.supervisors[0].dir
        var groups: [String: UInt32] = [:]
        var paths: [String: (directory: String, spec: String, work: String, credentials: String)] = [:]
        for name in [cluster.name, other] {
            let topology = try status(name)
            let row = try #require(topology.workers.first)
            let pid = try #require(row.pid)
            let workerId = "\(topology.id)-\(row.port)"
            // The worker as the kernel sees it: the user, the topology's group, nothing else.
            let proc = Self.status(pid)
            let uid = user.uid
            #expect(proc["Uid"] == "\(uid)\t\(uid)\t\(uid)\t\(uid)", "\(name): \(proc["Uid"] ?? "?")")
            let gids = (proc["Gid"] ?? "").split(separator: "\t").compactMap { UInt32($0) }
            let gid = try #require(gids.first)
            #expect(gids == [gid, gid, gid, gid], "\(name): \(proc["Gid"] ?? "?")")
            #expect((60_600...61_099).contains(gid), "\(name): group \(gid) from supervisor.worker.gid.range")
            #expect(proc["Groups"] == "", "\(name): no supplementary groups")
            groups[name] = gid

            // Its files: the supervisor's, in the topology's group, closed to others.
            let directory = "\(data)/workers/\(topology.id)"
            let worker = "\(directory)/\(workerId)"
            let spec = "\(worker)/epoch-\(topology.epoch).json"
            let credentials = "\(directory)/zookeeper-auth"
            for (path, mode) in [
                (directory, 0o750), (worker, 0o750), ("\(worker)/work", 0o770), (spec, 0o640), (credentials, 0o640),
            ] {
                let info = Self.info(path)
                #expect(info.uid == 0 && info.gid == gid, "\(path): \(info.uid):\(info.gid)")
                #expect(info.mode == mode, "\(path): \(String(info.mode, radix: 8))")
            }
            #expect(try String(contentsOfFile: credentials, encoding: .utf8).hasPrefix("gale:"))
            let log = Self.info("\(data)/logs/\(workerId).log")
            #expect(log.uid == 0 && log.mode == 0o640, "the worker's log is the supervisor's")
            #expect(
                try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd") == "\(worker)/work"
            )
            paths[name] = (directory, spec, "\(worker)/work", credentials)
        }
        let a = try #require(groups[cluster.name])
        let b = try #require(groups[other])
        #expect(a != b, "each topology has its own group")
        let mine = try #require(paths[cluster.name])
        let theirs = try #require(paths[other])

        // What a worker of the first topology may do: read and run its own files, write its
        // working directory.
        let listed = try Self.runAs(user.uid, a, ["/bin/ls", mine.directory])
        #expect(listed.status == 0 && listed.output.contains("cluster-wordcount"), "\(listed.output)")
        let read = try Self.runAs(user.uid, a, ["/bin/cat", mine.spec])
        #expect(read.status == 0 && read.output.contains("assignmentSecret"), "\(read.output)")
        #expect(try Self.runAs(user.uid, a, ["/bin/cat", mine.credentials]).status == 0)
        #expect(try Self.runAs(user.uid, a, ["/usr/bin/touch", mine.work + "/scratch"]).status == 0)
        #expect(try Self.runAs(user.uid, a, ["/usr/bin/touch", mine.directory + "/planted"]).status != 0)
        // ... and may not: anything of the other topology's, or the supervisor's own files.
        for command in [
            ["/bin/ls", theirs.directory], ["/bin/cat", theirs.spec], ["/bin/cat", theirs.credentials],
            ["/bin/ls", theirs.work], ["/usr/bin/touch", theirs.work + "/planted"],
            ["/bin/ls", "\(data)/topologies"], ["/bin/ls", "\(data)/logs"], ["/bin/ls", "\(data)/processes"],
            ["/bin/cat", try #require(cluster.zookeeperAuthFile)],
        ] {
            let refused = try Self.runAs(user.uid, a, command)
            #expect(
                refused.status != 0 && refused.output.contains("Permission denied"),
                "\(command): \(refused.output)"
            )
        }

        // A killed topology's directory goes, with what its worker wrote; the other's stays.
        #expect(try cluster.cli(["kill", other, "--wait", "0"]).status == 0)
        try await cluster.waitUntil("the killed topology's directory is removed", timeout: 60) {
            !FileManager.default.fileExists(atPath: theirs.directory)
        }
        #expect(FileManager.default.fileExists(atPath: mine.work + "/scratch"))
    }

    @Test func aSupervisorThatCannotRunItsWorkersAsTheirUserRefusesToStartWithOneLine() throws {
        let dir = NSTemporaryDirectory() + "gale-workeruser-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/closed", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let empty = dir + "/empty.yaml"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let unknown = dir + "/unknown.yaml"
        try "supervisor.worker.user: gale-no-such-user\n".write(toFile: unknown, atomically: true, encoding: .utf8)
        // Nothing listens on port 1: each refusal comes before ZooKeeper is tried.
        func supervisor(_ config: String, _ dataDirectory: String = dir + "/s") -> [String] {
            [
                "supervisor", "--config-file", config, "--zookeeper", "127.0.0.1:1", "--slots",
                String(ClusterHarness.freePort()), "--data-dir", dataDirectory, "--id", "s",
            ]
        }
        var cases: [(arguments: [String], line: String)] = [
            (
                supervisor(empty) + ["--worker-user", "gale-no-such-user"],
                "Error: --worker-user: supervisor.worker.user: no user 'gale-no-such-user' on this host"
            ),
            (
                supervisor(unknown),
                "Error: \(unknown):1: supervisor.worker.user: no user 'gale-no-such-user' on this host"
            ),
            (
                supervisor(empty) + ["--worker-user", "root"],
                "Error: --worker-user: supervisor.worker.user: 'root' is root; workers run the topologies' code: "
                    + "name an unprivileged user"
            ),
        ]
        if Self.isRoot {
            cases.append(
                (
                    supervisor(empty),
                    "Error: the supervisor runs as root and supervisor.worker.user is not set: set it (or pass "
                        + "--worker-user) to the unprivileged user its workers run as, such as gale-worker (docs/security.md)"
                )
            )
            // A data directory the workers' user cannot reach.
            chmod(dir + "/closed", 0o700)
            cases.append(
                (
                    supervisor(empty, dir + "/closed/s") + ["--worker-user", "nobody"],
                    "Error: supervisor cannot start: the workers' user nobody cannot reach \(dir)/closed/s/workers: "
                        + "\(dir)/closed is mode 700, owner root; give every directory above the data directory search "
                        + "permission for others (chmod o+x)"
                )
            )
        } else {
            let uid = geteuid()
            cases.append(
                (
                    supervisor(empty) + ["--worker-user", "nobody"],
                    "Error: --worker-user: supervisor.worker.user: 'nobody' (uid 65534) is not the supervisor's own user "
                        + "(uid \(uid)): only a supervisor running as root starts its workers as another user"
                )
            )
        }
        for (arguments, line) in cases {
            let result = try ClusterHarness.run("/usr/bin/env", try ConfigFileTests.gale(arguments), timeout: 30)
            #expect(result.status == 1, "\(arguments): \(result.output)")
            #expect(result.output.split(separator: "\n") == [Substring(line)], "\(arguments): \(result.output)")
        }
    }
}
