public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A user account of this host, as `supervisor.worker.user` names it.
public struct WorkerUser: Sendable, Equatable {
    public var name: String
    public var uid: UInt32
    /// Its home directory, its workers' `HOME`.
    public var home: String

    public init(name: String, uid: UInt32, home: String) {
        self.name = name
        self.uid = uid
        self.home = home
    }

    /// The account `value` names (a user name, or a numeric uid) in the user database, or `nil`.
    public static func lookUp(_ value: String) -> WorkerUser? {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let size = buffer.count
        let status =
            if let uid = UInt32(value) {
                getpwuid_r(uid, &entry, &buffer, size, &found)
            } else {
                getpwnam_r(value, &entry, &buffer, size, &found)
            }
        guard status == 0, found != nil, let name = entry.pw_name else { return nil }
        return WorkerUser(
            name: String(cString: name),
            uid: entry.pw_uid,
            home: entry.pw_dir.map { String(cString: $0) } ?? "/"
        )
    }

    /// Whether the group database knows `gid`.
    static func isGroup(_ gid: UInt32) -> Bool {
        var entry = group()
        var found: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let size = buffer.count
        let status = getgrgid_r(gid, &entry, &buffer, size, &found)
        // A lookup that fails (ERANGE: a group too large for the buffer) counts as a group.
        return status != 0 || found != nil
    }
}

/// How a supervisor running as root starts its workers: as ``user``, with no supplementary
/// groups and, as primary group, one of ``groups`` per topology (``TopologyGroups``), so that
/// the workers of one topology cannot read another's files.
public struct WorkerIsolation: Sendable, Equatable {
    public var user: WorkerUser
    public var groups: ClosedRange<UInt32>

    public init(user: WorkerUser, groups: ClosedRange<UInt32>) {
        self.user = user
        self.groups = groups
    }

    /// The default of `supervisor.worker.gid.range`: in a range systemd leaves unused (between
    /// the ids of containers' mapped users and of dynamic service users, docs.systemd.io UIDS-GIDS).
    public static let defaultGroups: ClosedRange<UInt32> = 60_600...61_099
}

extension GaleConfig {
    /// Who the supervisor's workers run as, from `supervisor.worker.user` and
    /// `supervisor.worker.gid.range`: `nil` when they run as the supervisor's own user (it is not
    /// root, and the key is unset or names that user).
    /// - Parameters:
    ///   - euid: the supervisor's effective uid.
    ///   - lookUp: finds a user by name or uid (``WorkerUser/lookUp(_:)``).
    /// - Throws: the supervisor runs as root and the key is unset; the user does not exist or is
    ///   root; or it is another user than the supervisor's own and the supervisor is not root.
    ///   One line naming the key.
    public func workerIsolation(
        euid: UInt32 = geteuid(),
        lookUp: (String) -> WorkerUser? = WorkerUser.lookUp
    ) throws(ConfigError) -> WorkerIsolation? {
        let key = "supervisor.worker.user"
        guard let value = text(key) else {
            guard euid != 0 else {
                throw ConfigError(
                    "the supervisor runs as root and \(key) is not set: set it (or pass --worker-user) to the "
                        + "unprivileged user its workers run as, such as gale-worker (docs/security.md)"
                )
            }
            return nil
        }
        let origin = source(key).map(Self.label) ?? key
        guard let user = lookUp(value) else {
            throw ConfigError("\(origin): \(key): no user '\(value)' on this host")
        }
        guard user.uid != 0 else {
            throw ConfigError(
                "\(origin): \(key): '\(value)' is root; workers run the topologies' code: name an unprivileged user"
            )
        }
        guard euid == 0 else {
            if user.uid == euid { return nil }
            throw ConfigError(
                "\(origin): \(key): '\(value)' (uid \(user.uid)) is not the supervisor's own user (uid \(euid)): "
                    + "only a supervisor running as root starts its workers as another user"
            )
        }
        return WorkerIsolation(
            user: user,
            groups: gidRange("supervisor.worker.gid.range") ?? WorkerIsolation.defaultGroups
        )
    }

    /// A `FIRST-LAST` group id range key's value.
    public func gidRange(_ name: String) -> ClosedRange<UInt32>? {
        text(name).flatMap(Self.parseGidRange)
    }

    /// `FIRST-LAST` with 1 ≤ FIRST ≤ LAST ≤ 2147483647 (systemd advises against ids from 2^31 on).
    static func parseGidRange(_ text: String) -> ClosedRange<UInt32>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2,
            let first = UInt32(parts[0].trimmingCharacters(in: .whitespaces)),
            let last = UInt32(parts[1].trimmingCharacters(in: .whitespaces)),
            first >= 1, first <= last, last <= 2_147_483_647
        else { return nil }
        return first...last
    }
}

/// The group of each topology's workers when they run as another user
/// (``WorkerIsolation``): a gid of `supervisor.worker.gid.range` that no group of the host has
/// (the kernel needs no group entry), chosen from the topology id so that it is the same on
/// every host and every run unless taken. The supervisor records it as the group of the
/// topology's directory, which holds it while the directory exists.
package enum TopologyGroups {
    /// The first gid of `range`, starting at the topology id's own (its hash) and wrapping
    /// around, that `taken` does not hold and `isGroup` does not know (the workers would get
    /// that group's files); never 65535 (16-bit -1). `nil`: none is free.
    package static func choose(
        for topologyId: String,
        in range: ClosedRange<UInt32>,
        taken: Set<UInt32>,
        isGroup: (UInt32) -> Bool = WorkerUser.isGroup
    ) -> UInt32? {
        let count = UInt64(range.upperBound - range.lowerBound) + 1
        let start = hash(topologyId) % count
        for step in 0..<count {
            let gid = range.lowerBound + UInt32((start + step) % count)
            if gid != 65_535 && !taken.contains(gid) && !isGroup(gid) { return gid }
        }
        return nil
    }

    /// FNV-1a (64 bits) of the id's UTF-8: the same in every process, unlike `Hasher`.
    static func hash(_ id: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
