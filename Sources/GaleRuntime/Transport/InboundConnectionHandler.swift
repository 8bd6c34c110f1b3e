import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// The accepting side of a connection from a peer: checks its `hello`, answers `welcome` or
/// `refuse`, then decodes `batch` frames into the local tasks' inboxes and applies `control`
/// frames to backpressure.
///
/// Before its `hello` is accepted, a connection may send only a handshake-sized frame
/// (``WireFormat/maxHandshakeFrameBytes``): a longer one is refused at its length field, before
/// its body is read, so a stranger cannot make the worker allocate ``TransportOptions/maxFrameBytes``.
///
/// A connection that has not sent an acceptable `hello` within
/// ``TransportOptions/inboundHandshakeDeadline`` is closed, and at most
/// ``TransportOptions/maxPendingHandshakes`` connections may wait for their handshake at once
/// (one more is closed as soon as it is accepted).
///
/// After each read, what the connection holds of an unfinished frame is charged to the
/// transport's shared budget (``TransportOptions/unfinishedFrameBudgetBytes``); a connection that
/// would take the total past it is closed, and a closed connection gives its charge and its
/// buffer back. Reads that end on a frame boundary touch no shared state.
///
/// A corrupt, truncated or oversized frame, or a frame that does not belong, closes this
/// connection only (the peer reconnects). When the connection ends, every pause its peer asked
/// for is lifted, so no task stays paused by a peer that is gone.
///
/// With ``TransportOptions/tls`` this handler sits behind the TLS server handler and reads
/// decrypted bytes; the deadline and the count of connections waiting for their handshake start
/// at accept, so they bound the TLS handshake too. A connection whose TLS handshake fails (a
/// certificate that does not verify, none, plain TCP) is closed, logged with the reason and
/// counted in ``TransportStats/tlsHandshakesRefused``.
///
/// Threading: runs on the connection's event loop.
final class InboundConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let core: TransportCore
    private var splitter: FrameSplitter
    private var peer: Handshake?
    private var remote = "?"
    /// Tasks the peer reported overloaded on this connection (their pauses are in force here).
    private var overloadedTasks: Set<Int> = []
    private var failed = false
    /// Whether this connection counts among the core's connections waiting for their handshake.
    private var awaitingHandshake = false
    /// Closes the connection if its hello has not been accepted by then.
    private var handshakeDeadline: Scheduled<Void>?
    /// Bytes of this connection's unfinished frame charged to the core's budget.
    private var chargedBytes = 0
    /// The TLS version negotiated, once the TLS handshake completed (`nil` without TLS).
    private var tlsVersion: String?

    init(core: TransportCore) {
        self.core = core
        // Until a hello is accepted, only a handshake-sized frame: a stranger cannot make this
        // worker buffer up to maxFrameBytes.
        self.splitter = FrameSplitter(maxFrameBytes: WireFormat.maxHandshakeFrameBytes)
    }

    func channelActive(context: ChannelHandlerContext) {
        remote = context.channel.remoteAddress.map { "\($0)" } ?? "?"
        switch core.register(context.channel) {
        case .accepted:
            awaitingHandshake = true
            let channel = context.channel
            let deadline = core.options.inboundHandshakeDeadline
            // Runs on this channel's event loop, like the handler, so it is cancelled before it
            // runs once the hello is accepted or the connection closes.
            handshakeDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(deadline)) {
                self.missedDeadline(deadline, channel: channel)
            }
        case .closing:
            context.close(promise: nil)
        case .tooManyPendingHandshakes(let pending):
            failed = true
            core.counters.handshakesOverLimit.add(1, ordering: .relaxed)
            core.logger.warning(
                "closing an inbound connection: too many connections wait for their handshake",
                metadata: [
                    "remote": "\(remote)", "pending": "\(pending)", "limit": "\(core.options.maxPendingHandshakes)",
                ]
            )
            context.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeDeadline?.cancel()
        handshakeDeadline = nil
        core.unregister(context.channel, awaitingHandshake: awaitingHandshake)
        awaitingHandshake = false
        releasePauses()
        releaseBuffer()
        if let peer {
            core.logger.info(
                "inbound connection from peer closed",
                metadata: ["peer": "\(peer.address)", "remote": "\(remote)"]
            )
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        core.counters.bytesReceived.add(UInt64(buffer.readableBytes), ordering: .relaxed)
        splitter.append(buffer)
        do {
            while let (type, body) = try splitter.next() {
                core.counters.framesReceived.add(1, ordering: .relaxed)
                try handle(type: type, body: body, context: context)
                if failed { return }
            }
            let held = splitter.bufferedBytes
            if held != chargedBytes { charge(held, context: context) }
        } catch let error as WireError {
            fail(error, context: context)
        } catch {
            fail(.malformed("\(error)"), context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            core.counters.tlsHandshakesCompleted.add(1, ordering: .relaxed)
            tlsVersion = TransportTLSFailure.version(of: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        defer { context.close(promise: nil) }
        if failed {
            // Closed by this side already (a refusal, a bad frame, the deadline): the TLS
            // handler's report of that close says nothing new.
            return
        }
        if TransportTLSFailure.isTLS(error) {
            if peer == nil {
                failed = true
                core.counters.tlsHandshakesRefused.add(1, ordering: .relaxed)
                core.logger.error(
                    "refused a peer's TLS handshake",
                    metadata: ["remote": "\(remote)", "reason": "\(TransportTLSFailure.reason(error))"]
                )
            } else if TransportTLSFailure.isUncleanShutdown(error) {
                core.logger.debug(
                    "inbound connection from peer ended without closing TLS",
                    metadata: ["peer": "\(peer?.address.description ?? "?")", "remote": "\(remote)"]
                )
            } else {
                core.logger.warning(
                    "inbound connection TLS error",
                    metadata: [
                        "peer": "\(peer?.address.description ?? "?")", "remote": "\(remote)",
                        "reason": "\(TransportTLSFailure.reason(error))",
                    ]
                )
            }
            return
        }
        core.logger.warning(
            "inbound connection error",
            metadata: ["peer": "\(peer?.address.description ?? "?")", "remote": "\(remote)", "error": "\(error)"]
        )
    }

    /// The connection has not sent an acceptable hello within `deadline` (from its accept, so
    /// the TLS handshake included): closes it.
    private func missedDeadline(_ deadline: Duration, channel: any Channel) {
        handshakeDeadline = nil
        guard !failed else { return }
        failed = true
        core.counters.handshakeDeadlinesMissed.add(1, ordering: .relaxed)
        core.logger.warning(
            "closing an inbound connection that sent no acceptable hello in time",
            metadata: ["remote": "\(remote)", "deadline": "\(deadline)"]
        )
        channel.close(promise: nil)
    }

    // MARK: - Frames

    private func handle(type: UInt8, body: ByteBuffer, context: ChannelHandlerContext) throws {
        guard let frameType = WireFormat.FrameType(rawValue: type) else {
            throw WireError.malformed("unknown frame type \(type)")
        }
        switch frameType {
        case .batch:
            guard let peer else { throw WireError.unexpectedFrame(type: type, state: "before the handshake") }
            let (task, batch) = try body.withUnsafeReadableBytes { raw throws(WireError) in
                try EnvelopeDecoder.decodeBatch(raw, sources: core.sources)
            }
            core.deliverLocally(batch, to: task, from: peer.address.description)
        case .control:
            guard peer != nil else { throw WireError.unexpectedFrame(type: type, state: "before the handshake") }
            try body.withUnsafeReadableBytes { raw throws(WireError) in
                var r = ByteReader(raw)
                let n = try r.readCount(minimumSize: 2)
                for _ in 0..<n {
                    let kind = try r.readByte()
                    let task = try r.readVarint()
                    guard task <= UInt64(core.sources.maxTaskId) else { throw .malformed("control for task \(task)") }
                    control(kind, task: Int(task))
                }
            }
        case .hello:
            guard peer == nil else { throw WireError.unexpectedFrame(type: type, state: "after the handshake") }
            let hello = try body.withUnsafeReadableBytes { raw throws(WireError) in
                var r = ByteReader(raw)
                return try Handshake.decode(&r)
            }
            if let reason = core.handshake.mismatch(hello, as: .hello, secret: core.secret) {
                refuse(reason, from: hello.address.description, context: context)
                return
            }
            peer = hello
            splitter.maxFrameBytes = core.options.maxFrameBytes
            handshakeDeadline?.cancel()
            handshakeDeadline = nil
            if awaitingHandshake {
                awaitingHandshake = false
                core.handshakeCompleted()
            }
            core.logger.info(
                "inbound connection from peer established",
                metadata: ["peer": "\(hello.address)", "remote": "\(remote)", "tls": "\(tlsVersion ?? "off")"]
            )
            core.counters.framesSent.add(1, ordering: .relaxed)
            let welcome = core.buffer(
                core.handshake.frame(as: .welcome, secret: core.secret),
                allocator: context.channel.allocator
            )
            core.counters.bytesSent.add(UInt64(welcome.readableBytes), ordering: .relaxed)
            context.writeAndFlush(wrapOutboundOut(welcome), promise: nil)
        case .welcome, .refuse:
            throw WireError.unexpectedFrame(type: type, state: "on an inbound connection")
        }
    }

    private func control(_ kind: UInt8, task: Int) {
        core.counters.controlFramesReceived.add(1, ordering: .relaxed)
        guard let backpressure = core.backpressure else { return }
        switch WireFormat.ControlKind(rawValue: kind) {
        case .overloaded:
            if overloadedTasks.insert(task).inserted { backpressure.pauseProducers(of: task) }
        case .relieved:
            if overloadedTasks.remove(task) != nil { backpressure.resumeProducers(of: task) }
        case nil:
            break
        }
    }

    private func releasePauses() {
        guard !overloadedTasks.isEmpty, let backpressure = core.backpressure else { return }
        let tasks = overloadedTasks
        overloadedTasks.removeAll()
        for task in tasks { backpressure.resumeProducers(of: task) }
    }

    // MARK: - Buffers

    /// Charges the core's budget with `held`, the bytes of an unfinished frame this connection
    /// holds now, in place of what it charged before; closes the connection when the budget
    /// cannot take it.
    private func charge(_ held: Int, context: ChannelHandlerContext) {
        if held < chargedBytes {
            core.releaseUnfinishedFrames(chargedBytes - held)
            chargedBytes = held
            return
        }
        guard let total = core.chargeUnfinishedFrames(held - chargedBytes) else {
            chargedBytes = held
            return
        }
        failed = true
        core.counters.unfinishedFrameBudgetExceeded.add(1, ordering: .relaxed)
        core.logger.error(
            "closing an inbound connection: its unfinished frame would exceed the budget for unfinished frames",
            metadata: [
                "peer": "\(peer?.address.description ?? "?")", "remote": "\(remote)", "buffered": "\(held)",
                "total": "\(total)", "budget": "\(core.options.unfinishedFrameBudgetBytes)",
            ]
        )
        releaseBuffer()
        context.close(promise: nil)
    }

    /// Drops the buffered bytes and gives their charge back.
    private func releaseBuffer() {
        splitter.reset()
        if chargedBytes > 0 {
            core.releaseUnfinishedFrames(chargedBytes)
            chargedBytes = 0
        }
    }

    // MARK: - Failures

    private func refuse(_ reason: String, from address: String, context: ChannelHandlerContext) {
        failed = true
        handshakeDeadline?.cancel()  // closed once the refuse frame is written
        handshakeDeadline = nil
        core.counters.handshakesRefused.add(1, ordering: .relaxed)
        core.logger.error(
            "refused a peer's handshake",
            metadata: ["peer": "\(address)", "remote": "\(remote)", "reason": "\(reason)"]
        )
        var w = ByteWriter(capacity: 256)
        FrameEncoder.appendRefuse(reason, into: &w)
        let frame = core.buffer(Array(w.bytes), allocator: context.channel.allocator)
        w.deallocate()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in channel.close(promise: nil) }
    }

    private func fail(_ error: WireError, context: ChannelHandlerContext) {
        failed = true
        releaseBuffer()
        if case .handshakeMismatch(let reason) = error {
            refuse(reason, from: "?", context: context)
            return
        }
        core.counters.corruptFrames.add(1, ordering: .relaxed)
        core.logger.error(
            "closing an inbound connection after a bad frame",
            metadata: ["peer": "\(peer?.address.description ?? "?")", "remote": "\(remote)", "error": "\(error)"]
        )
        context.close(promise: nil)
    }
}
