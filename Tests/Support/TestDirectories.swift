import Foundation

/// Test directories kept for diagnosis, without the bulk.
public enum TestDirectories {
    /// Deletes every regular file under `root` larger than `limit` bytes whose name does not end
    /// in `.log`: topology binaries (nimbus's blob and each supervisor's copy of a debug build are
    /// over 100 MB), ZooKeeper's preallocated transaction logs, Kafka payloads. Logs and the
    /// small files tests read stay, so a failed test's directory can still be read.
    public static func pruneLargeFiles(under root: String, limit: Int = 1 << 20) {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return }
        while let relative = walker.nextObject() as? String {
            guard !relative.hasSuffix(".log") else { continue }
            let path = root + "/" + relative
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                attributes[.type] as? FileAttributeType == .typeRegular,
                let size = attributes[.size] as? Int, size > limit
            else { continue }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
