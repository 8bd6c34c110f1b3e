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
    /// Longest a TCP connect to a peer may take. Default 2 s.
    public var connectTimeout: Duration = .seconds(2)
    /// Longest a peer may take to answer the handshake. Default 5 s.
    public var handshakeTimeout: Duration = .seconds(5)
    /// First wait before reconnecting to a peer; doubled after each failure. Default 50 ms.
    public var reconnectBackoffMin: Duration = .milliseconds(50)
    /// Longest wait between reconnect attempts. Default 2 s.
    public var reconnectBackoffMax: Duration = .seconds(2)
    /// Encoded bytes buffered per peer (while it is unreachable, or faster than the socket drains);
    /// beyond this, envelopes for the peer are dropped and counted in
    /// ``TransportStats/envelopesDropped``. Default 64 MiB.
    public var sendBufferLimitBytes: Int = 64 * 1024 * 1024

    /// The defaults.
    public init() {}
}
