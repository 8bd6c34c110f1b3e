import CZooKeeper
import Dispatch
import Foundation
import Gale
public import Logging

/// A ZooKeeper session over the multi-threaded C client, with synchronous calls.
///
/// Watches are one-shot; their callbacks and session events run on the client's serial event
/// queue (never on the C client's completion thread, where a synchronous call would deadlock),
/// so a callback may call the client. A lost connection is retried by the C client; calls made
/// meanwhile fail with ``ZooKeeperError/connectionLoss(_:)``. An expired session is replaced:
/// the client opens a new one (retrying until it succeeds or ``close()``), re-creates the
/// ephemeral nodes it owns, and reports ``ZooKeeperSessionEvent/sessionReplaced``.
public final class ZooKeeperClient: @unchecked Sendable {
    let config: ZooKeeperConfig
    let logger: Logger
    let events = DispatchQueue(label: "gale.zookeeper.events")
    private let lock = NSRecursiveLock()
    private var handle: OpaquePointer?
    private var session: SessionBox?
    private var isClosed = false
    private var handlers: [@Sendable (ZooKeeperSessionEvent) -> Void] = []
    /// Ephemeral non-sequential nodes this client created: re-created after an expiry.
    private var ephemerals: [String: [UInt8]] = [:]

    /// Opens a session.
    /// - Throws: ``ZooKeeperError/connectTimeout(connectString:seconds:)`` when no session is
    ///   established within the connect timeout.
    public init(_ config: ZooKeeperConfig, logger: Logger) throws(ZooKeeperError) {
        self.config = config
        self.logger = logger
        let (handle, session) = try connect()
        self.handle = handle
        self.session = session
    }

    deinit { close() }

    private var connectSeconds: Double {
        config.connectTimeout.inSeconds
    }

    private func connect() throws(ZooKeeperError) -> (OpaquePointer, SessionBox) {
        let box = SessionBox(client: self)
        let context = Unmanaged.passRetained(box).toOpaque()
        let timeoutMs = Int32(
            clamping: config.sessionTimeout.components.seconds * 1000
                + config.sessionTimeout.components.attoseconds / 1_000_000_000_000_000
        )
        errno = 0
        ZooKeeperCLog.applyProcessLevel()
        guard
            let handle = zookeeper_init2(
                config.connectString,
                sessionWatcher,
                timeoutMs,
                nil,
                context,
                0,
                ZooKeeperCLog.callback
            )
        else {
            Unmanaged<SessionBox>.fromOpaque(context).release()
            throw .other(
                code: Int32(errno),
                message: "zookeeper_init failed: \(String(cString: strerror(errno)))",
                path: config.connectString
            )
        }
        box.handle = handle
        guard box.connected.wait(timeout: .now() + .milliseconds(Int(connectSeconds * 1000))) == .success else {
            box.dead = true
            zookeeper_close(handle)
            throw .connectTimeout(connectString: config.connectString, seconds: connectSeconds)
        }
        if let digest = config.digest {
            do {
                try authenticate(handle, user: digest.user, password: digest.password)
            } catch {
                box.dead = true
                zookeeper_close(handle)
                throw error
            }
        }
        return (handle, box)
    }

    /// Adds the digest credentials to the session and waits for the server's answer (at most the
    /// connect timeout). The C client sends them again after every reconnect.
    /// - Throws: ``ZooKeeperError/authFailed(connectString:user:reason:)`` when the server
    ///   refuses them or does not answer.
    private func authenticate(_ handle: OpaquePointer, user: String, password: String) throws(ZooKeeperError) {
        let credentials = "\(user):\(password)"
        let answer = AuthAnswer()
        // Retained for the completion, which releases it; leaked if it never comes (closed handle).
        let context = Unmanaged.passRetained(answer).toOpaque()
        let rc = zoo_add_auth(
            handle,
            "digest",
            credentials,
            Int32(credentials.utf8.count),
            authCompletion,
            context
        )
        guard rc == ZOK.rawValue else {
            Unmanaged<AuthAnswer>.fromOpaque(context).release()
            throw .authFailed(connectString: config.connectString, user: user, reason: String(cString: zerror(rc)))
        }
        guard answer.done.wait(timeout: .now() + .milliseconds(Int(connectSeconds * 1000))) == .success else {
            throw .authFailed(
                connectString: config.connectString,
                user: user,
                reason: "no answer to the authentication within \(connectSeconds) s"
            )
        }
        let result = answer.rc
        guard result == ZOK.rawValue else {
            throw .authFailed(connectString: config.connectString, user: user, reason: String(cString: zerror(result)))
        }
    }

