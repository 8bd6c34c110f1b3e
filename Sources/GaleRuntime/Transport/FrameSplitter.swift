import NIOCore

/// Cuts the bytes read from a connection into frames (see ``WireFormat``), keeping a partial
/// frame until the rest arrives.
///
/// A frame's length is checked against ``maxFrameBytes`` as soon as its 4-byte length field is
/// buffered, so an oversized frame is refused before any of its body is kept.
struct FrameSplitter {
    /// The longest frame accepted (the bytes after the length field). A connection raises it
    /// from ``WireFormat/maxHandshakeFrameBytes`` to ``TransportOptions/maxFrameBytes`` once its
    /// handshake is done; the next frame is checked against the new value.
    var maxFrameBytes: Int
    private var cumulation: ByteBuffer?

    init(maxFrameBytes: Int) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// Adds bytes read from the socket.
    mutating func append(_ buffer: ByteBuffer) {
        if var existing = cumulation, existing.readableBytes > 0 {
            cumulation = nil
            if existing.readerIndex > 64 * 1024 { existing.discardReadBytes() }
            var incoming = buffer
            existing.writeBuffer(&incoming)
            cumulation = existing
        } else {
            cumulation = buffer
        }
    }

    /// The next complete frame: its type and body (a slice, no copy), or `nil` when more bytes are
    /// needed.
    /// - Throws: ``WireError/oversized(length:limit:)`` or ``WireError/malformed(_:)`` for a
    ///   length that no valid frame has.
    mutating func next() throws(WireError) -> (type: UInt8, body: ByteBuffer)? {
        guard var buffer = cumulation else { return nil }
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self) else {
            return nil
        }
        guard length >= 1 else { throw .malformed("empty frame") }
        guard Int(length) <= maxFrameBytes else { throw .oversized(length: Int(length), limit: maxFrameBytes) }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        cumulation = nil  // keep the storage uniquely referenced while slicing
        buffer.moveReaderIndex(forwardBy: 4)
        guard let type = buffer.readInteger(as: UInt8.self), let body = buffer.readSlice(length: Int(length) - 1)
        else { throw .truncated }
        if buffer.readableBytes > 0 {
            cumulation = buffer
        }
        return (type, body)
    }

    /// Bytes buffered and not yet returned as frames: after ``next()`` returned `nil`, the part
    /// of an unfinished frame that has arrived. (The storage beneath may be larger: the read
    /// buffer the bytes came in, or the cumulation's spare capacity.)
    @inline(__always)
    var bufferedBytes: Int { cumulation?.readableBytes ?? 0 }

    /// Forgets buffered bytes (and releases the buffer holding them).
    mutating func reset() {
        cumulation = nil
    }
}
