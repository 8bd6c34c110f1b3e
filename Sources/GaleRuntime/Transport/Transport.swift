import Gale
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The TCP side of a cluster worker: a listener for peers' connections and one ``PeerLink`` per
/// peer (see ``WireFormat`` for the protocol), every connection in mutual TLS when
/// ``TransportOptions/tls`` is set.
///
/// Lifecycle: ``init(layout:sources:options:logger:)`` creates the links (envelopes sent to them
/// are buffered), ``attach(localSinks:backpressure:)`` wires inbound traffic to the local tasks,
/// ``start()`` binds the listener and starts connecting, ``close(timeout:)`` ends everything.
final class Transport: Sendable {
    let core: TransportCore
    /// One link per peer.
    let links: [WorkerAddress: PeerLink]
    private let group: MultiThreadedEventLoopGroup
    private let me: WorkerAddress
    private let server = NIOLockedChannel()

    init(layout: WorkerLayout, sources: WireSources, options: TransportOptions, logger: Logger) {
        let group = Self.sharedGroup
        self.group = group
        self.me = layout.me
        let core = TransportCore(
            options: options,
            sources: sources,
            handshake: Handshake(
                topologyId: layout.topologyId,
                epoch: layout.epoch,
                digest: sources.digest,
                address: layout.me
            ),
            secret: layout.secret,
            logger: logger
        )
        self.core = core
        var links: [WorkerAddress: PeerLink] = [:]
        for peer in layout.peers.sorted(by: { $0.description < $1.description }) {
            links[peer] = PeerLink(peer: peer, eventLoop: group.next(), core: core)
        }
        self.links = links
    }

    /// The event loops of every transport in this process: one thread per two cores, at most
    /// four. Executors do the encoding, so the loops only move bytes and decode; fewer threads than
    /// cores leave the cores to the executors and save context switches. Never shut down.
    static let sharedGroup = MultiThreadedEventLoopGroup(
        numberOfThreads: max(1, min(4, System.coreCount / 2))
    )

    func attach(localSinks: [(any EnvelopeSink)?], backpressure: Backpressure) {
        core.attach(localSinks: localSinks, backpressure: backpressure)
    }

    /// Binds the listener to ``WorkerLayout/me`` and starts connecting to every peer.
    /// - Returns: the bound port.
    func start() async throws -> Int {
        let core = self.core
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64 * 1024, initial: 256 * 1024, maximum: 1024 * 1024)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // With TLS the connection handler sees only decrypted bytes, and its
                    // handshake deadline and pending count, which start at accept, cover the
                    // TLS handshake too.
                    if let tls = core.options.tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.serverContext))
                    }
                    try channel.pipeline.syncOperations.addHandler(InboundConnectionHandler(core: core))
                }
            }
            .bind(host: me.host, port: me.port)
            .get()
        server.set(channel)
        let port = channel.localAddress?.port ?? me.port
        core.setBoundPort(port)
        for link in links.values { link.start() }
        return port
    }

    /// `true` when every peer's outbound connection has completed its handshake.
    var allPeersConnected: Bool { links.values.allSatisfy(\.isConnected) }

    /// Bytes waiting in the peer links' send buffers.
    var pendingBytes: Int { links.values.reduce(0) { $0 + $1.pendingBytes } }

    func stats() -> TransportStats {
        var stats = core.counters.snapshot()
        stats.connectedPeers = links.values.filter(\.isConnected).count
        stats.pendingBytes = pendingBytes
        stats.pendingHandshakes = core.pendingHandshakes
        stats.unfinishedFrameBytes = core.unfinishedFrameBytes
        return stats
    }

    /// Closes the listener, the inbound connections and (after writing what is pending, for at
    /// most `timeout`) the outbound ones.
    func close(timeout: Duration) async {
        let serverChannel = server.take()
        try? await serverChannel?.close()
        let outbound = links.values.map { $0.close(timeout: TimeAmount(timeout)) }
        for future in outbound { try? await future.get() }
        for channel in core.close() { try? await channel.close() }
    }

    /// Test hook: closes every outbound connection (each link reconnects).
    func dropOutboundConnections() {
        for link in links.values { link.dropConnection() }
    }
}

/// A channel slot guarded by a lock.
private final class NIOLockedChannel: @unchecked Sendable {
    private let lock = PlainLock()
    private var channel: (any Channel)?

    func set(_ channel: any Channel) { lock.withLock { self.channel = channel } }

    func take() -> (any Channel)? {
        lock.withLock {
            defer { channel = nil }
            return channel
        }
    }
}
