import Synchronization

/// Counters of a worker's transport since it started.
public struct TransportStats: Sendable, Codable, Equatable {
    /// Frames written to peers (batches, control frames and handshakes).
    public var framesSent: UInt64 = 0
    /// Writes to peers' sockets (each carries every frame that was waiting).
    public var writes: UInt64 = 0
    /// Frames read from peers.
    public var framesReceived: UInt64 = 0
    /// Bytes written to peers.
    public var bytesSent: UInt64 = 0
    /// Bytes read from peers.
    public var bytesReceived: UInt64 = 0
    /// Envelopes encoded for peers.
    public var envelopesSent: UInt64 = 0
    /// Envelopes decoded from peers and handed to local tasks.
    public var envelopesReceived: UInt64 = 0
    /// Envelopes dropped: a peer's send buffer was full, the worker was shutting down, an envelope
    /// could not be encoded, or one arrived for a task this worker does not run.
    public var envelopesDropped: UInt64 = 0
    /// Peers with an established outbound connection now.
    public var connectedPeers: Int = 0
    /// Outbound connections re-established after one was lost.
    public var reconnects: UInt64 = 0
    /// Connections closed because of a corrupt, truncated or oversized frame.
    public var corruptFrames: UInt64 = 0
    /// Handshakes refused (by this worker or by a peer).
    public var handshakesRefused: UInt64 = 0
    /// Connections whose TLS handshake failed (``TransportOptions/tls``): a peer whose
    /// certificate does not verify against the cluster CA, that sent none, that refused this
    /// worker's certificate, or that does not speak TLS. Each is closed before any frame is read
    /// and logged with the reason and the remote address.
    public var tlsHandshakesRefused: UInt64 = 0
    /// Connections whose TLS handshake completed, inbound and outbound.
    public var tlsHandshakesCompleted: UInt64 = 0
    /// Accepted connections closed because no acceptable `hello` arrived within
    /// ``TransportOptions/inboundHandshakeDeadline``.
    public var handshakeDeadlinesMissed: UInt64 = 0
    /// Accepted connections closed at once because ``TransportOptions/maxPendingHandshakes``
    /// others were waiting for their handshake.
    public var handshakesOverLimit: UInt64 = 0
    /// Accepted connections waiting for their `hello` now.
    public var pendingHandshakes: Int = 0
    /// Inbound connections closed because their unfinished frame would have taken the bytes held
    /// in unfinished frames past ``TransportOptions/unfinishedFrameBudgetBytes``.
    public var unfinishedFrameBudgetExceeded: UInt64 = 0
    /// Bytes the inbound connections hold in unfinished frames now.
    public var unfinishedFrameBytes: Int = 0
    /// Backpressure control frames sent to peers.
    public var controlFramesSent: UInt64 = 0
    /// Backpressure control frames received from peers.
    public var controlFramesReceived: UInt64 = 0
    /// Encoded bytes waiting in send buffers now.
    public var pendingBytes: Int = 0

    /// All zero.
    public init() {}
}

/// The live counters behind ``TransportStats``.
final class TransportCounters: Sendable {
    let framesSent = Atomic<UInt64>(0)
    let framesReceived = Atomic<UInt64>(0)
    let writes = Atomic<UInt64>(0)
    let bytesSent = Atomic<UInt64>(0)
    let bytesReceived = Atomic<UInt64>(0)
    let envelopesSent = Atomic<UInt64>(0)
    let envelopesReceived = Atomic<UInt64>(0)
    let envelopesDropped = Atomic<UInt64>(0)
    let reconnects = Atomic<UInt64>(0)
    let corruptFrames = Atomic<UInt64>(0)
    let handshakesRefused = Atomic<UInt64>(0)
    let tlsHandshakesRefused = Atomic<UInt64>(0)
    let tlsHandshakesCompleted = Atomic<UInt64>(0)
    let handshakeDeadlinesMissed = Atomic<UInt64>(0)
    let handshakesOverLimit = Atomic<UInt64>(0)
    let unfinishedFrameBudgetExceeded = Atomic<UInt64>(0)
    let controlFramesSent = Atomic<UInt64>(0)
    let controlFramesReceived = Atomic<UInt64>(0)

    func snapshot() -> TransportStats {
        var s = TransportStats()
        s.framesSent = framesSent.load(ordering: .relaxed)
        s.framesReceived = framesReceived.load(ordering: .relaxed)
        s.writes = writes.load(ordering: .relaxed)
        s.bytesSent = bytesSent.load(ordering: .relaxed)
        s.bytesReceived = bytesReceived.load(ordering: .relaxed)
        s.envelopesSent = envelopesSent.load(ordering: .relaxed)
        s.envelopesReceived = envelopesReceived.load(ordering: .relaxed)
        s.envelopesDropped = envelopesDropped.load(ordering: .relaxed)
        s.reconnects = reconnects.load(ordering: .relaxed)
        s.corruptFrames = corruptFrames.load(ordering: .relaxed)
        s.handshakesRefused = handshakesRefused.load(ordering: .relaxed)
        s.tlsHandshakesRefused = tlsHandshakesRefused.load(ordering: .relaxed)
        s.tlsHandshakesCompleted = tlsHandshakesCompleted.load(ordering: .relaxed)
        s.handshakeDeadlinesMissed = handshakeDeadlinesMissed.load(ordering: .relaxed)
        s.handshakesOverLimit = handshakesOverLimit.load(ordering: .relaxed)
        s.unfinishedFrameBudgetExceeded = unfinishedFrameBudgetExceeded.load(ordering: .relaxed)
        s.controlFramesSent = controlFramesSent.load(ordering: .relaxed)
        s.controlFramesReceived = controlFramesReceived.load(ordering: .relaxed)
        return s
    }
}
