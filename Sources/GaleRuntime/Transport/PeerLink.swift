import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The sending side towards one peer worker: the ``EnvelopeSink`` of every task that peer runs,
/// and the owner of the outbound connection to it.
///
/// Emitting executors encode their batches straight into one per-peer byte buffer under a lock
/// (no per-tuple allocation, no hop). When the buffer goes from empty to non-empty, one flush is
/// scheduled on the connection's event loop, which swaps the buffer out and writes all of it at
/// once: one wake-up and one write per burst, whatever the number of batches in it.
///
/// While the peer is unreachable (or the socket is slower than the emitters), encoded envelopes
/// wait in the buffer up to ``TransportOptions/sendBufferLimitBytes``; beyond that they are dropped
/// and counted, and acking replays them from their spouts after the message timeout.
///
/// The connection is re-established with exponential backoff. Backpressure signals for the peer
/// (``BackpressurePeer``) are kept as a set of overloaded tasks: sent when they change, and the
/// whole set again on every new connection (the peer lifts them when a connection ends).
///
/// Threading: ``deliver(_:to:)`` and ``signal(task:overloaded:)`` run on any thread; the
/// connection state machine runs on ``eventLoop``.
final class PeerLink: EnvelopeSink, BackpressurePeer, @unchecked Sendable {
    let peer: WorkerAddress
    let eventLoop: any EventLoop
    private let core: TransportCore

    // MARK: Guarded by `lock`
    private let lock = Mutex(())
    private var pending: ByteWriter
    private var encoder: EnvelopeEncoder
    /// The connection, once its handshake completed.
    private var channel: (any Channel)?
    private var flushScheduled = false
    /// Tasks of this worker that are overloaded and that the peer's tasks feed.
    private var overloaded: Set<Int> = []
    /// Signals not yet written on the current connection.
    private var controlQueue: [(WireFormat.ControlKind, Int)] = []
    private var closed = false
    /// Set while envelopes are being dropped (a full buffer), to log once per episode.
    private var dropping = false

    // MARK: Event loop only
    /// The buffer swapped out of `pending` by a flush (empty between flushes).
    private var spare: ByteWriter
    private var attempt = 0
    private var attemptChannel: (any Channel)?
    private var reconnectScheduled = false
    private var backoff: TimeAmount
    private var everConnected = false
    private var isClosing = false
    private var handshakeTimer: Scheduled<Void>?

    init(peer: WorkerAddress, eventLoop: any EventLoop, core: TransportCore) {
        self.peer = peer
        self.eventLoop = eventLoop
        self.core = core
        self.pending = ByteWriter(capacity: 64 * 1024)
        self.spare = ByteWriter(capacity: 64 * 1024)
        self.encoder = EnvelopeEncoder(sources: core.sources)
        self.backoff = TimeAmount(core.options.reconnectBackoffMin)
    }

    deinit {
        pending.deallocate()
        spare.deallocate()
    }

    /// `true` once the handshake on the current connection completed.
    var isConnected: Bool { lock.withLock { _ in channel != nil } }

    /// Encoded bytes waiting to be written.
    var pendingBytes: Int { lock.withLock { _ in pending.count } }

    // MARK: - Sending

    func deliver(_ batch: ContiguousArray<Envelope>, to task: Int) {
        let limit = core.options.sendBufferLimitBytes
        var result = FrameEncoder.BatchResult()
        var schedule = false
        var startedDropping = false
        var rejected = false
        lock.withLock { _ in
            if closed || pending.count >= limit {
                rejected = true
                if !closed && !dropping {
                    dropping = true
                    startedDropping = true
                }
                return
            }
            dropping = false
            result = FrameEncoder.appendBatch(
                batch,
                to: task,
                encoder: &encoder,
                into: &pending,
                maxFrameBytes: core.options.maxFrameBytes
            )
            if !flushScheduled && channel != nil && pending.count > 0 {
                flushScheduled = true
                schedule = true
            }
        }
        if rejected {
            core.counters.envelopesDropped.add(UInt64(batch.count), ordering: .relaxed)
            if startedDropping {
                core.logger.warning(
                    "send buffer for peer full: dropping envelopes until it drains (acking replays them)",
                    metadata: ["peer": "\(peer)", "limit": "\(limit)"]
                )
            }
            return
        }
        core.counters.envelopesSent.add(UInt64(result.envelopes), ordering: .relaxed)
        core.counters.framesSent.add(UInt64(result.frames), ordering: .relaxed)
        if result.dropped > 0 {
            core.counters.envelopesDropped.add(UInt64(result.dropped), ordering: .relaxed)
            core.logger.warning(
                "envelopes that cannot be encoded (too large or nested too deep): dropped",
                metadata: ["peer": "\(peer)", "task": "\(task)", "envelopes": "\(result.dropped)"]
            )
        }
        if schedule { eventLoop.execute { self.flush() } }
    }

