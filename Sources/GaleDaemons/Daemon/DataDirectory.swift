import Foundation
import GaleCoordination

/// A daemon's data directory, created with its parents, with errors that name the path and the
/// system's reason (`mkdir`'s errno) instead of a Foundation error code.
enum DataDirectory {
    /// Creates `path` and its missing parents (mode 0755) and checks that it is a writable
    /// directory.
    /// - Throws: ``DataDirectoryError`` naming the first path that could not be made.
    static func create(_ path: String) throws(DataDirectoryError) {
        guard !path.isEmpty else { throw .cannotCreate(path: path, reason: "the path is empty") }
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.pathSegments {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw .cannotCreate(path: prefix, reason: String(cString: strerror(errno)))
            }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .cannotCreate(path: path, reason: "it exists and is not a directory")
        }
        guard access(path, W_OK | X_OK) == 0 else {
            throw .cannotCreate(path: path, reason: "not writable: \(String(cString: strerror(errno)))")
        }
    }
}

/// A data directory that cannot be used.
public enum DataDirectoryError: Error, CustomStringConvertible {
    case cannotCreate(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason): "cannot use data directory \(path): \(reason)"
        }
    }
}
