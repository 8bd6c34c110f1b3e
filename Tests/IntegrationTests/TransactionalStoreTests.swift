import Foundation
import GaleCoordination
import GaleTrident
import Logging
import Testing

/// One step of a store scenario: a write, or a read with the answer it must give.
enum StoreStep: Sendable {
    case put(String, [UInt8])
    case delete(String)
    case get(String, [UInt8]?)
    case children(String, [String])
}

/// A scenario every ``TransactionalStore`` must play alike: steps run in order on an empty store.
struct TransactionalStoreCase: Sendable, CustomTestStringConvertible {
    var name: String
    var steps: [StoreStep]

    var testDescription: String { name }

    static let large = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }

    static let all: [TransactionalStoreCase] = [
        TransactionalStoreCase(
            name: "a missing path reads nil, has no children, and deleting it is a no-op",
            steps: [
                .get("coordinator", nil), .children("", []), .children("emitters/words", []),
                .delete("emitters/words/0"), .get("emitters/words/0", nil), .children("", []),
            ]
        ),
        TransactionalStoreCase(
            name: "a put is read back and a second put replaces it",
            steps: [
                .put("coordinator", [1, 2, 3]), .get("coordinator", [1, 2, 3]), .put("coordinator", [9]),
                .get("coordinator", [9]), .children("", ["coordinator"]),
            ]
        ),
        TransactionalStoreCase(
            name: "an empty value is a value",
            steps: [
                .put("empty", []), .get("empty", []), .children("", ["empty"]), .put("empty", [4]),
                .get("empty", [4]), .put("empty", []), .get("empty", []),
            ]
        ),
        TransactionalStoreCase(
            name: "binary and large values round-trip",
            steps: [
                .put("bytes", Array(0...255)), .get("bytes", Array(0...255)), .put("large", large),
                .get("large", large),
            ]
        ),
        TransactionalStoreCase(
            name: "a nested put makes parents that list it but hold no value",
            steps: [
                .put("emitters/words/0/17", [17]), .get("emitters/words/0/17", [17]), .get("emitters", nil),
                .get("emitters/words/0", nil), .get("", nil), .children("", ["emitters"]),
                .children("emitters", ["words"]), .children("emitters/words", ["0"]),
                .children("emitters/words/0", ["17"]), .children("emitters/words/0/17", []),
            ]
        ),
        TransactionalStoreCase(
            name: "children are the sorted names of the direct children only",
            steps: [
                .put("emitters/w/0/2", [2]), .put("emitters/w/0/10", [10]), .put("emitters/w/1/3", [3]),
                .put("emitters/v/0/1", [1]), .children("emitters", ["v", "w"]), .children("emitters/w", ["0", "1"]),
                .children("emitters/w/0", ["10", "2"]),
            ]
        ),
        TransactionalStoreCase(
            name: "a parent may hold a value of its own, before or after its children",
            steps: [
                .put("a", [1]), .put("a/b", [2]), .put("c/d", [4]), .put("c", [3]), .get("a", [1]), .get("a/b", [2]),
                .get("c", [3]), .children("a", ["b"]), .delete("a/b"), .get("a", [1]), .children("a", []),
                .children("", ["a", "c"]), .get("c/d", [4]),
            ]
        ),
        TransactionalStoreCase(
            name: "delete removes everything below and keeps the siblings",
            steps: [
                .put("coordinator", [0]), .put("emitters/w/0/1", [1]), .put("emitters/w/0/2", [2]),
                .put("emitters/w/1/1", [3]), .delete("emitters/w/0"), .get("emitters/w/0/1", nil),
                .get("emitters/w/0/2", nil), .children("emitters/w/0", []), .children("emitters/w", ["1"]),
                .get("emitters/w/1/1", [3]), .delete("emitters"), .children("", ["coordinator"]),
                .get("coordinator", [0]),
            ]
        ),
        TransactionalStoreCase(
            name: "deleting the last path below a parent leaves no empty parent behind",
            steps: [
                .put("a/b/c", [1]), .put("x", [0]), .delete("a/b/c"), .children("", ["x"]), .children("a", []),
                .put("a/b/d", [2]), .get("a/b/d", [2]), .children("a/b", ["d"]),
            ]
        ),
        TransactionalStoreCase(
            name: "deleting the root removes everything and the store is usable again",
            steps: [
                .put("coordinator", [0]), .put("emitters/w/0/1", [1]), .delete(""), .children("", []),
                .get("coordinator", nil), .get("emitters/w/0/1", nil), .put("coordinator", [5]),
                .get("coordinator", [5]), .children("", ["coordinator"]),
            ]
        ),
        TransactionalStoreCase(
            name: "empty path components are ignored",
            steps: [
                .put("/emitters//w/0/", [7]), .get("emitters/w/0", [7]), .get("emitters/w//0", [7]),
                .children("/emitters/", ["w"]), .delete("//emitters/w/0//"), .children("emitters", []),
            ]
        ),
    ]

    /// Plays the steps on `store`, checking every read.
    func play(on store: any TransactionalStore) throws {
        for (index, step) in steps.enumerated() {
            switch step {
            case .put(let path, let value): try store.put(path, value)
            case .delete(let path): try store.delete(path)
            case .get(let path, let expected):
                let value = try store.get(path)
                #expect(
                    value == expected,
                    "step \(index): get [\(path)] gave \(value.map { "\($0.count) bytes" } ?? "nil")"
                )
            case .children(let path, let expected):
                let names = try store.children(path)
                #expect(names == expected, "step \(index): children [\(path)]")
            }
        }
    }
}

