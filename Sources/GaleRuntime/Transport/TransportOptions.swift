/// Tuning of the worker-to-worker transport.
public struct TransportOptions: Sendable {
    /// The largest frame accepted or sent, in bytes; a bigger incoming frame closes the connection.
    /// A batch is split into frames of about half this size; a single envelope larger than this is
    /// dropped (and replayed by the acking timeout). Default 64 MiB.
    ///
    /// This applies once a connection's handshake is done; before, an accepted connection may
    /// send only a frame of a few KiB (a `hello`), so a peer that has not identified itself
    /// cannot make the worker allocate up to this much.
    public var maxFrameBytes: Int = 64 * 1024 * 1024
    /// Bytes that all inbound connections together may hold in frames that have not fully arrived
    /// (what each connection's partial frame holds after a read). A connection whose bytes would
    /// take the total past this is closed, with an error naming its remote address and the
    /// numbers (counted in ``TransportStats/unfinishedFrameBudgetExceeded``); its peer
    /// reconnects, and the tuples in flight are replayed by the acking timeout. Keep it at least
    /// ``maxFrameBytes``, or a frame that large can never arrive. Default 256 MiB: four frames of
    /// the default ``maxFrameBytes`` at once, or eight peers each halfway through one (batches are
    /// cut into frames of about half that size).
    public var unfinishedFrameBudgetBytes: Int = 256 * 1024 * 1024
    /// Longest a TCP connect to a peer may take. Default 2 s.
    public var connectTimeout: Duration = .seconds(2)
    /// Longest a peer may take to answer the handshake. Default 5 s.
    public var handshakeTimeout: Duration = .seconds(5)
    /// Longest an accepted connection may take, from its accept, to send a `hello` this worker
    /// accepts; one that has not by then is closed (counted in
    /// ``TransportStats/handshakeDeadlinesMissed``). A peer sends its hello as soon as it is
    /// connected, so only a stranger or a stuck peer waits this long. Default 10 s (twice a
    /// peer's own ``handshakeTimeout``).
    public var inboundHandshakeDeadline: Duration = .seconds(10)
    /// Accepted connections that may wait for their handshake at once; a connection accepted
    /// beyond that is closed at once (counted in ``TransportStats/handshakesOverLimit``). Each
    /// waiting connection holds at most one read buffer (256 KiB) and a socket's receive buffer,
    /// so idle sockets cannot pile up. A worker's peers each open one connection and complete
    /// their handshake within milliseconds, so even a large cluster's simultaneous restart
    /// stays far below the default of 64; a peer turned away reconnects after its backoff.
    public var maxPendingHandshakes: Int = 64
    /// First wait before reconnecting to a peer; doubled after each failure. Default 50 ms.
    public var reconnectBackoffMin: Duration = .milliseconds(50)
    /// Longest wait between reconnect attempts. Default 2 s.
    public var reconnectBackoffMax: Duration = .seconds(2)
    /// Encoded bytes buffered per peer (while it is unreachable, or faster than the socket drains);
    /// beyond this, envelopes for the peer are dropped and counted in
    /// ``TransportStats/envelopesDropped``. Default 64 MiB.
    public var sendBufferLimitBytes: Int = 64 * 1024 * 1024
    /// Mutual TLS on every connection, from the cluster's CA (``TransportTLS``); `nil`: plain
    /// TCP. Every worker of a topology must have it, or none: a TLS worker refuses a plain peer
    /// and a plain worker cannot talk to a TLS one. The TLS handshake is part of the handshake
    /// ``inboundHandshakeDeadline``, ``maxPendingHandshakes`` and ``handshakeTimeout`` bound.
    public var tls: TransportTLS?

    /// The defaults.
    public init() {}
}
