import CGaleProcess
import Foundation
import GaleCoordination

#if canImport(Glibc)
import Glibc
#endif

/// Where a supervisor keeps its workers' files, and with which owner and modes:
///
///     DATA/workers/<topology id>/                    the topology's directory          0750
///     DATA/workers/<topology id>/<binary name>       its binary: a hard link of DATA/topologies/<digest>/<name>
///     DATA/workers/<topology id>/zookeeper-auth      the ZooKeeper credentials (ACLs)  0640
///     DATA/workers/<topology id>/<worker id>/        a worker's launch specs           0750
///     DATA/workers/<topology id>/<worker id>/epoch-<n>.json                            0640
///     DATA/workers/<topology id>/<worker id>/work/   the worker's working directory    0770
///
/// Every entry belongs to the supervisor; with ``WorkerIsolation`` its group is the topology's
/// (``TopologyGroups``), so the workers of one topology read their own files and write only
/// their `work/` directory, and other topologies' workers cannot enter any of it. Without it
/// the workers are the supervisor's own user and the modes give the group nothing (0700, 0600).
///
/// The supervisor writes only into directories no worker may write to, and removes a tree
/// below `DATA/workers` with ``removeTree(_:)``, which follows no symbolic link a worker left.
package struct WorkerFiles: Sendable {
    /// `DATA/workers`.
    package let root: String
    /// Whether the workers run as another user, in a group per topology.
    package let isolated: Bool

    var directoryMode: mode_t { isolated ? 0o750 : 0o700 }
    var workMode: mode_t { isolated ? 0o770 : 0o700 }
    var fileMode: mode_t { isolated ? 0o640 : 0o600 }

    func topologyDirectory(_ topologyId: String) -> String { "\(root)/\(topologyId)" }
    func workerDirectory(_ topologyId: String, _ workerId: String) -> String { "\(root)/\(topologyId)/\(workerId)" }
    func credentialsFile(_ topologyId: String) -> String { "\(root)/\(topologyId)/zookeeper-auth" }

    /// `name` can name a file in a directory: not empty, `.` or `..`, no `/`.
    package static func isFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }

    /// What `lstat` says of a file.
    struct Entry {
        var type: FileAttributeType?
        var uid: UInt32
        var gid: UInt32
        /// The permission bits (and set-id and sticky bits).
        var mode: UInt32
        var size: Int
        var device: UInt64
        var inode: UInt64
    }

    /// `path` itself (a link is not followed), or `nil` when it does not exist.
    static func entry(_ path: String) -> Entry? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        func number(_ key: FileAttributeKey) -> NSNumber? { attributes[key] as? NSNumber }
        return Entry(
            type: attributes[.type] as? FileAttributeType,
            uid: number(.ownerAccountID)?.uint32Value ?? UInt32.max,
            gid: number(.groupOwnerAccountID)?.uint32Value ?? UInt32.max,
            mode: number(.posixPermissions)?.uint32Value ?? 0,
            size: number(.size)?.intValue ?? 0,
            device: number(.systemNumber)?.uint64Value ?? 0,
            inode: number(.systemFileNumber)?.uint64Value ?? 0
        )
    }

    /// Whether `path` is a directory (not a link to one).
    static func isDirectory(_ path: String) -> Bool { entry(path)?.type == .typeDirectory }

    /// The group `path` has (not following a link), `nil` when it does not exist.
    package static func group(of path: String) -> UInt32? { entry(path)?.gid }

    /// Makes `path` a directory (not a link to one) with `mode` and, when given, `group`: creates
    /// it, or corrects an existing one.
    package static func ensureDirectory(_ path: String, group: UInt32?, mode: UInt32) throws(WorkerFilesError) {
        if mkdir(path, mode) != 0 && errno != EEXIST { throw .failed("cannot create \(path)", errno) }
        guard let info = entry(path) else { throw WorkerFilesError("cannot use \(path): it disappeared") }
        guard info.type == .typeDirectory else { throw WorkerFilesError("\(path) is not a directory") }
        if let group, info.gid != group, lchown(path, UInt32.max, group) != 0 {
            throw .failed("cannot give \(path) the group \(group)", errno)
        }
        if info.mode != mode, chmod(path, mode) != 0 {
            throw .failed("cannot set the mode of \(path)", errno)
        }
    }

    /// Makes `path` hold `bytes`, with `mode` and, when given, `group`; leaves a file that does
    /// already. Replaces it atomically: a new file (its temporary name must not exist, and is
    /// never followed as a link), its group and mode set, then renamed over `path`.
    package static func write(_ bytes: [UInt8], to path: String, group: UInt32?, mode: UInt32) throws(WorkerFilesError)
    {
        if let info = entry(path), info.type == .typeRegular, info.mode == mode, group.map({ $0 == info.gid }) ?? true,
            info.size == bytes.count,
            FileManager.default.contents(atPath: path).map(Array.init) == bytes
        {
            return
        }
        let temporary = "\(path).\(getpid()).tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .failed("cannot write \(temporary)", errno) }
        var failure: WorkerFilesError?
        if let group, fchown(fd, UInt32.max, group) != 0 {
            failure = .failed("cannot give \(temporary) the group \(group)", errno)
        } else if fchmod(fd, mode) != 0 {
            failure = .failed("cannot set the mode of \(temporary)", errno)
        } else {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    failure = .failed("cannot write \(temporary)", errno)
                    break
                }
                offset += n
            }
        }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 {
            failure = .failed("cannot rename \(temporary) to \(path)", errno)
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    /// Makes `path` a hard link of `source` (the same file, so the same owner and mode): `true`
    /// when it is one, `false` when `source` does not exist.
    package static func link(_ source: String, at path: String) throws(WorkerFilesError) -> Bool {
        guard let wanted = entry(source), wanted.type == .typeRegular else { return false }
        if let current = entry(path), current.device == wanted.device, current.inode == wanted.inode { return true }
        let temporary = "\(path).\(getpid()).tmp"
        unlink(temporary)
        guard Foundation.link(source, temporary) == 0 else {
            throw .failed("cannot link \(source) to \(temporary)", errno)
        }
        guard rename(temporary, path) == 0 else {
            let error = errno
            unlink(temporary)
            throw .failed("cannot rename \(temporary) to \(path)", error)
        }
        return true
    }

    /// Removes `path` and everything below it without following symbolic links
    /// (`gale_remove_tree`); `nil` once gone, else why not.
    package static func removeTree(_ path: String) -> String? {
        guard gale_remove_tree(path) != 0 else { return nil }
        return "cannot remove \(path): \(String(cString: strerror(errno)))"
    }

    /// Checks that `user` may search every directory from `/` down to `path`: owned by the user
    /// with its owner's search bit, or with the others' one (the workers have no group but
    /// their topology's).
    package static func checkReachable(_ path: String, by user: WorkerUser) throws(WorkerFilesError) {
        // Links resolved: every prefix is a directory whose own mode counts.
        var prefixes = ["/"]
        for part in URL(fileURLWithPath: path).resolvingSymlinksInPath().path.pathSegments {
            prefixes.append((prefixes.count == 1 ? "" : prefixes[prefixes.count - 1]) + "/" + part)
        }
        for prefix in prefixes {
            guard let info = entry(prefix) else { throw WorkerFilesError("cannot use \(prefix): it does not exist") }
            let searchable = info.uid == user.uid ? info.mode & 0o100 != 0 : info.mode & 0o001 != 0
            guard searchable else {
                let owner = WorkerUser.lookUp(String(info.uid))?.name ?? String(info.uid)
                throw WorkerFilesError(
                    "the workers' user \(user.name) cannot reach \(path): \(prefix) is mode "
                        + "\(String(info.mode, radix: 8)), owner \(owner); give every directory above "
                        + "the data directory search permission for others (chmod o+x)"
                )
            }
        }
    }
}

/// A worker file or directory that cannot be made, in one line naming it.
package struct WorkerFilesError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }

    static func failed(_ what: String, _ error: Int32) -> WorkerFilesError {
        WorkerFilesError("\(what): \(String(cString: strerror(error)))")
    }
}
