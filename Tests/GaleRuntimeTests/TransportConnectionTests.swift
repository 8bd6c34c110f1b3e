import Gale
import Synchronization
import Testing

@testable import GaleRuntime

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client on loopback for feeding a worker raw bytes.
final class RawConnection {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else { throw TestError("connect to port \(port) failed: errno \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// Reads one frame (waiting up to the 10 s receive timeout). - Returns: its type and body, or
    /// `nil` when the peer closed first.
    func readFrame() -> (type: UInt8, body: [UInt8])? {
        func read(_ count: Int) -> [UInt8]? {
            var bytes = [UInt8](repeating: 0, count: count)
            var offset = 0
            while offset < count {
                let n = bytes[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { return nil }
                offset += n
            }
            return bytes
        }
        guard let header = read(5) else { return nil }
        let length = header.prefix(4).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard let body = read(length - 1) else { return nil }
        return (header[4], body)
    }

    /// `true` unless the peer has closed the connection (or reset it); does not wait.
    var isOpen: Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    }

    /// Reads until the peer closes (or the 10 s receive timeout). - Returns: the bytes and whether
    /// the connection was closed by the peer.
    func readUntilClosed() -> (bytes: [UInt8], closed: Bool) {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (all, true) }
            if n < 0 { return (all, errno == ECONNRESET) }
            all += chunk[0..<n]
        }
    }
}

/// A length-prefixed frame of `type` with `body`.
func frame(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
    let length = UInt32(body.count + 1)
    return withUnsafeBytes(of: length.littleEndian) { Array($0) } + [type] + body
}

