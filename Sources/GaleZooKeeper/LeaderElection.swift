import Foundation
public import Logging

/// Leader election with ephemeral sequential nodes `<path>/leader-<seq>` holding each
/// candidate's identity: the lowest sequence leads; every other candidate watches the node
/// just before its own, so a leader's exit wakes exactly one successor.
public final class LeaderElection: @unchecked Sendable {
    let client: ZooKeeperClient
    let path: String
    let identity: String
    let logger: Logger
    let onChange: @Sendable (Bool) -> Void
    private let lock = NSLock()
    private var node: String?
    private var leading = false
    private var stopped = false

    public init(
        client: ZooKeeperClient,
        path: String,
        identity: String,
        logger: Logger,
        onChange: @escaping @Sendable (_ isLeader: Bool) -> Void
    ) {
        self.client = client
        self.path = path
        self.identity = identity
        self.logger = logger
        self.onChange = onChange
    }

    /// Enters the election.
    public func start() throws(ZooKeeperError) {
        try client.ensurePath(path)
        client.onSessionEvent { [weak self] event in
            guard let self, event == .sessionReplaced else { return }
            self.lock.withLock { self.node = nil }
            do {
                try self.enter()
            } catch {
                self.logger.error("cannot re-enter the election at \(self.path): \(error)")
            }
        }
        try enter()
    }

    private func enter() throws(ZooKeeperError) {
        guard !lock.withLock({ stopped }) else { return }
        let created = try client.create("\(path)/leader-", data: Array(identity.utf8), mode: .ephemeralSequential)
        lock.withLock { node = created }
        try check()
    }

    private static func sequence(_ name: String) -> String { String(name.suffix(10)) }

    /// Re-evaluates leadership; watches the predecessor when not leading.
    private func check() throws(ZooKeeperError) {
        guard let node = lock.withLock({ stopped ? nil : self.node }) else { return }
        let mine = String(node.split(separator: "/").last ?? "")
        let candidates = try client.children(path).filter { $0.hasPrefix("leader-") }.sorted {
            Self.sequence($0) < Self.sequence($1)
        }
        guard let index = candidates.firstIndex(of: mine) else {
            // Our node is gone (expired session not yet replaced): wait for sessionReplaced.
            setLeading(false)
            return
        }
        if index == 0 {
            setLeading(true)
            return
        }
        setLeading(false)
        let predecessor = "\(path)/\(candidates[index - 1])"
        let stat = try client.exists(predecessor) { [weak self] _ in
            guard let self else { return }
            do {
                try self.check()
            } catch {
                self.logger.error("election check failed: \(error)")
            }
        }
        if stat == nil { try check() }
    }

    private func setLeading(_ value: Bool) {
        let changed = lock.withLock {
            defer { leading = value }
            return leading != value
        }
        if changed { onChange(value) }
    }

    /// Whether this candidate leads.
    public var isLeader: Bool { lock.withLock { leading && !stopped } }

    /// The identity of the current leader (the lowest node's data).
    public func leaderIdentity() throws(ZooKeeperError) -> String? {
        try Self.identities(client: client, path: path).first
    }

    /// The identities of every candidate under `path`, the leader first, then in the order
    /// they would take over.
    public static func identities(client: ZooKeeperClient, path: String) throws(ZooKeeperError) -> [String] {
        let candidates = try client.children(path).filter { $0.hasPrefix("leader-") }.sorted {
            sequence($0) < sequence($1)
        }
        var result: [String] = []
        for candidate in candidates {
            do {
                result.append(String(decoding: try client.get("\(path)/\(candidate)").data, as: UTF8.self))
            } catch .noNode {
                continue
            }
        }
        return result
    }

    /// Leaves the election.
    public func stop() {
        let node: String? = lock.withLock {
            stopped = true
            leading = false
            return self.node
        }
        if let node { try? client.delete(node) }
    }
}
