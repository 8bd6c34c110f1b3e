/// Constants of the worker-to-worker protocol.
///
/// A connection carries length-prefixed frames: `length: u32le` (the bytes after the length field),
/// `type: u8`, then the frame's body. Integers are little-endian; counts, lengths and most ids are
/// LEB128 varints; signed integers are zig-zag varints.
///
/// - `hello` (connecting side, first frame) and `welcome` (accepting side's answer):
///   `magic u32, version u16 (as u32), epoch zig-zag, topology digest u64, topologyId string,
///   host string, port varint, proof (varint length 0 or 32, then the bytes)`: the proof is an
///   HMAC-SHA256 under the assignment's secret (see ``Handshake/proof(as:secret:)``), which a
///   worker with a secret requires of every peer.
/// - `refuse`: `reason string`; the sender closes the connection after it.
/// - `batch`: `task u32, count u32`, then `count` envelopes for that task (see ``EnvelopeCodec``).
/// - `control`: `count varint`, then `count` times `kind u8 (1 overloaded, 2 relieved), task varint`.
///
/// Data frames go only from the connecting side to the accepting side: each worker sends on its
/// own outbound connection to a peer and receives on the connections its peers opened.
package enum WireFormat {
    /// "GALE".
    package static let magic: UInt32 = 0x454C_4147
    /// Bumped on any incompatible change.
    package static let version: UInt32 = 2
    /// Bytes before a frame's body: length (4) and type (1).
    package static let headerBytes = 5
    /// The largest frame accepted before a connection's handshake is done (see
    /// ``FrameSplitter``): only `hello`, `welcome` or `refuse` can come first. The largest real
    /// hello is about 400 bytes (magic 4, version 4, epoch ≤ 10, digest 8, a topology id of a
    /// name of at most 100 bytes plus `-<seconds>`, a host name of at most 253 bytes, port ≤ 3),
    /// so 4 KiB leaves room; a peer cannot make a worker allocate more before it is known. (A
    /// worker started in process with a topology id and host of more than about 4,000 bytes
    /// together could not connect: its hello would be refused as oversized.)
    package static let maxHandshakeFrameBytes = 4 * 1024

    /// Frame types.
    package enum FrameType: UInt8 {
        case hello = 1
        case welcome = 2
        case refuse = 3
        case batch = 4
        case control = 5
    }

    /// Envelope kinds (first byte of each envelope in a batch).
    enum EnvelopeKind {
        static let tuple: UInt8 = 0
        static let trackedTuple: UInt8 = 1
        static let multiAnchoredTuple: UInt8 = 2
        static let ackInit: UInt8 = 3
        static let ack: UInt8 = 4
        static let fail: UInt8 = 5
        static let treeCompleted: UInt8 = 6
        static let treeFailed: UInt8 = 7
    }

    /// Value tags. A string shorter than 128 bytes is one byte `0x80 | length` plus its bytes.
    enum ValueTag {
        static let null: UInt8 = 0
        static let falseValue: UInt8 = 1
        static let trueValue: UInt8 = 2
        static let int: UInt8 = 3
        static let double: UInt8 = 4
        static let string: UInt8 = 5
        static let bytes: UInt8 = 6
        static let list: UInt8 = 7
        static let map: UInt8 = 8
        static let shortString: UInt8 = 0x80
    }

    /// Control frame kinds.
    package enum ControlKind: UInt8, Sendable {
        case overloaded = 1
        case relieved = 2
    }

    /// Deepest nesting of lists and maps a decoder accepts.
    static let maxValueDepth = 64
}