    /// The servers this client connects to (`host:port[,host:port...]`), for error messages.
    public var connectString: String { config.connectString }

    /// The digest user this client authenticated as, if any.
    public var digestUser: String? { config.digest?.user }

    /// Adds a session event handler (called on the event queue).
    public func onSessionEvent(_ handler: @escaping @Sendable (ZooKeeperSessionEvent) -> Void) {
        lock.withLock { handlers.append(handler) }
    }

    /// The current session id.
    public var sessionId: Int64 {
        lock.withLock { handle.flatMap { zoo_client_id($0)?.pointee.client_id } ?? 0 }
    }

    /// Closes the session (its ephemeral nodes go away). Safe to call twice.
    public func close() {
        let old: OpaquePointer? = lock.withLock {
            isClosed = true
            defer { handle = nil }
            session?.dead = true
            return handle
        }
        if let old { zookeeper_close(old) }
    }

    // MARK: - Session events (from the C client's completion thread)

    func sessionEvent(state: Int32, box: SessionBox) {
        if state == ZOO_CONNECTED_STATE {
            box.connected.signal()
            guard box.everConnected.swap(true) else { return }
            notify(.connected)
        } else if state == ZOO_CONNECTING_STATE {
            notify(.disconnected)
        } else if state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE {
            events.async { [self] in replaceSession(expired: box) }
        }
    }

    private func notify(_ event: ZooKeeperSessionEvent) {
        let handlers = lock.withLock { self.handlers }
        events.async { for handler in handlers { handler(event) } }
    }

