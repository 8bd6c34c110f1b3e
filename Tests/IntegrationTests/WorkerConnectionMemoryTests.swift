import Foundation
import Gale
import GaleCoordination
import GaleRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A worker process's memory under connections that never complete the handshake (the load of
/// the bug report: twenty connections, each announcing a 64 MiB frame and sending 20 MiB).
@Suite(.serialized, .timeLimit(.minutes(3))) struct WorkerConnectionMemoryTests {
    static let connections = 20
    static let announcedFrameBytes = 64 * 1024 * 1024
    static let bytesPerConnection = 20 * 1024 * 1024
    /// What the worker's RSS may grow by across the load. The load sends 400 MiB; a worker that
    /// buffered it held about 20 × 20 MiB (more with the buffers' doubling) and kept it after the
    /// connections closed. A worker that closes each connection at its oversized header allocates
    /// at most one read buffer per connection (1 MiB at most, the receive allocator's maximum), so
    /// 20 MiB if all are alive at once, plus tcmalloc's thread caches (at most 4 MiB each, a few
    /// threads) and the worker's own churn (heartbeats, logging): 64 MiB covers that with room
    /// and is a sixth of what the bug pins.
    static let rssMargin = 64 * 1024 * 1024

    @Test func connectionsThatNeverCompleteTheHandshakeDoNotPinMemoryInAWorker() async throws {
        let worker = try await WorkerProcess.start(name: "conn-memory")
        defer { worker.stop() }

        // Before the load: the worker answers a peer's handshake.
        try worker.expectServing()
        try await Task.sleep(for: .seconds(1))
        let before = try worker.rss()

        var sockets: [LoadConnection] = []
        for _ in 0..<Self.connections { sockets.append(try LoadConnection(port: worker.port)) }
        var header = withUnsafeBytes(of: UInt32(Self.announcedFrameBytes).littleEndian) { Array($0) }
        header.append(WireFormat.FrameType.batch.rawValue)
        let chunk = [UInt8](repeating: 0x5A, count: 1024 * 1024)
        var sent: [Int] = []
        for socket in sockets {
            var total = socket.send(header[...])
            while total < 4 + Self.bytesPerConnection, !socket.peerClosed {
                total += socket.send(chunk.prefix(4 + Self.bytesPerConnection - total))
            }
            sent.append(total)
        }
        let loaded = try worker.rss()
        for socket in sockets { socket.close() }
        sockets.removeAll()

        // The worker may take a moment to see the closes and free what it held.
        let limit = before + Self.rssMargin
        var after = try worker.rss()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(15)
        while after >= limit, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
            after = try worker.rss()
        }
        let mib = { (bytes: Int) in "\(bytes / (1024 * 1024)) MiB" }
        let report =
            "RSS before \(mib(before)), with the connections open \(mib(loaded)), after they closed \(mib(after)); "
            + "sent \(mib(sent.reduce(0, +))) in all (per connection: \(sent.map(mib)))"
        print("[WorkerConnectionMemoryTests] \(report)")
        #expect(after < limit, "the worker's RSS stays below its pre-load RSS + \(mib(Self.rssMargin)): \(report)")
        #expect(worker.isAlive, "the worker survives the load; log: \(worker.log)")
        try worker.expectServing()
    }
}

/// A worker process of the fixture topology (`gale-test-topology worker --assignment FILE`),
/// started without a supervisor: its heartbeats go unanswered and its orphan timeout is an hour,
/// so it runs until ``stop()``. It runs every task of the topology, inactive (no spout emits),
/// and needs no ZooKeeper.
struct WorkerProcess {
    let pid: pid_t
    let port: Int
    let topologyId: String
    let epoch = 1
    let root: String
    var log: String { root + "/worker.log" }

