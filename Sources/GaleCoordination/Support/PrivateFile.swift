import Foundation

/// A file holding a secret (a password, a token): readable by its owner and group only.
public enum PrivateFile {
    /// The content of `path` without surrounding whitespace. Users other than the file's owner
    /// and group must have no access to it (mode 0600, 0400 or 0440).
    /// - Throws: ``PrivateFileError`` naming the file and the problem: it cannot be read, other
    ///   users may access it, or it is empty.
    public static func read(_ path: String) throws(PrivateFileError) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw PrivateFileError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o007 == 0 else {
            throw PrivateFileError(
                "\(path) is readable by other users (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it"
            )
        }
        guard let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines)
        else {
            throw PrivateFileError("cannot read \(path)")
        }
        guard !text.isEmpty else { throw PrivateFileError("\(path) is empty") }
        return text
    }
}

extension PrivateFile {
    /// Writes `bytes` to `path` readable and writable by the owner only (mode 0600), replacing
    /// it atomically: a temporary file created 0600 in the same directory, then renamed.
    /// - Throws: ``PrivateFileError`` naming the file.
    public static func write(_ bytes: [UInt8], to path: String) throws(PrivateFileError) {
        let temporary = "\(path).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PrivateFileError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw PrivateFileError("cannot write \(temporary): \(reason)")
            }
            offset += n
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw PrivateFileError("cannot rename \(temporary) to \(path): \(reason)")
        }
    }
}

/// Why a ``PrivateFile`` cannot be used, in one line that names the file.
public struct PrivateFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