    /// Runs on the event queue after an expiry: new session, ephemeral nodes back, owners told.
    private func replaceSession(expired box: SessionBox) {
        let old: OpaquePointer? = lock.withLock {
            guard !isClosed, session === box else { return nil }
            box.dead = true
            defer { handle = nil }
            return handle
        }
        guard let old else { return }
        logger.warning("ZooKeeper session expired; opening a new one")
        for handler in lock.withLock({ handlers }) { handler(.expired) }
        zookeeper_close(old)
        var delay = 0.1
        while !lock.withLock({ isClosed }) {
            do {
                let (handle, session) = try connect()
                let nodes: [String: [UInt8]] = lock.withLock {
                    self.handle = handle
                    self.session = session
                    return ephemerals
                }
                for (path, data) in nodes.sorted(by: { $0.key < $1.key }) {
                    do {
                        _ = try createNode(path, data: data, mode: .ephemeral)
                    } catch {
                        logger.error("cannot re-create ephemeral node \(path) after session expiry: \(error)")
                    }
                }
                logger.info(
                    "new ZooKeeper session \(String(sessionId, radix: 16)); \(nodes.count) ephemeral nodes re-created"
                )
                for handler in lock.withLock({ handlers }) { handler(.sessionReplaced) }
                return
            } catch {
                logger.warning("cannot open a new ZooKeeper session: \(error); retrying in \(delay) s")
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 5)
            }
        }
    }

    // MARK: - Calls

    private func withHandle<T>(
        _ path: String,
        _ body: (OpaquePointer) throws(ZooKeeperError) -> T
    ) throws(ZooKeeperError) -> T {
        try Self.validate(path)
        lock.lock()
        defer { lock.unlock() }
        guard !isClosed else { throw .closed }
        guard let handle else { throw .sessionExpired }
        return try body(handle)
    }

    static func validate(_ path: String) throws(ZooKeeperError) {
        guard path.hasPrefix("/"), path == "/" || !path.hasSuffix("/"),
            !path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).contains(where: \.isEmpty)
                || path == "/",
            !path.contains("\0")
        else { throw .invalidPath(path) }
    }

    static func error(_ rc: Int32, _ path: String) -> ZooKeeperError {
        switch rc {
        case ZNONODE.rawValue: .noNode(path)
        case ZNODEEXISTS.rawValue: .nodeExists(path)
        case ZBADVERSION.rawValue: .badVersion(path)
        case ZNOTEMPTY.rawValue: .notEmpty(path)
        case ZNOAUTH.rawValue: .noAuth(path)
        case ZBADARGUMENTS.rawValue: .invalidPath(path)
        case ZCONNECTIONLOSS.rawValue, ZOPERATIONTIMEOUT.rawValue: .connectionLoss(path)
        case ZSESSIONEXPIRED.rawValue: .sessionExpired
        case ZCLOSING.rawValue, ZINVALIDSTATE.rawValue: .sessionExpired
        default: .other(code: rc, message: String(cString: zerror(rc)), path: path)
        }
    }

    private func watcherContext(_ watch: ZooKeeperWatch?) -> UnsafeMutableRawPointer? {
        guard let watch else { return nil }
        return Unmanaged.passRetained(WatchBox(watch, queue: events)).toOpaque()
    }

    private func release(_ context: UnsafeMutableRawPointer?) {
        if let context { Unmanaged<WatchBox>.fromOpaque(context).release() }
    }

    /// The ACL of the nodes this client creates.
    private var createACL: [ZooKeeperACL] { [config.digest == nil ? .anyone : .creatorAll] }

    private func withACL<T>(_ entries: [ZooKeeperACL]? = nil, _ body: (UnsafePointer<ACL_vector>) -> T) -> T {
        let entries = entries ?? createACL
        let strings = entries.map { (scheme: strdup($0.scheme), id: strdup($0.id)) }
        defer {
            for pair in strings {
                free(pair.scheme)
                free(pair.id)
            }
        }
        var acls = zip(entries, strings).map { entry, pair in
            ACL(perms: entry.permissions.rawValue, id: Id(scheme: pair.scheme, id: pair.id))
        }
        return acls.withUnsafeMutableBufferPointer { buffer in
            var vector = ACL_vector(count: Int32(buffer.count), data: buffer.baseAddress)
            return withUnsafePointer(to: &vector) { body($0) }
        }
    }

    private func createNode(_ path: String, data: [UInt8], mode: ZooKeeperCreateMode) throws(ZooKeeperError) -> String {
        try withHandle(path) { handle throws(ZooKeeperError) in
            var created = [CChar](repeating: 0, count: path.utf8.count + 64)
            let rc = withACL { acl in
                data.withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { chars in
                        zoo_create(
                            handle,
                            path,
                            chars.baseAddress,
                            Int32(data.count),
                            acl,
                            mode.flags,
                            &created,
                            Int32(created.count)
                        )
                    }
                }
            }
            guard rc == ZOK.rawValue else { throw Self.error(rc, path) }
            return String(decoding: created.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Creates `path`.
    /// - Returns: the created path (with the sequence number for sequential modes).
    @discardableResult
    public func create(
        _ path: String,
        data: [UInt8] = [],
        mode: ZooKeeperCreateMode = .persistent
    ) throws(ZooKeeperError) -> String {
        let created = try createNode(path, data: data, mode: mode)
        if mode == .ephemeral { lock.withLock { ephemerals[created] = data } }
        return created
    }

    /// Creates `path` and its missing parents (persistent, empty); existing nodes are fine.
    public func ensurePath(_ path: String) throws(ZooKeeperError) {
        try Self.validate(path)
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            do {
                try createNode(current, data: [], mode: .persistent)
            } catch .nodeExists {
                continue
            }
        }
    }

    /// Reads `path`, optionally leaving a one-shot watch for its change or deletion.
    public func get(
        _ path: String,
        watch: ZooKeeperWatch? = nil
    ) throws(ZooKeeperError) -> (data: [UInt8], stat: ZooKeeperStat) {
        try withHandle(path) { handle throws(ZooKeeperError) in
            var capacity = 64 * 1024
            while true {
                var buffer = [CChar](repeating: 0, count: capacity)
                var length = Int32(capacity)
                var stat = Stat()
                let context = watcherContext(watch)
                let rc = zoo_wget(handle, path, context == nil ? nil : nodeWatcher, context, &buffer, &length, &stat)
                guard rc == ZOK.rawValue else {
                    release(context)
                    throw Self.error(rc, path)
                }
                if Int(stat.dataLength) > capacity {
                    // Larger than the buffer: read again with room for all of it.
                    capacity = Int(stat.dataLength)
                    if context != nil { continue }
                    continue
                }
                let bytes = length > 0 ? buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) } : []
                return (bytes, Self.stat(stat))
            }
        }
    }

    /// Writes `path` when its version is `version` (`-1`: any).
    @discardableResult
    public func set(_ path: String, data: [UInt8], version: Int32 = -1) throws(ZooKeeperError) -> ZooKeeperStat {
        try withHandle(path) { handle throws(ZooKeeperError) in
            var stat = Stat()
            let rc = data.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) {
                    zoo_set2(handle, path, $0.baseAddress, Int32(data.count), version, &stat)
                }
            }
            guard rc == ZOK.rawValue else { throw Self.error(rc, path) }
            if lock.withLock({ ephemerals[path] != nil }) { lock.withLock { ephemerals[path] = data } }
            return Self.stat(stat)
        }
    }

    /// The children's names, optionally with a one-shot watch for a child added or removed.
    public func children(_ path: String, watch: ZooKeeperWatch? = nil) throws(ZooKeeperError) -> [String] {
        try withHandle(path) { handle throws(ZooKeeperError) in
            var vector = String_vector()
            let context = watcherContext(watch)
            let rc = zoo_wget_children(handle, path, context == nil ? nil : nodeWatcher, context, &vector)
            guard rc == ZOK.rawValue else {
                release(context)
                throw Self.error(rc, path)
            }
            defer { deallocate_String_vector(&vector) }
            return (0..<Int(vector.count)).compactMap { i in vector.data[i].map { String(cString: $0) } }
        }
    }

    /// The node's metadata, or `nil` when absent; the optional watch fires on creation, change or deletion.
    public func exists(_ path: String, watch: ZooKeeperWatch? = nil) throws(ZooKeeperError) -> ZooKeeperStat? {
        try withHandle(path) { handle throws(ZooKeeperError) in
            var stat = Stat()
            let context = watcherContext(watch)
            let rc = zoo_wexists(handle, path, context == nil ? nil : nodeWatcher, context, &stat)
            if rc == ZNONODE.rawValue { return nil }
            guard rc == ZOK.rawValue else {
                release(context)
                throw Self.error(rc, path)
            }
            return Self.stat(stat)
        }
    }

    /// The node's access control list, and its metadata.
    public func getACL(_ path: String) throws(ZooKeeperError) -> (acl: [ZooKeeperACL], stat: ZooKeeperStat) {
        try withHandle(path) { handle throws(ZooKeeperError) in
            var vector = ACL_vector()
            var stat = Stat()
            let rc = zoo_get_acl(handle, path, &vector, &stat)
            guard rc == ZOK.rawValue else { throw Self.error(rc, path) }
            defer { deallocate_ACL_vector(&vector) }
            let acl = (0..<Int(vector.count)).map { i in
                let entry = vector.data[i]
                return ZooKeeperACL(
                    scheme: entry.id.scheme.map { String(cString: $0) } ?? "",
                    id: entry.id.id.map { String(cString: $0) } ?? "",
                    permissions: ZooKeeperPermissions(rawValue: entry.perms)
                )
            }
            return (acl, Self.stat(stat))
        }
    }

    /// Replaces the node's access control list (it needs the `admin` permission), whatever its
    /// ACL version.
    public func setACL(_ path: String, _ acl: [ZooKeeperACL]) throws(ZooKeeperError) {
        try withHandle(path) { handle throws(ZooKeeperError) in
            let rc = withACL(acl) { zoo_set_acl(handle, path, -1, $0) }
            guard rc == ZOK.rawValue else { throw Self.error(rc, path) }
        }
    }

    /// Deletes `path` when its version is `version` (`-1`: any).
    public func delete(_ path: String, version: Int32 = -1) throws(ZooKeeperError) {
        try withHandle(path) { handle throws(ZooKeeperError) in
            let rc = zoo_delete(handle, path, version)
            guard rc == ZOK.rawValue else { throw Self.error(rc, path) }
        }
        _ = lock.withLock { ephemerals.removeValue(forKey: path) }
    }

    /// Deletes `path` and everything below it; no error when it is absent.
    public func deleteRecursive(_ path: String) throws(ZooKeeperError) {
        let children: [String]
        do {
            children = try self.children(path)
        } catch .noNode {
            return
        }
        for child in children { try deleteRecursive(path == "/" ? "/\(child)" : "\(path)/\(child)") }
        do {
            try delete(path)
        } catch .noNode {
            return
        }
    }

    /// Runs `ops` atomically: all succeed or none is applied.
    /// - Throws: the first failing operation's error, naming its path.
    public func multi(_ ops: [ZooKeeperOp]) throws(ZooKeeperError) {
        guard !ops.isEmpty else { return }
        for op in ops { try Self.validate(op.path) }
        try withHandle(ops[0].path) { handle throws(ZooKeeperError) in
            var cOps = [zoo_op_t](repeating: zoo_op_t(), count: ops.count)
            var results = [zoo_op_result_t](repeating: zoo_op_result_t(), count: ops.count)
            var keep: [UnsafeMutablePointer<CChar>] = []
            defer { for p in keep { p.deallocate() } }
            func c(_ s: String) -> UnsafeMutablePointer<CChar> {
                let utf8 = Array(s.utf8CString)
                let p = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
                p.initialize(from: utf8, count: utf8.count)
                keep.append(p)
                return p
            }
            func bytes(_ data: [UInt8]) -> UnsafeMutablePointer<CChar> {
                let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, data.count))
                for (i, b) in data.enumerated() { p[i] = CChar(bitPattern: b) }
                keep.append(p)
                return p
            }
            let rc: Int32 = withACL { acl in
                for (i, op) in ops.enumerated() {
                    switch op {
                    case .create(let path, let data, let mode):
                        let out = c(String(repeating: " ", count: path.utf8.count + 64))
                        zoo_create_op_init(
                            &cOps[i],
                            c(path),
                            bytes(data),
                            Int32(data.count),
                            acl,
                            mode.flags,
                            out,
                            Int32(path.utf8.count + 64)
                        )
                    case .set(let path, let data, let version):
                        zoo_set_op_init(&cOps[i], c(path), bytes(data), Int32(data.count), version, nil)
                    case .delete(let path, let version):
                        zoo_delete_op_init(&cOps[i], c(path), version)
                    case .check(let path, let version):
                        zoo_check_op_init(&cOps[i], c(path), version)
                    }
                }
                return zoo_multi(handle, Int32(ops.count), &cOps, &results)
            }
            guard rc == ZOK.rawValue else {
                let failing = results.indices.first {
                    results[$0].err != ZOK.rawValue && results[$0].err != ZRUNTIMEINCONSISTENCY.rawValue
                }
                throw Self.error(failing.map { results[$0].err } ?? rc, failing.map { ops[$0].path } ?? ops[0].path)
            }
        }
        lock.withLock {
            for op in ops {
                if case .delete(let path, _) = op { ephemerals[path] = nil }
                if case .create(let path, let data, .ephemeral) = op { ephemerals[path] = data }
            }
        }
    }

    static func stat(_ s: Stat) -> ZooKeeperStat {
        ZooKeeperStat(
            version: s.version,
            czxid: s.czxid,
            mzxid: s.mzxid,
            ephemeralOwner: s.ephemeralOwner,
            numChildren: s.numChildren,
            dataLength: s.dataLength
        )
    }

    /// The session's id and password, to force an expiry in tests.
    package var sessionCredentials: (id: Int64, password: [CChar])? {
        lock.withLock {
            guard let handle, let id = zoo_client_id(handle)?.pointee else { return nil }
            let password = withUnsafeBytes(of: id.passwd) { Array($0.bindMemory(to: CChar.self)) }
            return (id.client_id, password)
        }
    }
}