    static func start(name: String) async throws -> WorkerProcess {
        let binaries = try ClusterHarness.locateBinaries()
        let binary = binaries + "/gale-test-topology"
        let root = NSTemporaryDirectory() + "gale-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root + "/output", withIntermediateDirectories: true)
        // The task ids as nimbus numbers them, from the binary's own description.
        let described = try ClusterHarness.run(binary, ["describe"])
        guard described.status == 0 else { throw SmokeTestFailure("describe failed: \(described.output)") }
        let description = try JSONDecoder().decode(TopologyDescription.self, from: Data(described.output.utf8))
        let endpoint = Endpoint(host: "127.0.0.1", port: ClusterHarness.freePort())
        var tasks: [Int: Endpoint] = [:]
        for id in description.taskIds.values.joined() { tasks[id] = endpoint }
        let topologyId = "\(name)-\(UInt32.random(in: 0...UInt32.max))"
        let spec = WorkerLaunchSpec(
            workerId: "\(topologyId)-\(endpoint.port)",
            topologyId: topologyId,
            topologyName: description.name,
            epoch: 1,
            endpoint: endpoint,
            taskEndpoints: tasks,
            configOverrides: ["test.output": root + "/output"],
            parallelism: [:],
            active: false,
            // Nothing listens there: the worker's heartbeats fail, and it does not mind for an hour.
            supervisor: Endpoint(host: "127.0.0.1", port: ClusterHarness.freePort()),
            orphanTimeoutSeconds: 3600
        )
        let specPath = root + "/spec.json"
        try Data(try ClusterJSON.encode(spec)).write(to: URL(fileURLWithPath: specPath))
        let pid = try ClusterHarness.spawn(
            binary,
            ["worker", "--log-level", "info", "--assignment", specPath],
            log: root + "/worker.log"
        )
        let worker = WorkerProcess(pid: pid, port: endpoint.port, topologyId: topologyId, root: root)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while (try? LoadConnection(port: endpoint.port)) == nil {
            guard worker.isAlive, clock.now < deadline else {
                worker.stop()
                throw SmokeTestFailure("the worker did not start listening on \(endpoint); log: \(worker.log)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return worker
    }

    /// `true` while the process runs (not exited, not a zombie).
    var isAlive: Bool {
        guard kill(pid, 0) == 0,
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        else { return false }
        return !stat.contains(") Z ")
    }

    /// The process's resident set (`VmRSS` of /proc/PID/status), in bytes.
    func rss() throws -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = line.split(separator: " ").compactMap({ Int($0) }).first
        else { throw SmokeTestFailure("no VmRSS for process \(pid); log: \(log)") }
        return kilobytes * 1024
    }

    /// Connects as a peer would and expects a `welcome`: the worker still accepts and answers
    /// connections. The topology's digest is not known here (it is computed from the topology
    /// the binary builds), so a first hello with digest 0 is refused with a reason that names
    /// the expected one.
    func expectServing() throws {
        var hello = Handshake(
            topologyId: topologyId,
            epoch: epoch,
            digest: 0,
            address: WorkerAddress(host: "127.0.0.1", port: 1)
        )
        let refused = try LoadConnection(port: port).exchange(hello.frame(as: .hello))
        try #require(refused.type == WireFormat.FrameType.refuse.rawValue, "a wrong digest is refused: \(refused)")
        guard let tail = refused.text.split(separator: "expected ").last,
            let expected = UInt64(tail.prefix(while: \.isNumber))
        else { throw SmokeTestFailure("no expected digest in the refusal [\(refused.text)]") }
        hello.digest = expected
        let welcomed = try LoadConnection(port: port).exchange(hello.frame(as: .hello))
        #expect(welcomed.type == WireFormat.FrameType.welcome.rawValue, "the worker welcomes a peer: \(welcomed)")
    }

    func stop() {
        kill(pid, SIGTERM)
        ClusterHarness.reap(pid, grace: 10)
    }
}

/// A blocking loopback TCP client (10 s send and receive timeouts).
final class LoadConnection {
    private var fd: Int32
    /// Set once a send failed: the peer closed or reset the connection.
    private(set) var peerClosed = false

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = PausableProxy.loopback(port: UInt16(port))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw SmokeTestFailure("connect to port \(port) failed: \(reason)")
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close() }

    /// Sends what it can of `bytes`. - Returns: the bytes sent (fewer once the peer has closed).
    func send(_ bytes: ArraySlice<UInt8>) -> Int {
        var offset = bytes.startIndex
        while offset < bytes.endIndex, !peerClosed {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
            } else {
                peerClosed = true
            }
        }
        return offset - bytes.startIndex
    }

    /// Sends `bytes` and reads the first frame of the answer: its type and its body as text.
    func exchange(_ bytes: [UInt8]) -> (type: UInt8?, text: String) {
        _ = send(bytes[...])
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if answer.count >= 4 {
                let length = answer.prefix(4).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
                if answer.count >= 4 + length { break }
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        guard answer.count >= 5 else { return (nil, "") }
        return (answer[4], String(decoding: answer.dropFirst(5), as: UTF8.self))
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
