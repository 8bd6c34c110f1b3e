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

/// Why a ``PrivateFile`` cannot be used, in one line that names the file.
public struct PrivateFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
