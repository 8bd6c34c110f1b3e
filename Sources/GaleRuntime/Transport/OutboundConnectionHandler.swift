import Logging
import NIOCore
import NIOTLS
import Synchronization

/// The connecting side's handler: reads the peer's `welcome` (or `refuse`) and reports the
/// connection's life to its ``PeerLink``. Nothing else may arrive on an outbound connection, so
/// no frame longer than a handshake (``WireFormat/maxHandshakeFrameBytes``) is accepted either.
///
/// With ``TransportOptions/tls`` it sits behind the TLS client handler. A TLS failure before the
/// peer's `welcome` (the peer's certificate does not verify, or the peer refused this worker's)
/// is logged with the reason, counted in ``TransportStats/tlsHandshakesRefused`` and retried
/// after the longest backoff, like a refused `hello`.
///
/// Threading: runs on the connection's event loop.
final class OutboundConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let link: PeerLink
    private let attempt: Int
    private let core: TransportCore
    private var splitter: FrameSplitter
    private var welcomed = false
    private var refused = false
    /// The TLS version negotiated, once the TLS handshake completed (`nil` without TLS).
    private var tlsVersion: String?

    init(link: PeerLink, attempt: Int, core: TransportCore) {
        self.link = link
        self.attempt = attempt
        self.core = core
        self.splitter = FrameSplitter(maxFrameBytes: WireFormat.maxHandshakeFrameBytes)
    }

    func channelInactive(context: ChannelHandlerContext) {
        splitter.reset()
        link.connectionLost(attempt: attempt, refused: refused)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { link.writabilityChanged(attempt: attempt) }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        core.counters.bytesReceived.add(UInt64(buffer.readableBytes), ordering: .relaxed)
        splitter.append(buffer)
        do {
            while let (type, body) = try splitter.next() {
                core.counters.framesReceived.add(1, ordering: .relaxed)
                try handle(type: type, body: body, context: context)
            }
        } catch {
            if !refused { core.counters.corruptFrames.add(1, ordering: .relaxed) }
            core.logger.error(
                "closing the connection to peer after a bad frame",
                metadata: ["peer": "\(link.peer)", "error": "\(error)"]
            )
            splitter.reset()
            context.close(promise: nil)
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
        if TransportTLSFailure.isTLS(error), !welcomed, !refused {
            // In TLS 1.3 the client's handshake completes before the server has checked the
            // client's certificate: a refusal of this worker's certificate arrives as an alert
            // after it, still before the welcome.
            refused = true
            core.counters.tlsHandshakesRefused.add(1, ordering: .relaxed)
            core.logger.error(
                "TLS handshake with peer failed",
                metadata: [
                    "peer": "\(link.peer)", "remote": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")",
                    "reason": "\(TransportTLSFailure.reason(error))",
                ]
            )
            return
        }
        core.logger.debug("connection to peer failed", metadata: ["peer": "\(link.peer)", "error": "\(error)"])
    }

    private func handle(type: UInt8, body: ByteBuffer, context: ChannelHandlerContext) throws {
        switch WireFormat.FrameType(rawValue: type) {
        case .welcome where !welcomed:
            let welcome = try body.withUnsafeReadableBytes { raw throws(WireError) in
                var r = ByteReader(raw)
                return try Handshake.decode(&r)
            }
            if let reason = core.handshake.mismatch(welcome, as: .welcome, secret: core.secret) {
                refused = true
                core.counters.handshakesRefused.add(1, ordering: .relaxed)
                throw WireError.handshakeMismatch("peer \(link.peer) answered with \(reason)")
            }
            welcomed = true
            link.handshakeCompleted(context.channel, attempt: attempt, tls: tlsVersion)
        case .refuse:
            let reason =
                (try? body.withUnsafeReadableBytes { raw throws(WireError) in
                    var r = ByteReader(raw)
                    return try r.readString()
                }) ?? "?"
            refused = true
            core.counters.handshakesRefused.add(1, ordering: .relaxed)
            throw WireError.handshakeMismatch("peer \(link.peer) refused the connection: \(reason)")
        default:
            throw WireError.unexpectedFrame(type: type, state: "on an outbound connection")
        }
    }
}
