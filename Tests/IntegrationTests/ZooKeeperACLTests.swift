import Foundation
import GaleCoordination
import GaleDaemons
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// ZooKeeper ACLs (`zookeeper.auth.file`), checked from outside with a client that is not Gale's:
/// `zkCli.sh` of Debian's `zookeeper` package, which scripts/bootstrap installs.
@Suite(.serialized) struct ZooKeeperACLTests {
    static let zkCli = "/usr/share/zookeeper/bin/zkCli.sh"

    /// Runs one `zkCli.sh` command against `server` without credentials.
    static func outside(_ server: String, _ command: [String]) throws -> (status: Int32, output: String) {
        try ClusterHarness.run(zkCli, ["-server", server] + command, timeout: 60)
    }

    /// Runs `commands` in one `zkCli.sh` session against `server` after `addauth digest`: the
    /// commands (and so the credentials) go through a private file on its standard input.
    static func withCredentials(
        _ server: String,
        _ auth: ZooKeeperAuth,
        _ commands: [String],
        scratch: String
    ) throws -> String {
        let script = scratch + "/zkcli-\(UUID().uuidString.prefix(8))"
        let lines = ["addauth digest \(auth.user):\(auth.password)"] + commands + ["quit"]
        FileManager.default.createFile(
            atPath: script,
            contents: Data((lines.joined(separator: "\n") + "\n").utf8),
            attributes: [.posixPermissions: 0o600]
        )
        defer { try? FileManager.default.removeItem(atPath: script) }
        return try ClusterHarness.run("/bin/bash", ["-c", "exec \(zkCli) -server \(server) < \(script)"], timeout: 60)
            .output
    }

    /// Whether zkCli.sh reported ZooKeeper's NoAuth for `path`.
    static func refused(_ result: (status: Int32, output: String), _ path: String) -> Bool {
        result.status != 0 && result.output.contains("Insufficient permission : \(path)")
    }

    /// Every node of the tree at `root` with its ACL, read with `zk`. The tree changes while it
    /// is read (a Trident coordinator deletes the nodes of committed batches): a node deleted
    /// between its parent's listing and its own read is gone, and left out.
    static func acls(_ zk: ZooKeeperClient, _ root: String) throws -> [String: [ZooKeeperACL]] {
        var result: [String: [ZooKeeperACL]] = [:]
        var pending = [root]
        while let path = pending.popLast() {
            let acl: [ZooKeeperACL]
            let children: [String]
            do {
                acl = try zk.getACL(path).acl
                children = try zk.children(path)
            } catch {
                if path != root, (error as? ZooKeeperError) == .noNode(path) { continue }
                throw error
            }
            result[path] = acl
            pending += children.map { "\(path)/\($0)" }
        }
        return result
    }

