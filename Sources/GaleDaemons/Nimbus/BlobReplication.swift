import Foundation
import Gale
import GaleCoordination
import Logging
import Synchronization

/// Keeps every nimbus holding every binary a topology needs: pushes a new upload to the other
/// nimbus processes, and fetches the binaries it lacks from them.
///
/// A follower that was down when a binary was uploaded, or a nimbus started later with an
/// empty data directory, fetches it within a few seconds of starting (every
/// ``syncInterval``); a follower that becomes leader serves every binary it fetched. What no
/// live nimbus holds cannot be fetched: ``missing`` names it, and nimbus shows it in the
/// topology's status.
final class BlobReplication: Sendable {
    /// What to hold and whom to ask: the digests of the topologies in ZooKeeper (`nil` when
    /// ZooKeeper could not be read), and the other nimbus processes' API addresses.
    typealias Targets = @Sendable () -> (wanted: Set<String>?, peers: [Endpoint])

    let blobs: BlobStore
    let logger: Logger
    let http: HTTPClient
    /// Pushes wait less: a follower that hangs delays a submission by at most this.
    let pushHTTP: HTTPClient
    let syncInterval: Duration
    /// `Authorization` header with the cluster secret, for the other nimbus processes.
    let authorization: [(name: String, value: String)]
    /// A blob no topology names is deleted once it is this old (an upload is named by its
    /// submission within moments; a killed topology's binary goes after this long).
    let orphanAge: Duration
    /// Wanted digests no peer could serve, with each peer's answer.
    private let missingBlobs = Mutex<[String: String]>([:])

    init(
        blobs: BlobStore,
        logger: Logger,
        credential: String? = nil,
        tls: HTTPClientTLS? = nil,
        syncInterval: Duration = .seconds(2),
        orphanAge: Duration = .seconds(3600)
    ) {
        self.blobs = blobs
        self.logger = logger
        self.http = HTTPClient(timeout: .seconds(120), tls: tls)
        self.pushHTTP = HTTPClient(timeout: .seconds(30), tls: tls)
        self.authorization = credential.map { [(name: "authorization", value: "Bearer \($0)")] } ?? []
        self.syncInterval = syncInterval
        self.orphanAge = orphanAge
    }

    /// One pass, run every ``syncInterval`` by nimbus's `blob-replication` service: fetches
    /// missing binaries, and deletes those no topology has named for ``orphanAge``.
    func pass(_ targets: Targets) async {
        let (wanted, peers) = targets()
        guard let wanted else { return }
        await fetchMissing(wanted: wanted, peers: peers)
        removeOrphans(wanted: wanted, now: Date())
    }

    /// Why a wanted binary is not on this nimbus, or `nil` when it is (or is not wanted).
    func missing(_ digest: String) -> String? {
        guard blobs.existingPath(of: digest) == nil else { return nil }
        return missingBlobs.withLock { $0[digest] } ?? "not fetched from the other nimbus processes yet"
    }

    /// Fetches each wanted digest this nimbus lacks from the first peer that has it (verified).
    func fetchMissing(wanted: Set<String>, peers: [Endpoint]) async {
        missingBlobs.withLock { $0 = $0.filter { wanted.contains($0.key) } }
        for digest in wanted.sorted() where BlobStore.isDigest(digest) && blobs.existingPath(of: digest) == nil {
            var answers: [String] = []
            for peer in peers {
                let file = "\(blobs.incomingDirectory)/fetch-\(UUID().uuidString)"
                do {
                    let size = try await http.download(
                        address: peer.description,
                        path: NimbusRoute.blob.path(digest),
                        to: file,
                        headers: authorization
                    )
                    try blobs.install(file: file, expected: digest)
                    logger.info("fetched blob \(digest) (\(size) bytes) from nimbus \(peer)")
                    answers = []
                    break
                } catch {
                    unlink(file)
                    answers.append("\(peer): \(error)")
                }
            }
            guard !answers.isEmpty || peers.isEmpty else {
                missingBlobs.withLock { _ = $0.removeValue(forKey: digest) }
                continue
            }
            let why =
                peers.isEmpty
                ? "no other nimbus is running to fetch it from"
                : "no other nimbus could serve it (\(answers.joined(separator: "; ")))"
            let first = missingBlobs.withLock { m in
                defer { m[digest] = why }
                return m[digest] == nil
            }
            if first { logger.error("blob \(digest) of a submitted topology is not on this nimbus: \(why)") }
        }
    }

    /// Deletes the blobs that `wanted` does not name and that were stored over ``orphanAge``
    /// before `now`.
    func removeOrphans(wanted: Set<String>, now: Date) {
        for (digest, storedAt) in blobs.all() where !wanted.contains(digest) {
            guard now.timeIntervalSince(storedAt) > orphanAge.inSeconds else { continue }
            blobs.remove(digest)
            logger.info("removed blob \(digest): no topology has used it for \(Int(orphanAge.inSeconds)) s")
        }
    }

    /// Pushes a stored blob (the file at `file`) to `peers` at once (each verifies its digest),
    /// streamed from disk.
    /// - Returns: the peers that stored it, and the others with their answers.
    func push(file: String, digest: String, to peers: [Endpoint]) async -> (stored: [String], failed: [String: String])
    {
        await withTaskGroup(of: (String, String?).self) { group in
            for peer in peers {
                group.addTask { [pushHTTP, authorization] in
                    do {
                        let response = try await pushHTTP.send(
                            "PUT",
                            address: peer.description,
                            path: NimbusRoute.replicateBlob.path(digest),
                            bodyFile: file,
                            headers: [(name: "content-type", value: "application/octet-stream")] + authorization
                        )
                        return (
                            peer.description,
                            (200..<300).contains(response.status)
                                ? nil : response.errorMessage ?? "HTTP \(response.status)"
                        )
                    } catch {
                        return (peer.description, "\(error)")
                    }
                }
            }
            var stored: [String] = []
            var failed: [String: String] = [:]
            for await (peer, error) in group {
                if let error { failed[peer] = error } else { stored.append(peer) }
            }
            return (stored.sorted(), failed)
        }
    }
}
