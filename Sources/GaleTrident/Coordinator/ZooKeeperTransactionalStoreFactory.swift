import GaleCoordination
import Logging
import Synchronization

/// Opens ``ZooKeeperTransactionalStore``s on the servers named by the setting
/// `gale.zookeeper.servers` (``GaleCoordination/ClusterSettings/zooKeeperServers``), which every
/// cluster worker sets to its supervisor's ZooKeeper connect string. With the setting
/// `gale.zookeeper.auth.file` (``GaleCoordination/ClusterSettings/zooKeeperAuthFile``), which
/// workers of a cluster with ZooKeeper ACLs get, the client authenticates with the digest
/// credentials that file holds, and the nodes it creates are readable and writable with them only.
///
/// One ZooKeeper client is opened per connect string, credentials file and process, and kept for
/// the process's life: every store, of every topology and task in the worker, shares its session.
/// The client reconnects by itself and replaces an expired session.
///
/// Threading: ``makeStore(topology:settings:)`` blocks while it connects (at most
/// ``connectTimeout``); call it from a task's own queue, never from Swift's cooperative pool.
public struct ZooKeeperTransactionalStoreFactory: TransactionalStoreFactory {
    /// The session timeout asked of ZooKeeper; also bounds a call whose connection is lost.
    public var sessionTimeout: Duration
    /// How long opening the first session may take before ``makeStore(topology:settings:)`` fails.
    public var connectTimeout: Duration

    /// The shared clients, by connect string.
    private static let clients = Mutex<[String: ZooKeeperClient]>([:])

    /// A factory with the daemons' timeouts (10 s each) unless given others. The timeouts apply
    /// when this process first connects to a set of servers.
    public init(sessionTimeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(10)) {
        self.sessionTimeout = sessionTimeout
        self.connectTimeout = connectTimeout
    }

    /// The store of the topology named `topology`, on the servers of
    /// `settings["gale.zookeeper.servers"]`, with the credentials of
    /// `settings["gale.zookeeper.auth.file"]` when that is set.
    /// - Throws: ``TransactionalStoreError`` with code
    ///   ``TransactionalStoreError/Code/invalidConfiguration`` when the servers setting is missing
    ///   or empty, or the credentials file cannot be used;
    ///   ``TransactionalStoreError/Code/unreachable`` when no server answers within
    ///   ``connectTimeout``; ``TransactionalStoreError/Code/notAuthorized`` when ZooKeeper refuses
    ///   the credentials or their identity may not use the store's nodes; or
    ///   ``TransactionalStoreError/Code/invalidPath`` for a topology name that cannot name a node.
    public func makeStore(
        topology: String,
        settings: [String: String]
    ) throws(TransactionalStoreError) -> any TransactionalStore {
        let root = ClusterPaths.transactionalStore(topology)
        guard let servers = Self.servers(in: settings) else {
            throw TransactionalStoreError(
                code: .invalidConfiguration,
                operation: "open",
                path: root,
                servers: "",
                message: "the setting \(ClusterSettings.zooKeeperServers) names no ZooKeeper servers"
            )
        }
        var auth: ZooKeeperAuth?
        if let file = settings[ClusterSettings.zooKeeperAuthFile], !file.isEmpty {
            do {
                auth = try ZooKeeperAuth.read(file: file)
            } catch {
                throw TransactionalStoreError(
                    code: .invalidConfiguration,
                    operation: "open",
                    path: root,
                    servers: servers,
                    message: "the setting \(ClusterSettings.zooKeeperAuthFile): \(error)"
                )
            }
        }
        let client: ZooKeeperClient
        do {
            client = try self.client(servers, auth: auth)
        } catch {
            throw TransactionalStoreError(error, operation: "open", path: root, servers: servers)
        }
        return try ZooKeeperTransactionalStore(client: client, topology: topology)
    }

    /// The trimmed, non-empty `gale.zookeeper.servers` setting, or `nil`.
    static func servers(in settings: [String: String]) -> String? {
        guard let value = settings[ClusterSettings.zooKeeperServers] else { return nil }
        let servers = String(value.filter { !$0.isWhitespace })
        return servers.isEmpty ? nil : servers
    }

    /// The process's client for `servers` with `auth`, connecting on first use. Connects outside
    /// the lock, so that a slow or unreachable server does not hold up callers of other servers;
    /// when two callers connect at once, the first client stored wins and the other is closed.
    private func client(_ servers: String, auth: ZooKeeperAuth?) throws(ZooKeeperError) -> ZooKeeperClient {
        // The digest identity, not the password, tells clients apart.
        let key = servers + (auth.map { " " + $0.digestId } ?? "")
        if let existing = Self.clients.withLock({ $0[key] }) { return existing }
        var config = ZooKeeperConfig(
            connectString: servers,
            sessionTimeout: sessionTimeout,
            connectTimeout: connectTimeout
        )
        auth?.apply(to: &config)
        let fresh = try ZooKeeperClient(config, logger: Logger(label: "gale.trident.zookeeper"))
        let chosen = Self.clients.withLock { clients in
            if let existing = clients[key] { return existing }
            clients[key] = fresh
            return fresh
        }
        if chosen !== fresh { fresh.close() }
        return chosen
    }
}