    /// A cluster with `zookeeper.auth.file`: nimbus, a supervisor and a Trident topology whose
    /// worker keeps its progress in ZooKeeper. Every node under /gale has the digest ACL; an
    /// outside client without the credentials can neither read the assignments nor create
    /// anything, and with them it can; daemons with a wrong password or none refuse to start.
    @Test func aClusterWithCredentialsKeepsOutsideClientsWithoutThemOut() async throws {
        let cluster = try ClusterHarness("zkacl")
        defer { cluster.tearDown() }
        let auth = ZooKeeperAuth(user: "gale", password: UUID().uuidString)
        try cluster.secure(zookeeperAuth: auth)
        let authFile = try #require(cluster.zookeeperAuthFile)
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1", slots: 1)
        let name = "acl-\(UUID().uuidString.prefix(8).lowercased())"
        try cluster.submit(
            workers: 1,
            messages: 2000,
            rate: 0,
            extra: [
                "--config", "test.mode=trident", "--config", "test.batch=100", "--config",
                "test.trident.name=\(name)",
            ]
        )
        try await cluster.waitForWorkers(1)
        let topologyId = try cluster.status().id

        var config = ZooKeeperConfig(connectString: cluster.zooKeeper)
        auth.apply(to: &config)
        let zk = try ZooKeeperClient(config, logger: Logger(label: "test"))
        defer { zk.close() }
        // The worker read the credentials file its launch spec names: its coordinator's progress
        // is in ZooKeeper, under nodes it created with the ACL.
        let store = ClusterPaths.transactionalStore(name)
        try await cluster.waitUntil("the worker's coordinator writes its progress", timeout: 60) {
            try !zk.children(store).isEmpty
        }
        let tree = try Self.acls(zk, ClusterPaths.root)
        #expect(tree.keys.contains(ClusterPaths.assignment(topologyId)) && tree.keys.contains(store))
        #expect(tree.keys.contains { $0.hasPrefix(ClusterPaths.nimbus + "/leader-") })
        for (path, acl) in tree.sorted(by: { $0.key < $1.key }) {
            #expect(acl == auth.acl, "\(path): \(acl)")
        }
        // The credentials reach the worker as a path only: not in its spec, arguments or environment.
        let specs = try FileManager.default.subpathsOfDirectory(atPath: cluster.root + "/s1/workers")
            .filter { $0.hasSuffix(".json") }
        #expect(!specs.isEmpty)
        for spec in specs {
            let text = try String(contentsOfFile: cluster.root + "/s1/workers/" + spec, encoding: .utf8)
            #expect(text.contains("zookeeperAuthFile") && !text.contains(auth.password), "\(spec)")
        }
        for pid in cluster.workerPids() {
            for file in ["cmdline", "environ"] {
                let bytes = FileManager.default.contents(atPath: "/proc/\(pid)/\(file)") ?? Data()
                #expect(!String(decoding: bytes, as: UTF8.self).contains(auth.password), "worker \(pid) \(file)")
            }
        }

        // Outside, without the credentials.
        let server = cluster.zooKeeper
        let assignment = ClusterPaths.assignment(topologyId)
        #expect(Self.refused(try Self.outside(server, ["get", ClusterPaths.assignments]), ClusterPaths.assignments))
        #expect(Self.refused(try Self.outside(server, ["ls", ClusterPaths.assignments]), ClusterPaths.assignments))
        #expect(Self.refused(try Self.outside(server, ["get", assignment]), assignment))
        #expect(Self.refused(try Self.outside(server, ["create", "/gale/x", "data"]), "/gale/x"))
        #expect(Self.refused(try Self.outside(server, ["ls", store]), store))

        // Outside, with them.
        let allowed = try Self.withCredentials(
            server,
            auth,
            ["ls \(ClusterPaths.assignments)", "get \(assignment)", "create /gale/x data", "getAcl \(store)"],
            scratch: cluster.root
        )
        #expect(!allowed.contains("Insufficient permission"), "\(allowed)")
        #expect(allowed.contains("[\(topologyId)]"), "\(allowed)")
        #expect(allowed.contains("\"topologyId\":\"\(topologyId)\""), "\(allowed)")
        #expect(allowed.contains("Created /gale/x"), "\(allowed)")
        #expect(allowed.contains("'digest,'\(auth.digestId)"), "\(allowed)")

        // A wrong password, or none, stops a daemon at start with one line naming the problem.
        let wrongFile = cluster.root + "/wrong-auth"
        FileManager.default.createFile(
            atPath: wrongFile,
            contents: Data("gale:not-the-password\n".utf8),
            attributes: [.posixPermissions: 0o600]
        )
        let empty = cluster.root + "/empty.yaml"
        FileManager.default.createFile(atPath: empty, contents: Data())
        let wrongConfig = cluster.root + "/wrong.yaml"
        try "zookeeper.auth.file: \(wrongFile)\n".write(toFile: wrongConfig, atomically: true, encoding: .utf8)
        let nimbus = [
            "nimbus", "--zookeeper", server, "--port", String(ClusterHarness.freePort()), "--data-dir",
            cluster.root + "/n2",
        ]
        let supervisor =
            [
                "supervisor", "--zookeeper", server, "--slots", String(ClusterHarness.freePort()), "--data-dir",
                cluster.root + "/s2", "--id", "s2",
            ] + ClusterHarness.workerArguments
        for (daemon, arguments) in [("nimbus", nimbus), ("supervisor", supervisor)] {
            let wrong = try ClusterHarness.run(cluster.gale, arguments + ["--config-file", wrongConfig], timeout: 60)
            #expect(wrong.status == 1, "\(daemon): \(wrong.output)")
            let errors = wrong.output.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
            #expect(errors.count == 1, "\(daemon): \(wrong.output)")
            #expect(
                errors.first?.contains(
                    "\(daemon) cannot start: ZooKeeper at \(server) does not accept the digest credentials of user "
                        + "'gale': it may not read /gale (a wrong password, or /gale was created with other "
                        + "credentials) (zookeeper.auth.file \(wrongFile))"
                ) == true,
                "\(daemon): \(wrong.output)"
            )
            let none = try ClusterHarness.run(cluster.gale, arguments + ["--config-file", empty], timeout: 60)
            #expect(none.status == 1, "\(daemon): \(none.output)")
            #expect(
                none.output.contains(
                    "\(daemon) cannot start: not authorized for ZooKeeper node /gale (its nodes have ZooKeeper ACLs"
                ),
                "\(daemon): \(none.output)"
            )
        }
        // The cluster is untouched by the refused daemons.
        #expect(try zk.children(ClusterPaths.supervisors) == ["s1"])
        #expect(try cluster.status().workers.count == 1)
    }

    /// `gale zookeeper set-acls` protects a tree made without ACLs, ephemeral and sequential
    /// nodes included, while a nimbus that already has the credentials runs on it; a second run
    /// changes nothing.
    @Test func setACLsProtectsATreeMadeWithoutThem() async throws {
        let cluster = try ClusterHarness("zkmigrate")
        defer { cluster.tearDown() }
        let server = cluster.zooKeeper
        // The tree of a cluster that ran without ACLs, as its daemons left it.
        let old = try ZooKeeperClient(ZooKeeperConfig(connectString: server), logger: Logger(label: "test"))
        defer { old.close() }
        #expect(try ClusterPaths.prepare(old) == false)
        try old.create(ClusterPaths.supervisor("old"), data: Array("{}".utf8), mode: .ephemeral)
        try old.ensurePath(ClusterPaths.transactionalStore("words") + "/coordinator")
        // (Not in the nimbus election, where it would lead and the test's nimbus would follow it.)
        let sequential = try old.create(
            ClusterPaths.transactionalStore("words") + "/member-",
            data: [1],
            mode: .ephemeralSequential
        )
        #expect(try Self.outside(server, ["ls", ClusterPaths.assignments]).status == 0, "open before")

        // Step 1 and 2 of the migration: the daemons get the credentials (and warn that the root is open).
        let auth = ZooKeeperAuth(user: "gale", password: UUID().uuidString)
        try cluster.secure(zookeeperAuth: auth)
        try await cluster.startNimbus()
        let log = (try? String(contentsOfFile: cluster.root + "/nimbus.log", encoding: .utf8)) ?? ""
        #expect(log.contains("gale zookeeper set-acls"), "the open root is reported")

        var config = ZooKeeperConfig(connectString: server)
        auth.apply(to: &config)
        let zk = try ZooKeeperClient(config, logger: Logger(label: "test"))
        defer { zk.close() }
        let before = try Self.acls(zk, ClusterPaths.root)
        let open = before.filter { $0.value == [.anyone] }
        #expect(open.count == 11, "the old client's nodes: \(open.keys.sorted())")
        #expect(before.count - open.count >= 1, "nimbus's election node is protected from the start")

        // Step 3.
        // `--zookeeper`: `make test` exports GALE_ZOOKEEPER, the shared test server.
        let first = try ClusterHarness.run(
            cluster.gale,
            ["zookeeper", "set-acls", "--zookeeper", server] + cluster.configArguments
        )
        #expect(first.status == 0, "\(first.output)")
        #expect(
            first.output.contains(
                "changed the ACL of \(open.count) of \(before.count) nodes under /gale: every permission for digest "
                    + "user 'gale', none for anyone else"
            ),
            "\(first.output)"
        )
        let second = try ClusterHarness.run(
            cluster.gale,
            ["zookeeper", "set-acls", "--zookeeper", server] + cluster.configArguments
        )
        #expect(second.status == 0 && second.output.contains("changed the ACL of 0 of \(before.count) nodes"))
        for (path, acl) in try Self.acls(zk, ClusterPaths.root) { #expect(acl == auth.acl, "\(path): \(acl)") }

        // Outside, without the credentials: refused everywhere, the old session's nodes included.
        for path in [
            ClusterPaths.root, ClusterPaths.assignments, ClusterPaths.supervisor("old"), sequential,
            ClusterPaths.transactionalStore("words") + "/coordinator",
        ] {
            #expect(Self.refused(try Self.outside(server, ["get", path]), path), "\(path)")
        }
        #expect(Self.refused(try Self.outside(server, ["ls", ClusterPaths.assignments]), ClusterPaths.assignments))
        #expect(Self.refused(try Self.outside(server, ["create", "/gale/x", "data"]), "/gale/x"))
        #expect(throws: ZooKeeperError.noAuth(ClusterPaths.assignments)) { try old.children(ClusterPaths.assignments) }
        // With them.
        let allowed = try Self.withCredentials(
            server,
            auth,
            ["ls \(ClusterPaths.supervisors)", "create /gale/x data"],
            scratch: cluster.root
        )
        #expect(!allowed.contains("Insufficient permission") && allowed.contains("Created /gale/x"), "\(allowed)")
        // Nimbus, which has the credentials, goes on using the tree.
        #expect(try cluster.cli(["list"]).status == 0)
    }

    /// Without `zookeeper.auth.file`, `set-acls` says what is missing and changes nothing.
    @Test func setACLsNeedsTheCredentialsFile() throws {
        let empty = NSTemporaryDirectory() + "gale-empty-\(UUID().uuidString).yaml"
        FileManager.default.createFile(atPath: empty, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let result = try ClusterHarness.run(
            try ClusterHarness.locateBinaries() + "/gale",
            ["zookeeper", "set-acls", "--zookeeper", "127.0.0.1:1", "--config-file", empty]
        )
        #expect(result.status == 1)
        #expect(result.output.contains("zookeeper.auth.file is not set"), "\(result.output)")
    }
}