    func signal(task: Int, overloaded isOverloaded: Bool) {
        var schedule = false
        lock.withLock { _ in
            let changed = isOverloaded ? overloaded.insert(task).inserted : overloaded.remove(task) != nil
            guard changed, channel != nil, !closed else { return }
            controlQueue.append((isOverloaded ? .overloaded : .relieved, task))
            if !flushScheduled {
                flushScheduled = true
                schedule = true
            }
        }
        if schedule { eventLoop.execute { self.flush() } }
    }

    /// Writes whatever is pending on the connection. Runs on the event loop.
    func flush() {
        eventLoop.assertInEventLoop()
        var control: [(WireFormat.ControlKind, Int)] = []
        let target: (any Channel)? = lock.withLock { _ in
            flushScheduled = false
            guard let channel, channel.isWritable else { return nil }
            if !controlQueue.isEmpty { swap(&control, &controlQueue) }
            guard pending.count > 0 || !control.isEmpty else { return nil }
            swap(&pending, &spare)
            return channel
        }
        guard let target else { return }
        for (kind, task) in control {
            FrameEncoder.appendControl(kind, task: task, into: &spare)
        }
        if !control.isEmpty {
            core.counters.controlFramesSent.add(UInt64(control.count), ordering: .relaxed)
            core.counters.framesSent.add(UInt64(control.count), ordering: .relaxed)
        }
        var buffer = target.allocator.buffer(capacity: spare.count)
        buffer.writeBytes(spare.bytes)
        core.counters.bytesSent.add(UInt64(spare.count), ordering: .relaxed)
        core.counters.writes.add(1, ordering: .relaxed)
        spare.reset()
        target.writeAndFlush(buffer, promise: nil)
    }

    // MARK: - Connection state machine (event loop)

    /// Starts connecting.
    func start() {
        eventLoop.execute { self.connect() }
    }

