import Foundation
import GaleCoordination
import Logging
import Testing

/// ZooKeeperClient against the real test server.
@Suite struct ZooKeeperClientTests {
    static func client(timeout: Duration = .seconds(5)) throws -> ZooKeeperClient {
        try ZooKeeperClient(
            ZooKeeperConfig(
                connectString: try TestServices.resolve().zooKeeper,
                sessionTimeout: .seconds(4),
                connectTimeout: timeout
            ),
            logger: Logger(label: "test")
        )
    }

    static func waitUntil(_ what: String, timeout: Double = 15, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while (try? condition()) != true {
            if Date() > deadline { throw SmokeTestFailure("timed out waiting until \(what)") }
            usleep(20_000)
        }
    }

    @Test func createGetSetChildrenDeleteAndErrors() throws {
        let zk = try Self.client()
        defer { zk.close() }
        let root = "/test-\(UUID().uuidString)"
        defer { try? zk.deleteRecursive(root) }
        try zk.ensurePath(root + "/a/b")
        try zk.ensurePath(root + "/a/b")
        #expect(try zk.children(root + "/a") == ["b"])
        try zk.set(root + "/a", data: Array("one".utf8))
        let (data, stat) = try zk.get(root + "/a")
        #expect(data == Array("one".utf8))
        #expect(throws: ZooKeeperError.badVersion(root + "/a")) {
            try zk.set(root + "/a", data: [1], version: stat.version + 5)
        }
        try zk.set(root + "/a", data: [2], version: stat.version)
        #expect(throws: ZooKeeperError.nodeExists(root + "/a")) { try zk.create(root + "/a") }
        #expect(throws: ZooKeeperError.notEmpty(root + "/a")) { try zk.delete(root + "/a") }
        #expect(throws: ZooKeeperError.noNode(root + "/none")) { try zk.get(root + "/none") }
        #expect(throws: ZooKeeperError.invalidPath("no-slash")) { try zk.get("no-slash") }
        #expect(throws: ZooKeeperError.invalidPath("/a//b")) { try zk.get("/a//b") }
        let first = try zk.create(root + "/seq-", mode: .persistentSequential)
        let second = try zk.create(root + "/seq-", mode: .persistentSequential)
        #expect(first < second && first.hasPrefix(root + "/seq-"))
        #expect(try zk.exists(root + "/none") == nil)
        // multi is atomic: the failing delete leaves the create undone.
        #expect(throws: ZooKeeperError.self) {
            try zk.multi([
                .create(path: root + "/m", data: [], mode: .persistent), .delete(path: root + "/none", version: -1),
            ])
        }
        #expect(try zk.exists(root + "/m") == nil)
        try zk.multi([.create(path: root + "/m", data: [7], mode: .persistent), .check(path: root + "/a", version: -1)])
        #expect(try zk.get(root + "/m").data == [7])
    }

    @Test func watchesFireOnceAndMayCallTheClient() throws {
        let zk = try Self.client()
        defer { zk.close() }
        let root = "/test-\(UUID().uuidString)"
        try zk.ensurePath(root)
        defer { try? zk.deleteRecursive(root) }
        let fired = Counter()
        _ = try zk.get(root) { event in
            #expect(event.kind == .dataChanged)
            // Calling the client from a watch callback must not deadlock.
            _ = try? zk.children(root)
            fired.add()
        }
        _ = try zk.children(root) { event in
            #expect(event.kind == .childrenChanged)
            fired.add()
        }
        _ = try zk.exists(root + "/later") { event in
            #expect(event.kind == .created)
            fired.add()
        }
        try zk.set(root, data: [1])
        try zk.create(root + "/later")
        try Self.waitUntil("three watches fire") { fired.value == 3 }
        try zk.set(root, data: [2])
        Thread.sleep(forTimeInterval: 0.3)
        #expect(fired.value == 3)
    }

    @Test func ephemeralNodeGoesAwayOnClose() throws {
        let owner = try Self.client()
        let observer = try Self.client()
        defer { observer.close() }
        let path = "/test-eph-\(UUID().uuidString)"
        try owner.create(path, data: [1], mode: .ephemeral)
        #expect(try observer.exists(path) != nil)
        owner.close()
        try Self.waitUntil("the ephemeral node is gone") { try observer.exists(path) == nil }
    }

    @Test func unreachableServerFailsWithinTheConnectTimeout() throws {
        let closed = ClusterHarness.freePort()
        let started = Date()
        #expect(throws: ZooKeeperError.connectTimeout(connectString: "127.0.0.1:\(closed)", seconds: 1)) {
            _ = try ZooKeeperClient(
                ZooKeeperConfig(connectString: "127.0.0.1:\(closed)", connectTimeout: .seconds(1)),
                logger: Logger(label: "test")
            )
        }
        #expect(Date().timeIntervalSince(started) < 3)
    }

    @Test func digestACLKeepsNodesFromClientsWithoutTheCredentials() throws {
        let server = try TestServices.resolve().zooKeeper
        var config = ZooKeeperConfig(connectString: server)
        config.digest = ("gale", "secret")
        let owner = try ZooKeeperClient(config, logger: Logger(label: "test"))
        defer { owner.close() }
        let stranger = try Self.client()
        defer { stranger.close() }
        let path = "/test-acl-\(UUID().uuidString)"
        try owner.create(path, data: [42])
        defer { try? owner.delete(path) }
        #expect(try owner.get(path).data == [42])
        #expect(throws: ZooKeeperError.noAuth(path)) { try stranger.get(path) }
        #expect(throws: ZooKeeperError.noAuth(path)) { try stranger.set(path, data: [0]) }
        let friend = try ZooKeeperClient(config, logger: Logger(label: "test"))
        defer { friend.close() }
        #expect(try friend.get(path).data == [42])
    }

    @Test func protectGivesEveryNodeOfATreeTheDigestACLOnce() throws {
        let stranger = try Self.client()
        defer { stranger.close() }
        let root = "/test-protect-\(UUID().uuidString)"
        try stranger.ensurePath(root + "/a/b")
        let ephemeral = try stranger.create(root + "/a/e", mode: .ephemeral)
        let sequential = try stranger.create(root + "/s-", mode: .persistentSequential)
        #expect(try stranger.getACL(root + "/a").acl == [.anyone])

        let auth = ZooKeeperAuth(user: "gale", password: UUID().uuidString)
        var config = ZooKeeperConfig(connectString: try TestServices.resolve().zooKeeper)
        auth.apply(to: &config)
        let owner = try ZooKeeperClient(config, logger: Logger(label: "test"))
        defer { owner.close() }
        defer { try? owner.deleteRecursive(root) }
        #expect(owner.digestUser == "gale" && stranger.digestUser == nil)
        // A node the owner creates names it (auth:: becomes its digest identity).
        try owner.create(root + "/mine")
        #expect(try owner.getACL(root + "/mine").acl == auth.acl)

        #expect(try owner.protect(root, with: auth) == ZooKeeperProtectResult(nodes: 6, changed: 5))
        #expect(try owner.protect(root, with: auth) == ZooKeeperProtectResult(nodes: 6, changed: 0))
        #expect(try owner.protect(root + "/none", with: auth) == ZooKeeperProtectResult(nodes: 0, changed: 0))
        for path in [root, root + "/a", root + "/a/b", ephemeral, sequential] {
            #expect(try owner.getACL(path).acl == auth.acl, "\(path)")
            #expect(throws: ZooKeeperError.noAuth(path)) { try stranger.get(path) }
        }
        #expect(throws: ZooKeeperError.noAuth(root + "/x")) { try stranger.create(root + "/x") }
        #expect(throws: ZooKeeperError.noAuth(root)) { try stranger.protect(root, with: auth) }
        try owner.setACL(root + "/a/b", [.anyone])
        #expect(try stranger.getACL(root + "/a/b").acl == [.anyone])
    }

    /// A connection cut for less than the session timeout keeps the session; cut for longer, the
    /// server expires it, and the client opens a new one, re-creates its ephemeral nodes and tells
    /// its owner. (The outage is a proxy between client and server that cuts and refuses
    /// connections, so other tests' sessions are untouched.)
    @Test func lostConnectionIsRetriedAndAnExpiredSessionIsReplaced() throws {
        let server = try TestServices.resolve().zooKeeper
        let serverPort = try #require(server.split(separator: ":").last.flatMap { Int($0) })
        let proxy = try PausableProxy(upstreamPort: serverPort)
        defer { proxy.stop() }
        let zk = try ZooKeeperClient(
            ZooKeeperConfig(connectString: "127.0.0.1:\(proxy.port)", sessionTimeout: .seconds(4)),
            logger: Logger(label: "test")
        )
        defer { zk.close() }
        let observer = try Self.client()
        defer { observer.close() }
        let events = EventLog()
        zk.onSessionEvent { events.append($0) }
        let path = "/test-expiry-\(UUID().uuidString)"
        try zk.create(path, data: [7], mode: .ephemeral)
        let firstSession = zk.sessionId
        #expect(try observer.exists(path)?.ephemeralOwner == firstSession)

        // A short outage: the same session comes back, its node never went away.
        proxy.pause()
        try Self.waitUntil("the client notices the lost connection") { events.contains(.disconnected) }
        proxy.resume()
        try Self.waitUntil("the client reconnects") { events.contains(.connected) }
        #expect(zk.sessionId == firstSession)
        #expect(try observer.exists(path)?.ephemeralOwner == firstSession)
        #expect(try zk.get(path).data == [7])

        // A long outage: the server expires the session and deletes its ephemeral node.
        proxy.pause()
        try Self.waitUntil("the server expires the session", timeout: 30) { try observer.exists(path) == nil }
        proxy.resume()
        try Self.waitUntil("the client opens a new session", timeout: 30) { events.contains(.sessionReplaced) }
        #expect(events.contains(.expired))
        #expect(zk.sessionId != firstSession)
        let stat = try #require(try observer.exists(path))
        #expect(stat.ephemeralOwner == zk.sessionId, "the ephemeral node is re-created under the new session")
        #expect(try zk.get(path).data == [7])
    }

    @Test func electionHasOneLeaderAndASuccessorTakesOver() throws {
        let a = try Self.client()
        let b = try Self.client()
        defer { b.close() }
        let path = "/test-election-\(UUID().uuidString)"
        let first = LeaderElection(client: a, path: path, identity: "a:1", logger: Logger(label: "test")) { _ in }
        try first.start()
        let second = LeaderElection(client: b, path: path, identity: "b:2", logger: Logger(label: "test")) { _ in }
        try second.start()
        #expect(first.isLeader && !second.isLeader)
        #expect(try second.leaderIdentity() == "a:1")
        a.close()
        try Self.waitUntil("the follower leads") { second.isLeader }
        #expect(try second.leaderIdentity() == "b:2")
        try? b.deleteRecursive(path)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [ZooKeeperSessionEvent] = []
    func append(_ event: ZooKeeperSessionEvent) { lock.withLock { events.append(event) } }
    func contains(_ event: ZooKeeperSessionEvent) -> Bool { lock.withLock { events.contains(event) } }
}