/// The handle's context: routes session events to the client.
final class SessionBox: @unchecked Sendable {
    weak var client: ZooKeeperClient?
    var handle: OpaquePointer?
    let connected = DispatchSemaphore(value: 0)
    let everConnected = AtomicFlag()
    var dead = false

    init(client: ZooKeeperClient) { self.client = client }
}

/// The answer to `zoo_add_auth`, filled in by ``authCompletion``.
final class AuthAnswer: @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    /// Written by the completion before it signals ``done``; read after the wait.
    var rc: Int32 = ZSYSTEMERROR.rawValue
}

private let authCompletion: void_completion_t = { rc, data in
    guard let data else { return }
    let answer = Unmanaged<AuthAnswer>.fromOpaque(data).takeRetainedValue()
    answer.rc = rc
    answer.done.signal()
}

/// A flag set once.
final class AtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    /// Sets the flag; returns the previous value.
    func swap(_ new: Bool) -> Bool {
        lock.withLock {
            defer { value = new }
            return value
        }
    }
}

/// A one-shot watch's callback.
final class WatchBox: @unchecked Sendable {
    let watch: ZooKeeperWatch
    let queue: DispatchQueue

    init(_ watch: @escaping ZooKeeperWatch, queue: DispatchQueue) {
        self.watch = watch
        self.queue = queue
    }
}

private let sessionWatcher: watcher_fn = { _, type, state, _, context in
    guard let context, type == ZOO_SESSION_EVENT else { return }
    let box = Unmanaged<SessionBox>.fromOpaque(context).takeUnretainedValue()
    guard !box.dead, let client = box.client else { return }
    client.sessionEvent(state: state, box: box)
}

private let nodeWatcher: watcher_fn = { _, type, _, path, context in
    guard let context else { return }
    // Session events reach node watchers too; the watch stays armed, so keep the box.
    guard type != ZOO_SESSION_EVENT else { return }
    let box = Unmanaged<WatchBox>.fromOpaque(context).takeRetainedValue()
    let kind: ZooKeeperWatchEvent.Kind =
        switch type {
        case ZOO_CREATED_EVENT: .created
        case ZOO_DELETED_EVENT: .deleted
        case ZOO_CHANGED_EVENT: .dataChanged
        case ZOO_CHILD_EVENT: .childrenChanged
        default: .notWatching
        }
    let event = ZooKeeperWatchEvent(kind: kind, path: path.map { String(cString: $0) } ?? "")
    box.queue.async { box.watch(event) }
}
