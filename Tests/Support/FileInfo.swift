public import Foundation

/// Owner, group, permission bits, type and inode of a file (not following a link).
public struct FileInfo: Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var mode: Int
    public var type: FileAttributeType?
    public var inode: UInt64

    /// What `path` is now; for a missing file uid and gid are `UInt32.max` and mode is -1.
    public init(_ path: String) {
        let attributes = (try? FileManager.default.attributesOfItem(atPath: path)) ?? [:]
        uid = (attributes[.ownerAccountID] as? NSNumber)?.uint32Value ?? UInt32.max
        gid = (attributes[.groupOwnerAccountID] as? NSNumber)?.uint32Value ?? UInt32.max
        mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
        type = attributes[.type] as? FileAttributeType
        inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
    }
}

/// The lines of `/proc/<pid>/status` by name (`Uid`: real, effective, saved and filesystem
/// uid; `Gid`; `Groups`), empty when the process is gone.
public func processStatus(_ pid: pid_t) -> [String: String] {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    var lines: [String: String] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1)
        if parts.count == 2 { lines[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
    }
    return lines
}