/// The stores that must behave alike.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible {
    case memory
    case zooKeeper

    var testDescription: String { rawValue }

    /// Runs `body` with an empty store of a topology no other test uses, removed afterwards.
    func withStore(_ body: (any TransactionalStore) throws -> Void) throws {
        let topology = "test-\(UUID().uuidString.prefix(8).lowercased())"
        switch self {
        case .memory:
            defer { MemoryTransactionalStore.reset(topology) }
            try body(MemoryTransactionalStore.named(topology))
        case .zooKeeper:
            let client = try TransactionalStoreTests.client()
            defer { client.close() }
            let store = try ZooKeeperTransactionalStore(client: client, topology: topology)
            defer { try? client.deleteRecursive(store.root) }
            try body(store)
        }
    }
}

/// ``ZooKeeperTransactionalStore`` against the real test server, and the behaviour it shares
/// with ``MemoryTransactionalStore``.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TransactionalStoreTests {
    static func client(sessionTimeout: Duration = .seconds(4)) throws -> ZooKeeperClient {
        try ZooKeeperClient(
            ZooKeeperConfig(connectString: try TestServices.resolve().zooKeeper, sessionTimeout: sessionTimeout),
            logger: Logger(label: "test")
        )
    }

    static func uniqueTopology() -> String { "test-\(UUID().uuidString.prefix(8).lowercased())" }

    @Test(arguments: StoreBackend.allCases, TransactionalStoreCase.all)
    func storesBehaveAlike(backend: StoreBackend, scenario: TransactionalStoreCase) throws {
        try backend.withStore { try scenario.play(on: $0) }
    }

    @Test func valuesLiveInZnodesUnderTheTopologysRoot() throws {
        let client = try Self.client()
        defer { client.close() }
        let topology = Self.uniqueTopology()
        let store = try ZooKeeperTransactionalStore(client: client, topology: topology)
        defer { try? client.deleteRecursive(store.root) }
        #expect(store.root == "/gale/transactional/\(topology)")
        try store.put("coordinator", Array(#"{"v":1,"txid":3}"#.utf8))
        try store.put("emitters/words/0/3", [3])
        #expect(try client.get("/gale/transactional/\(topology)/coordinator").data == Array(#"{"v":1,"txid":3}"#.utf8))
        #expect(try client.get("/gale/transactional/\(topology)/emitters/words/0/3").data == [3])
        #expect(try client.children("/gale/transactional/\(topology)").sorted() == ["coordinator", "emitters"])
    }

    /// A new client (a restarted worker, or nimbus and supervisors restarted around it) finds
    /// everything the previous one wrote.
    @Test func valuesSurviveANewClient() throws {
        let topology = Self.uniqueTopology()
        let payload = Array("batch 17: partitions 0-3".utf8)
        do {
            let first = try Self.client()
            defer { first.close() }
            let store = try ZooKeeperTransactionalStore(client: first, topology: topology)
            try store.put("coordinator", [17])
            try store.put("emitters/words/0/17", payload)
            try store.put("emitters/words/1/17", [])
        }
        let second = try Self.client()
        defer { second.close() }
        let store = try ZooKeeperTransactionalStore(client: second, topology: topology)
        defer { try? second.deleteRecursive(store.root) }
        #expect(try store.get("coordinator") == [17])
        #expect(try store.get("emitters/words/0/17") == payload)
        #expect(try store.get("emitters/words/1/17") == [])
        #expect(try store.get("emitters/words/0") == nil)
        #expect(try store.children("emitters/words") == ["0", "1"])
    }

    @Test func twoTopologiesAreIsolated() throws {
        let client = try Self.client()
        defer { client.close() }
        let first = try ZooKeeperTransactionalStore(client: client, topology: Self.uniqueTopology())
        let second = try ZooKeeperTransactionalStore(client: client, topology: Self.uniqueTopology())
        defer {
            try? client.deleteRecursive(first.root)
            try? client.deleteRecursive(second.root)
        }
        try first.put("coordinator", [1])
        try first.put("emitters/a/0/1", [1])
        try second.put("coordinator", [2])
        #expect(try first.get("coordinator") == [1])
        #expect(try second.get("coordinator") == [2])
        #expect(try second.children("") == ["coordinator"])
        try first.delete("")
        #expect(try first.get("coordinator") == nil)
        #expect(try second.get("coordinator") == [2])
    }

    @Test func aValueOverTheLimitIsRefusedAndOneAtTheLimitFits() throws {
        let client = try Self.client()
        defer { client.close() }
        let store = try ZooKeeperTransactionalStore(client: client, topology: Self.uniqueTopology())
        defer { try? client.deleteRecursive(store.root) }
        let limit = ZooKeeperTransactionalStore.maxValueBytes
        let error = try #require(throws: TransactionalStoreError.self) {
            try store.put("emitters/big/0/1", [UInt8](repeating: 7, count: limit + 1))
        }
        #expect(error.code == .valueTooLarge)
        #expect(!error.isRetriable)
        #expect(error.path == "\(store.root)/emitters/big/0/1")
        #expect(error.description.contains("\(limit + 1) bytes"))
        #expect(error.description.contains(store.root + "/emitters/big/0/1"))
        #expect(error.description.contains(client.connectString))
        #expect(try store.get("emitters/big/0/1") == nil)
        #expect(try store.children("") == [])

        let atLimit = (0..<limit).map { UInt8(truncatingIfNeeded: $0) }
        try store.put("emitters/big/0/1", atLimit)
        #expect(try store.get("emitters/big/0/1") == atLimit)
    }

    @Test func pathsAndTopologyNamesThatCannotNameANodeAreRefused() throws {
        let client = try Self.client()
        defer { client.close() }
        for name in ["", ".", "..", "a/b"] {
            let error = try #require(throws: TransactionalStoreError.self) {
                try ZooKeeperTransactionalStore(client: client, topology: name)
            }
            #expect(error.code == .invalidPath, "topology [\(name)]")
        }
        let store = try ZooKeeperTransactionalStore(client: client, topology: Self.uniqueTopology())
        defer { try? client.deleteRecursive(store.root) }
        for path in ["emitters/../coordinator", "./coordinator"] {
            let error = try #require(throws: TransactionalStoreError.self) { try store.put(path, [1]) }
            #expect(error.code == .invalidPath)
            #expect(error.description.contains(path))
        }
    }

    @Test func factoriesShareOneClientAndTheDefaultPicksZooKeeperWhenServersAreNamed() throws {
        let servers = try TestServices.resolve().zooKeeper
        let settings = [ClusterSettings.zooKeeperServers: servers]
        let topology = Self.uniqueTopology()
        let factory = ZooKeeperTransactionalStoreFactory()
        let first = try factory.makeStore(topology: topology, settings: settings)
        let chosen = try DefaultTransactionalStoreFactory().makeStore(topology: topology, settings: settings)
        let store = try #require(chosen as? ZooKeeperTransactionalStore)
        defer { try? store.delete("") }
        #expect(store.servers == servers)
        try first.put("coordinator", [8])
        #expect(try store.get("coordinator") == [8])

        let local = try DefaultTransactionalStoreFactory().makeStore(topology: topology, settings: [:])
        defer { MemoryTransactionalStore.reset(topology) }
        #expect(local === MemoryTransactionalStore.named(topology))
        #expect(try local.get("coordinator") == nil)
    }

    @Test func missingServersSettingIsAClearError() throws {
        let error = try #require(throws: TransactionalStoreError.self) {
            try ZooKeeperTransactionalStoreFactory().makeStore(topology: "words", settings: ["other": "x"])
        }
        #expect(error.code == .invalidConfiguration)
        #expect(error.description.contains(ClusterSettings.zooKeeperServers))
    }

    /// Nothing listens on the port: opening the store fails within the connect timeout, naming
    /// the servers and the store's node.
    @Test func unreachableZooKeeperFailsQuicklyWithAClearError() throws {
        let servers = "127.0.0.1:\(ClusterHarness.freePort())"
        let factory = DefaultTransactionalStoreFactory(
            zooKeeper: ZooKeeperTransactionalStoreFactory(sessionTimeout: .seconds(2), connectTimeout: .seconds(1))
        )
        let started = ContinuousClock.now
        let error = try #require(throws: TransactionalStoreError.self) {
            try factory.makeStore(topology: "words", settings: [ClusterSettings.zooKeeperServers: servers])
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(error.code == .unreachable)
        #expect(error.isRetriable)
        #expect(error.servers == servers)
        #expect(error.description.contains(servers))
        #expect(error.description.contains("/gale/transactional/words"))
    }

    /// A connection cut after the store opened: calls fail with a retriable error instead of
    /// hanging, and succeed again once the client has reconnected (same session).
    @Test func lostConnectionFailsCallsQuicklyAndTheStoreRecovers() throws {
        let server = try TestServices.resolve().zooKeeper
        let serverPort = try #require(server.split(separator: ":").last.flatMap { Int($0) })
        let proxy = try PausableProxy(upstreamPort: serverPort)
        defer { proxy.stop() }
        let client = try ZooKeeperClient(
            ZooKeeperConfig(connectString: "127.0.0.1:\(proxy.port)", sessionTimeout: .seconds(4)),
            logger: Logger(label: "test")
        )
        defer { client.close() }
        let store = try ZooKeeperTransactionalStore(client: client, topology: Self.uniqueTopology())
        defer { try? store.delete("") }
        try store.put("coordinator", [1])

        proxy.pause()
        let started = ContinuousClock.now
        let error = try #require(throws: TransactionalStoreError.self) { try store.put("coordinator", [2]) }
        #expect(ContinuousClock.now - started < .seconds(6), "bounded by the session timeout")
        #expect(error.code == .unreachable)
        #expect(error.isRetriable)
        #expect(error.description.contains("127.0.0.1:\(proxy.port)"))
        #expect(error.description.contains(store.root + "/coordinator"))

        proxy.resume()
        try ZooKeeperClientTests.waitUntil("the store answers again") { try store.get("coordinator") != nil }
        #expect(try store.get("coordinator") == [1])
        try store.put("coordinator", [3])
        #expect(try store.get("coordinator") == [3])
    }
}
