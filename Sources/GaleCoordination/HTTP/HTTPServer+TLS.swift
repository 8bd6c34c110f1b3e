import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// A Hummingbird child channel with TLS under another one (HTTP/1.1): each accepted connection
/// gets a TLS server handler, then a ``TLSHandshakeLog``, then the base channel's handlers. So
/// the base channel (keep-alive, streamed bodies) reads and writes plain bytes as without TLS.
struct TLSServerChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let context: NIOSSLContext
    /// Where a failed handshake is logged.
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
            try channel.pipeline.syncOperations.addHandler(TLSHandshakeLog(logger: self.logger))
        }
        .flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Logs why a connection's TLS handshake failed: at warning when the peer spoke but the
/// handshake did not complete (it refused the server's certificate, or sent plain HTTP), at
/// debug when it closed the connection without a word. Removes itself once the handshake is done.
final class TLSHandshakeLog: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let logger: Logger
    private var logged = false

    init(logger: Logger) {
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !logged, TLSFailure.isTLS(error) {
            logged = true
            let peer = context.channel.remoteAddress.flatMap { address in
                address.ipAddress.map { "\($0):\(address.port ?? 0)" }
            }
            let message: Logger.Message = "TLS handshake with \(peer ?? "a client") failed: \(TLSFailure.reason(error))"
            if case NIOSSLError.handshakeFailed(.sslError(let stack)) = error, stack == [.eofDuringHandshake] {
                logger.debug(message)
            } else if case NIOSSLError.uncleanShutdown = error {
                logger.debug(message)
            } else {
                logger.warning(message)
            }
        }
        context.fireErrorCaught(error)
    }
}
