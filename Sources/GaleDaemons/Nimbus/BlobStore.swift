import Foundation
import GaleCoordination

/// Topology binaries on nimbus's disk, content-addressed by SHA-256: `<dir>/<hex digest>`.
public final class BlobStore: Sendable {
    /// The directory holding the blobs.
    public let directory: String

    /// Opens (creating) `directory`.
    /// - Throws: ``DataDirectoryError`` naming the path and the reason it cannot be created.
    public init(directory: String) throws {
        self.directory = directory
        try DataDirectory.create(directory)
        try DataDirectory.create(incomingDirectory)
        // What a crash left half-written.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: incomingDirectory)) ?? [] {
            unlink("\(incomingDirectory)/\(name)")
        }
    }

    /// `true` when `text` is a lowercase hex SHA-256 digest (so it is safe as a file name).
    public static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// Stores the file at `file` (moved, not copied: it must be on the blob directory's file
    /// system, e.g. in ``incomingDirectory``) and returns its digest, read from the file in
    /// chunks. An existing blob with the same digest is kept and `file` removed.
    /// - Parameter expected: the digest the file must have; another one is refused.
    /// - Throws: ``BlobStoreError``.
    @discardableResult
    public func install(file: String, expected: String? = nil) throws -> String {
        let digest: String
        do {
            digest = try SHA256Digest.hex(ofFile: file)
        } catch {
            unlink(file)
            throw BlobStoreError.writeFailed(path: file, reason: "\(error)")
        }
        if let expected, expected != digest {
            unlink(file)
            throw BlobStoreError.digestMismatch(expected: expected, actual: digest)
        }
        let path = self.path(of: digest)
        if FileManager.default.fileExists(atPath: path) {
            unlink(file)
            utimes(path, nil)
            return digest
        }
        guard rename(file, path) == 0 else {
            let code = errno
            unlink(file)
            throw BlobStoreError.writeFailed(path: path, reason: String(cString: strerror(code)))
        }
        chmod(path, 0o644)
        return digest
    }

    /// Where uploads and replicas are written while they arrive (same file system as the blobs).
    public var incomingDirectory: String { "\(directory)/incoming" }

    /// The path of blob `digest`, or `nil` when absent (or not a digest).
    public func existingPath(of digest: String) -> String? {
        guard Self.isDigest(digest) else { return nil }
        let path = self.path(of: digest)
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// The size of blob `digest`, or `nil` when absent.
    public func size(of digest: String) -> Int? {
        guard let path = existingPath(of: digest),
            let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? NSNumber
        else { return nil }
        return size.intValue
    }

    /// Every blob held, with the time it was stored (its file's modification time).
    func all() -> [(digest: String, storedAt: Date)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter(Self.isDigest).compactMap { name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path(of: name))
            return (attributes?[.modificationDate] as? Date).map { (name, $0) }
        }
    }

    /// Removes blob `digest` if present.
    public func remove(_ digest: String) {
        guard let path = existingPath(of: digest) else { return }
        try? FileManager.default.removeItem(atPath: path)
    }

    private func path(of digest: String) -> String { "\(directory)/\(digest)" }
}

/// A blob that could not be stored.
public enum BlobStoreError: Error, CustomStringConvertible {
    case writeFailed(path: String, reason: String)
    case digestMismatch(expected: String, actual: String)

    public var description: String {
        switch self {
        case .writeFailed(let path, let reason): "cannot write blob \(path): \(reason)"
        case .digestMismatch(let expected, let actual):
            "the bytes sent for blob \(expected) have SHA-256 \(actual); not stored"
        }
    }
}