    private func connect() {
        guard !isClosing else { return }
        attempt += 1
        let myAttempt = attempt
        let options = core.options
        ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(options.connectTimeout))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: 1 << 20, high: 4 << 20))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The hello written once connected waits in the TLS handler until its
                    // handshake completes; ``handshakeTimer`` covers both handshakes.
                    if let tls = options.tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls.clientContext, serverHostname: nil)
                        )
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        OutboundConnectionHandler(link: self, attempt: myAttempt, core: self.core)
                    )
                }
            }
            .connect(host: peer.host, port: peer.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard myAttempt == self.attempt, !self.isClosing else {
                        channel.close(promise: nil)
                        return
                    }
                    self.attemptChannel = channel
                    self.handshakeTimer = self.eventLoop.scheduleTask(in: TimeAmount(options.handshakeTimeout)) {
                        guard myAttempt == self.attempt, !self.isConnected else { return }
                        self.core.logger.warning(
                            "peer did not answer the handshake",
                            metadata: ["peer": "\(self.peer)"]
                        )
                        channel.close(promise: nil)
                    }
                    var w = ByteWriter(capacity: 256)
                    self.core.handshake.append(as: .hello, secret: self.core.secret, into: &w)
                    let hello = self.core.buffer(Array(w.bytes), allocator: channel.allocator)
                    w.deallocate()
                    self.core.counters.framesSent.add(1, ordering: .relaxed)
                    self.core.counters.bytesSent.add(UInt64(hello.readableBytes), ordering: .relaxed)
                    channel.writeAndFlush(hello, promise: nil)
                case .failure(let error):
                    guard myAttempt == self.attempt else { return }
                    self.core.logger.debug(
                        "cannot connect to peer",
                        metadata: ["peer": "\(self.peer)", "error": "\(error)"]
                    )
                    self.scheduleReconnect()
                }
            }
    }

    /// The peer welcomed the connection of `attempt` (over `tls`, the TLS version, or plain).
    func handshakeCompleted(_ channel: any Channel, attempt: Int, tls: String? = nil) {
        guard attempt == self.attempt, !isClosing else {
            channel.close(promise: nil)
            return
        }
        handshakeTimer?.cancel()
        handshakeTimer = nil
        backoff = TimeAmount(core.options.reconnectBackoffMin)
        if everConnected { core.counters.reconnects.add(1, ordering: .relaxed) }
        everConnected = true
        lock.withLock { _ in
            self.channel = channel
            controlQueue = overloaded.sorted().map { (.overloaded, $0) }
            flushScheduled = false
        }
        core.logger.info("connected to peer", metadata: ["peer": "\(peer)", "tls": "\(tls ?? "off")"])
        flush()
    }

    /// The connection of `attempt` closed (or failed its handshake).
    func connectionLost(attempt: Int, refused: Bool) {
        guard attempt == self.attempt else { return }
        handshakeTimer?.cancel()
        handshakeTimer = nil
        attemptChannel = nil
        let wasConnected = lock.withLock { _ in
            let was = channel != nil
            channel = nil
            controlQueue.removeAll()
            return was
        }
        if wasConnected && !isClosing {
            core.logger.warning("connection to peer lost; reconnecting", metadata: ["peer": "\(peer)"])
        }
        if refused { backoff = TimeAmount(core.options.reconnectBackoffMax) }
        scheduleReconnect()
    }

    /// The connection became writable again: write what waited.
    func writabilityChanged(attempt: Int) {
        guard attempt == self.attempt else { return }
        flush()
    }

    private func scheduleReconnect() {
        guard !isClosing, !reconnectScheduled else { return }
        reconnectScheduled = true
        let delay = backoff
        backoff = min(backoff * 2, TimeAmount(core.options.reconnectBackoffMax))
        attempt += 1  // callbacks of the old attempt are ignored from now on
        eventLoop.scheduleTask(in: delay) {
            self.reconnectScheduled = false
            self.connect()
        }
    }

    /// Closes the current connection (test hook); the link reconnects as after any loss.
    func dropConnection() {
        eventLoop.execute {
            self.attemptChannel?.close(promise: nil)
        }
    }

    /// Stops reconnecting, writes what is pending (waiting at most `timeout`), and closes.
    func close(timeout: TimeAmount) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.isClosing = true
            self.handshakeTimer?.cancel()
            let channel = self.lock.withLock { _ in self.channel }
            let attemptChannel = self.attemptChannel
            self.flush()
            let dropped = self.lock.withLock { _ in
                self.closed = true
                self.channel = nil
                let pendingBytes = self.pending.count
                self.pending.reset()
                return pendingBytes
            }
            if dropped > 0 {
                self.core.logger.warning(
                    "closing with bytes still buffered for peer",
                    metadata: ["peer": "\(self.peer)", "bytes": "\(dropped)"]
                )
            }
            guard let target = channel ?? attemptChannel else { return self.eventLoop.makeSucceededVoidFuture() }
            let promise = self.eventLoop.makePromise(of: Void.self)
            let timer = self.eventLoop.scheduleTask(in: timeout) { target.close(promise: nil) }
            target.writeAndFlush(target.allocator.buffer(capacity: 0)).whenComplete { _ in
                timer.cancel()
                target.close(promise: nil)
            }
            target.closeFuture.whenComplete { _ in promise.succeed() }
            return promise.futureResult
        }
    }
}
