import Foundation
import GaleCoordination
import GaleTrident
import Testing

@Suite struct TransactionalStoreFactoryTests {
    static func uniqueTopology() -> String { "test-\(UUID().uuidString)" }

    @Test(arguments: [[:], ["gale.zookeeper.servers": ""], ["gale.zookeeper.servers": "  "], ["other": "x"]])
    func defaultFactoryKeepsAStoreInMemoryWhenNoServersAreNamed(settings: [String: String]) throws {
        let topology = Self.uniqueTopology()
        defer { MemoryTransactionalStore.reset(topology) }
        let store = try DefaultTransactionalStoreFactory().makeStore(topology: topology, settings: settings)
        #expect(store === MemoryTransactionalStore.named(topology))
        try store.put("coordinator", [1])
        let again = try DefaultTransactionalStoreFactory().makeStore(topology: topology, settings: settings)
        #expect(try again.get("coordinator") == [1], "a rerun in the same process finds the progress")
    }

    @Test func serversSettingKeyIsTheClusterOne() {
        #expect(ClusterSettings.zooKeeperServers == "gale.zookeeper.servers")
        #expect(ClusterSettings.topologyId == "gale.topology.id")
        #expect(ClusterSettings.zooKeeperAuthFile == "gale.zookeeper.auth.file")
        #expect(ClusterPaths.transactionalStore("words") == "/gale/transactional/words")
    }

    @Test(arguments: [[:], ["gale.zookeeper.servers": " "]])
    func zooKeeperFactoryWithoutServersIsAClearError(settings: [String: String]) throws {
        let error = try #require(throws: TransactionalStoreError.self) {
            try ZooKeeperTransactionalStoreFactory().makeStore(topology: "words", settings: settings)
        }
        #expect(error.code == .invalidConfiguration)
        #expect(!error.isRetriable)
        #expect(error.path == "/gale/transactional/words")
        #expect(error.description.contains("gale.zookeeper.servers"))
    }

    /// A credentials file that cannot be used fails before any connection (the servers here
    /// listen nowhere), naming the setting and the file.
    @Test(arguments: [("gale:pw", 0o644 as mode_t), ("no-colon", 0o600 as mode_t)])
    func aCredentialsFileThatCannotBeUsedIsAClearError(text: String, mode: mode_t) throws {
        let file = NSTemporaryDirectory() + "gale-zk-auth-\(UUID().uuidString)"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, mode)
        let settings = ["gale.zookeeper.servers": "127.0.0.1:1", "gale.zookeeper.auth.file": file]
        let error = try #require(throws: TransactionalStoreError.self) {
            try ZooKeeperTransactionalStoreFactory().makeStore(topology: "words", settings: settings)
        }
        #expect(error.code == .invalidConfiguration)
        #expect(error.description.contains("gale.zookeeper.auth.file") && error.description.contains(file))
    }

    @Test func refusedCredentialsAreNotAuthorized() {
        let error = TransactionalStoreError(
            .authFailed(connectString: "zk1:2181", user: "gale", reason: "authentication failed"),
            operation: "open",
            path: "/gale/transactional/words",
            servers: "zk1:2181"
        )
        #expect(error.code == .notAuthorized && !error.isRetriable)
        #expect(error.description.contains("user 'gale'"))
    }

    @Test func errorDescriptionNamesTheOperationPathServersAndSource() {
        let error = TransactionalStoreError(
            .connectionLoss("/gale/transactional/words/coordinator"),
            operation: "put",
            path: "/gale/transactional/words/coordinator",
            servers: "zk1:2181,zk2:2181"
        )
        #expect(error.code == .unreachable)
        #expect(error.isRetriable)
        #expect(error.zooKeeperError == .connectionLoss("/gale/transactional/words/coordinator"))
        #expect(
            error.description.hasPrefix(
                "TransactionalStoreError.unreachable: put [/gale/transactional/words/coordinator]"
            )
        )
        #expect(error.description.contains("at ZooKeeper [zk1:2181,zk2:2181]"))
        #expect(error.description.contains("(retriable)"))
        #expect(error.description.contains("TransactionalStoreFactoryTests.swift"))
    }
}