/// Bad input on one connection closes that connection only; the worker keeps running.
@Suite(.serialized, .timeLimit(.minutes(2))) struct TransportConnectionTests {
    /// Two workers running a finite word count, plus the port and handshake of worker 1.
    static func withTwoWorkers(
        _ body: (TestCluster, _ hello: Handshake, _ log: WordCountLog, _ n: Int) async throws -> Void
    ) async throws {
        let n = 500
        let log = WordCountLog()
        let topology = try WordCount.topology(name: "bad-input", sentences: n, log: log)
        var cluster = TestCluster(topology: topology, workers: 2)
        try await withCluster(&cluster, running: topology) { cluster in
            let hello = Handshake(
                topologyId: cluster.topologyId,
                epoch: 1,
                digest: WireSources(plan: TopologyPlan(topology: topology)).digest,
                address: WorkerAddress(host: "127.0.0.1", port: 1)
            )
            try await body(cluster, hello, log, n)
        }
    }

    /// One inactive worker running the whole word count with `options`, and its handshake.
    static func withOneWorker(
        _ options: TransportOptions,
        _ body: (ClusterWorker, _ hello: Handshake) async throws -> Void
    ) async throws {
        let topology = try WordCount.topology(name: "limits", sentences: 10, log: WordCountLog())
        let cluster = TestCluster(topology: topology, workers: 1)
        let worker = try await ClusterWorker(
            topology: topology,
            layout: cluster.layout(0),
            logger: TestCluster.logger,
            activate: false,
            options: options
        )
        let hello = Handshake(
            topologyId: cluster.topologyId,
            epoch: 1,
            digest: WireSources(plan: TopologyPlan(topology: topology)).digest,
            address: WorkerAddress(host: "127.0.0.1", port: 1)
        )
        do {
            try await body(worker, hello)
        } catch {
            await worker.shutdown(drainTimeout: .zero)
            throw error
        }
        await worker.shutdown(drainTimeout: .zero)
    }

    /// The worker still completes the whole word count after `attack` hit its listener.
    static func expectStillWorking(_ cluster: TestCluster, _ log: WordCountLog, _ n: Int) async throws {
        try await require("every sentence is still acked") { log.spout.ackCount >= n }
        #expect(log.counts.withLock { $0 } == WordCount.truth(n))
        #expect(cluster.workers.allSatisfy { $0.allPeersConnected })
    }

    @Test(arguments: [
        ("unknown frame type", frame(99, [1, 2, 3])),
        ("batch for an unknown source", frame(4, [1, 0, 0, 0, 1, 0, 0, 0, 0, 200, 1, 2])),
        ("truncated batch", frame(4, [1, 0, 0, 0, 5, 0, 0, 0, 4])),
        ("unknown envelope kind", frame(4, [1, 0, 0, 0, 1, 0, 0, 0, 77])),
        ("oversized frame", [0xF0, 0xFF, 0xFF, 0xFF, 4, 0, 0, 0]),
        ("empty frame", [0, 0, 0, 0]),
        ("second hello", []),
    ])
    func aCorruptFrameAfterTheHandshakeClosesOnlyThatConnection(_ name: String, _ bytes: [UInt8]) async throws {
        try await Self.withTwoWorkers { cluster, hello, log, n in
            let target = cluster.workers[1]
            let before = target.transportStats()
            let connection = try RawConnection(port: target.port)
            connection.send(hello.frame(as: .hello))
            connection.send(bytes.isEmpty ? hello.frame(as: .hello) : bytes)
            let (reply, closed) = connection.readUntilClosed()
            #expect(closed, "[\(name)] closes the connection")
            #expect(reply.count > 5 && reply[4] == WireFormat.FrameType.welcome.rawValue)
            let after = target.transportStats()
            #expect(after.corruptFrames == before.corruptFrames + 1, "[\(name)] is counted")
            try await Self.expectStillWorking(cluster, log, n)
        }
    }

    @Test func dataBeforeTheHandshakeClosesTheConnection() async throws {
        try await Self.withTwoWorkers { cluster, _, log, n in
            let target = cluster.workers[0]
            let connection = try RawConnection(port: target.port)
            connection.send(frame(4, [1, 0, 0, 0, 1, 0, 0, 0, 5] + Array(repeating: 0, count: 8)))
            #expect(connection.readUntilClosed().closed)
            #expect(target.transportStats().corruptFrames == 1)
            try await Self.expectStillWorking(cluster, log, n)
        }
    }

    /// Before the handshake only a hello-sized frame is accepted: a longer one closes the
    /// connection at its length field, without waiting for (or buffering) its body.
    @Test func anOversizedFrameBeforeTheHandshakeClosesTheConnectionAtOnce() async throws {
        try await Self.withTwoWorkers { cluster, _, log, n in
            let target = cluster.workers[0]
            let connection = try RawConnection(port: target.port)
            // Only the length field of a frame far below maxFrameBytes, but larger than any hello.
            let length = UInt32(WireFormat.maxHandshakeFrameBytes + 1)
            connection.send(withUnsafeBytes(of: length.littleEndian) { Array($0) })
            let (reply, closed) = connection.readUntilClosed()
            #expect(closed, "closed without the body")
            #expect(reply.isEmpty)
            #expect(target.transportStats().corruptFrames == 1)
            try await Self.expectStillWorking(cluster, log, n)
        }
    }

    /// A connection that sends nothing is closed once the handshake deadline passes; one whose
    /// hello was accepted stays open past it.
    @Test func aConnectionThatSendsNoHelloIsClosedAfterTheHandshakeDeadline() async throws {
        var options = TestCluster.options
        options.inboundHandshakeDeadline = .milliseconds(200)
        try await Self.withOneWorker(options) { worker, hello in
            let peer = try RawConnection(port: worker.port)
            peer.send(hello.frame(as: .hello))
            #expect(peer.readFrame()?.type == WireFormat.FrameType.welcome.rawValue)
            // Connected after the peer, so its deadline passes after the peer's would have.
            let silent = try RawConnection(port: worker.port)
            let (reply, closed) = silent.readUntilClosed()
            #expect(closed, "the silent connection is closed")
            #expect(reply.isEmpty)
            #expect(peer.isOpen, "the peer's connection outlives its deadline")
            let stats = worker.transportStats()
            #expect(stats.handshakeDeadlinesMissed == 1)
            #expect(stats.corruptFrames == 0)
            try await require("the closed connection no longer waits for its handshake") {
                worker.transportStats().pendingHandshakes == 0
            }
        }
    }

    /// Connections waiting for their hello are capped; a connection beyond the cap is closed at
    /// once, and a completed handshake frees a place.
    @Test func connectionsWaitingForTheirHandshakeAreCapped() async throws {
        var options = TestCluster.options
        options.maxPendingHandshakes = 2
        try await Self.withOneWorker(options) { worker, hello in
            let a = try RawConnection(port: worker.port)
            let b = try RawConnection(port: worker.port)
            try await require("two connections wait") { worker.transportStats().pendingHandshakes == 2 }
            let c = try RawConnection(port: worker.port)
            #expect(c.readUntilClosed().closed, "a third is closed")
            #expect(worker.transportStats().handshakesOverLimit == 1)
            a.send(hello.frame(as: .hello))
            #expect(a.readFrame()?.type == WireFormat.FrameType.welcome.rawValue)
            try await require("a welcomed connection no longer waits") {
                worker.transportStats().pendingHandshakes == 1
            }
            let d = try RawConnection(port: worker.port)
            try await require("the freed place is taken") { worker.transportStats().pendingHandshakes == 2 }
            #expect(d.isOpen && b.isOpen && a.isOpen)
            #expect(worker.transportStats().handshakesOverLimit == 1)
        }
    }

    /// Unfinished frames share a budget: a connection that would exceed it is closed, and a
    /// closed connection gives its share back.
    @Test func unfinishedFramesShareABudgetThatClosedConnectionsGiveBack() async throws {
        var options = TestCluster.options
        options.unfinishedFrameBudgetBytes = 100_000
        try await Self.withOneWorker(options) { worker, hello in
            // 60,000 bytes of a 1 MiB batch frame (allowed after the handshake).
            let partial = Array(frame(4, Array(repeating: 0, count: 1 << 20)).prefix(60_000))
            func connect() throws -> RawConnection {
                let connection = try RawConnection(port: worker.port)
                connection.send(hello.frame(as: .hello))
                #expect(connection.readFrame()?.type == WireFormat.FrameType.welcome.rawValue)
                return connection
            }
            var first: RawConnection? = try connect()
            first?.send(partial)
            try await require("the first connection's unfinished frame is charged") {
                worker.transportStats().unfinishedFrameBytes == 60_000
            }
            let second = try connect()
            second.send(partial)
            #expect(second.readUntilClosed().closed, "120,000 bytes would exceed the budget")
            #expect(worker.transportStats().unfinishedFrameBudgetExceeded == 1)
            #expect(first?.isOpen == true)
            try await require("the closed connection's charge is given back") {
                worker.transportStats().unfinishedFrameBytes == 60_000
            }
            first = nil
            try await require("the first connection's charge is given back when it closes") {
                worker.transportStats().unfinishedFrameBytes == 0
            }
            let third = try connect()
            third.send(partial)
            try await require("a new connection may use the budget again") {
                worker.transportStats().unfinishedFrameBytes == 60_000
            }
            #expect(third.isOpen)
            let stats = worker.transportStats()
            #expect(stats.unfinishedFrameBudgetExceeded == 1)
            #expect(stats.corruptFrames == 0)
        }
    }

    /// A worker whose assignment has a secret refuses a peer that knows the topology's id,
    /// epoch and build but not the secret (no proof, or a proof under a guess), and welcomes one
    /// that proves it, proving it back.
    @Test func aPeerWithoutTheAssignmentSecretIsRefused() async throws {
        let topology = try WordCount.topology(name: "secret", sentences: 10, log: WordCountLog())
        let cluster = TestCluster(topology: topology, workers: 1)
        let secret = Array("the assignment's secret".utf8)
        var layout = cluster.layout(0)
        layout.secret = secret
        let worker = try await ClusterWorker(
            topology: topology,
            layout: layout,
            logger: TestCluster.logger,
            activate: false,
            options: TestCluster.options
        )
        let hello = Handshake(
            topologyId: cluster.topologyId,
            epoch: 1,
            digest: WireSources(plan: TopologyPlan(topology: topology)).digest,
            address: WorkerAddress(host: "127.0.0.1", port: 1)
        )
        for forged in [hello.frame(as: .hello), hello.frame(as: .hello, secret: Array("a guess".utf8))] {
            let connection = try RawConnection(port: worker.port)
            connection.send(forged)
            let (reply, closed) = connection.readUntilClosed()
            #expect(closed)
            #expect(reply.count > 5 && reply[4] == WireFormat.FrameType.refuse.rawValue)
            #expect(String(decoding: reply, as: UTF8.self).contains("proof of the assignment's secret"))
        }
        let honest = try RawConnection(port: worker.port)
        honest.send(hello.frame(as: .hello, secret: secret))
        let welcome = try #require(honest.readFrame())
        #expect(welcome.type == WireFormat.FrameType.welcome.rawValue)
        let answer = try welcome.body.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            return try Handshake.decode(&r)
        }
        #expect(hello.mismatch(answer, as: .welcome, secret: secret) == nil, "the worker proves the secret back")
        #expect(worker.transportStats().handshakesRefused == 2)
        await worker.shutdown(drainTimeout: .zero)
    }

    @Test(arguments: ["topology", "epoch", "build", "magic"])
    func aMismatchingHandshakeIsRefused(_ what: String) async throws {
        try await Self.withTwoWorkers { cluster, hello, log, n in
            let target = cluster.workers[1]
            var wrong = hello
            switch what {
            case "topology": wrong.topologyId = "someone-else"
            case "epoch": wrong.epoch = 2
            case "build": wrong.digest &+= 1
            default: wrong.magic = 0x1234_5678
            }
            let connection = try RawConnection(port: target.port)
            connection.send(wrong.frame(as: .hello))
            let (reply, closed) = connection.readUntilClosed()
            #expect(closed)
            #expect(reply.count > 5 && reply[4] == WireFormat.FrameType.refuse.rawValue, "a refuse frame explains why")
            #expect(target.transportStats().handshakesRefused == 1)
            #expect(target.transportStats().corruptFrames == 0)
            try await Self.expectStillWorking(cluster, log, n)
        }
    }

    @Test func aTruncatedFrameFromAPeerThatDisconnectsIsHarmless() async throws {
        try await Self.withTwoWorkers { cluster, hello, log, n in
            let target = cluster.workers[1]
            do {
                let connection = try RawConnection(port: target.port)
                connection.send(hello.frame(as: .hello))
                connection.send(
                    Array(frame(4, [1, 0, 0, 0, 1, 0, 0, 0, 4] + Array(repeating: 0, count: 16)).prefix(12))
                )
            }
            try await Self.expectStillWorking(cluster, log, n)
            #expect(target.transportStats().corruptFrames == 0)
        }
    }

    @Test func workersOfDifferentEpochsRefuseEachOther() async throws {
        let log = WordCountLog()
        let topology = try WordCount.topology(name: "epochs", sentences: 10, log: log)
        let cluster = TestCluster(topology: topology, workers: 2)
        let a = try await cluster.startWorker(0, topology: topology, epoch: 1)
        let b = try await cluster.startWorker(1, topology: topology, epoch: 2)
        try await require("both sides count refused handshakes") {
            a.transportStats().handshakesRefused >= 2 && b.transportStats().handshakesRefused >= 2
        }
        #expect(!a.allPeersConnected && !b.allPeersConnected)
        await a.shutdown(drainTimeout: .zero)
        await b.shutdown(drainTimeout: .zero)
        await b.shutdown(drainTimeout: .zero)
    }

    @Test func envelopesForAnUnreachablePeerAreBufferedUpToTheLimitThenDroppedAndCounted() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "unreachable")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: .max, tracked: false, recordIds: false)) }
        builder.setBolt("sink") { TestBolt(bolts, .init(recordValues: false)) }.shuffleGrouping("spout")
        let topology = try builder.build()
        let cluster = TestCluster(topology: topology, workers: 2) { _, component in component == "sink" ? 1 : 0 }
        var options = TestCluster.options
        options.sendBufferLimitBytes = 64 * 1024
        let worker = try await ClusterWorker(
            topology: topology,
            layout: cluster.layout(0),
            logger: TestCluster.logger,
            options: options
        )
        try await require("the buffer fills and envelopes are dropped") {
            worker.transportStats().envelopesDropped > 0
        }
        let stats = worker.transportStats()
        #expect(stats.pendingBytes <= 64 * 1024 + 64 * 1024, "bounded by the limit plus one batch")
        #expect(stats.connectedPeers == 0)
        await worker.shutdown(drainTimeout: .milliseconds(50))
    }
}
