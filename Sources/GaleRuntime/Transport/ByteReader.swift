/// Reads the wire encoding from a byte buffer, checking every read against its end.
///
/// Every method throws ``WireError/truncated`` instead of reading past the end: nothing that comes
/// from a socket is trusted.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Bytes not yet read.
    @inline(__always)
    var remaining: Int { bytes.count &- position }

    @inline(__always)
    mutating func readByte() throws(WireError) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        let b = bytes[position]
        position &+= 1
        return b
    }

    @inline(__always)
    mutating func readUInt32() throws(WireError) -> UInt32 {
        guard remaining >= 4 else { throw .truncated }
        let v = bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self)
        position &+= 4
        return UInt32(littleEndian: v)
    }

    @inline(__always)
    mutating func readUInt64() throws(WireError) -> UInt64 {
        guard remaining >= 8 else { throw .truncated }
        let v = bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self)
        position &+= 8
        return UInt64(littleEndian: v)
    }

    @inline(__always)
    mutating func readVarint() throws(WireError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try readByte()
            guard shift < 64 else { throw .malformed("varint longer than 10 bytes") }
            result |= UInt64(b & 0x7f) &<< shift
            if b < 0x80 { return result }
            shift &+= 7
        }
    }

    @inline(__always)
    mutating func readSignedVarint() throws(WireError) -> Int64 {
        let v = try readVarint()
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    /// A count of elements each at least `minimumSize` bytes long: never more than the bytes left
    /// allow, so a corrupt count cannot make the reader reserve huge arrays.
    @inline(__always)
    mutating func readCount(minimumSize: Int = 1) throws(WireError) -> Int {
        let v = try readVarint()
        guard v <= UInt64(remaining / max(1, minimumSize)) else { throw .malformed("count \(v) exceeds the frame") }
        return Int(v)
    }

    /// `n` raw bytes, without copying.
    @inline(__always)
    mutating func readBytes(_ n: Int) throws(WireError) -> UnsafeRawBufferPointer {
        guard n >= 0, remaining >= n else { throw .truncated }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position &+ n)])
        position &+= n
        return slice
    }

    /// A UTF-8 string of `n` bytes (invalid UTF-8 is repaired, never trusted).
    @inline(__always)
    mutating func readString(length n: Int) throws(WireError) -> String {
        String(decoding: try readBytes(n), as: UTF8.self)
    }

    /// A length-prefixed UTF-8 string.
    mutating func readString() throws(WireError) -> String {
        let n = try readCount()
        return try readString(length: n)
    }
}
