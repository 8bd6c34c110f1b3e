/// Why bytes from a peer could not be decoded or accepted. Closes the connection they came on.
package enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The frame ended before a value it announced.
    case truncated
    /// A frame announced more bytes than the limit.
    case oversized(length: Int, limit: Int)
    /// A tag, count or index that the format does not allow.
    case malformed(String)
    /// The peer's handshake does not match this worker.
    case handshakeMismatch(String)
    /// A frame of this type is not allowed here (before the handshake, or on a sending connection).
    case unexpectedFrame(type: UInt8, state: String)

    package var description: String {
        switch self {
        case .truncated: "truncated frame"
        case .oversized(let length, let limit): "frame of \(length) bytes exceeds the limit of \(limit) bytes"
        case .malformed(let what): "malformed frame: \(what)"
        case .handshakeMismatch(let what): "handshake refused: \(what)"
        case .unexpectedFrame(let type, let state): "unexpected frame type \(type) \(state)"
        }
    }
}
