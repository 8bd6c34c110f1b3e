/// The binary header of one chunk of a payload larger than the broker's message size.
///
/// A chunk travels as a Kafka record whose value is the chunk's body and whose record header
/// ``recordHeaderKey`` (`gale-chunk`) holds these ``byteCount`` bytes. A record without that header
/// is an ordinary value, delivered as-is, so the rule that tells chunks from values never looks at
/// the value's bytes.
///
/// Layout (big-endian):
///
/// | bytes  | field                                                                 |
/// |--------|-----------------------------------------------------------------------|
/// | 0..<2  | magic `"GK"`                                                          |
/// | 2      | version (``currentVersion``)                                          |
/// | 3      | flags (0)                                                             |
/// | 4..<20 | ``payloadID``                                                         |
/// | 20..<24| ``index``                                                             |
/// | 24..<28| ``count``                                                             |
/// | 28..<32| ``chunkSize``: body bytes of every chunk but the last                 |
/// | 32..<40| ``totalLength`` of the payload                                        |
/// | 40..<44| ``payloadChecksum``: CRC-32C of the whole payload                     |
/// | 44..<48| ``chunkChecksum``: CRC-32C of the chunk's body followed by bytes 0..<44|
public struct ChunkHeader: Hashable, Sendable {
    /// The Kafka record header whose value is the encoded chunk header.
    public static let recordHeaderKey = "gale-chunk"
    /// The length of an encoded header.
    public static let byteCount = 48
    /// The version this code writes and reads.
    public static let currentVersion: UInt8 = 1
    static let magic: (UInt8, UInt8) = (0x47, 0x4B)  // "GK"
    /// Bytes covered by ``chunkChecksum`` after the body.
    static let checkedPrefixCount = 44

    /// The payload this chunk belongs to.
    public var payloadID: PayloadID
    /// The chunk's position in the payload, from 0.
    public var index: Int
    /// The number of chunks of the payload.
    public var count: Int
    /// The body length of every chunk but the last, which holds the rest.
    public var chunkSize: Int
    /// The payload's length in bytes.
    public var totalLength: Int
    /// CRC-32C of the whole payload.
    public var payloadChecksum: UInt32
    /// CRC-32C of the chunk's body followed by the header's first 44 bytes.
    public var chunkChecksum: UInt32

    /// A header from its fields; ``chunkChecksum`` is usually filled by ``sealed(body:)``.
    public init(
        payloadID: PayloadID,
        index: Int,
        count: Int,
        chunkSize: Int,
        totalLength: Int,
        payloadChecksum: UInt32,
        chunkChecksum: UInt32 = 0
    ) {
        self.payloadID = payloadID
        self.index = index
        self.count = count
        self.chunkSize = chunkSize
        self.totalLength = totalLength
        self.payloadChecksum = payloadChecksum
        self.chunkChecksum = chunkChecksum
    }

    /// The body length this header announces: ``chunkSize``, or the remainder for the last chunk.
    public var expectedBodyLength: Int {
        index == count - 1 ? totalLength - chunkSize * (count - 1) : chunkSize
    }

    /// The position of this chunk's body in the payload.
    public var payloadOffset: Int { index * chunkSize }

    /// The 48 encoded bytes.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.byteCount)
        appendPrefix(to: &bytes)
        append(chunkChecksum, to: &bytes)
        return bytes
    }

    /// The encoded bytes with ``chunkChecksum`` computed from `bodyChecksum`, the CRC-32C of the body.
    func sealed(bodyChecksum: UInt32) -> (header: ChunkHeader, bytes: [UInt8]) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.byteCount)
        appendPrefix(to: &bytes)
        var header = self
        header.chunkChecksum = CRC32C.checksum(bytes, continuing: bodyChecksum)
        append(header.chunkChecksum, to: &bytes)
        return (header, bytes)
    }

    /// The checksum the header's first 44 bytes and a body with checksum `bodyChecksum` must carry.
    func expectedChunkChecksum(bodyChecksum: UInt32) -> UInt32 {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.byteCount)
        appendPrefix(to: &bytes)
        return CRC32C.checksum(bytes, continuing: bodyChecksum)
    }

    private func appendPrefix(to bytes: inout [UInt8]) {
        bytes.append(Self.magic.0)
        bytes.append(Self.magic.1)
        bytes.append(Self.currentVersion)
        bytes.append(0)
        append(payloadID.high, to: &bytes)
        append(payloadID.low, to: &bytes)
        append(UInt32(truncatingIfNeeded: index), to: &bytes)
        append(UInt32(truncatingIfNeeded: count), to: &bytes)
        append(UInt32(truncatingIfNeeded: chunkSize), to: &bytes)
        append(UInt64(truncatingIfNeeded: totalLength), to: &bytes)
        append(payloadChecksum, to: &bytes)
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        var bigEndian = value.bigEndian
        withUnsafeBytes(of: &bigEndian) { bytes.append(contentsOf: $0) }
    }
}

// MARK: - Decoding

extension ChunkHeader {
    /// Why header bytes are not a valid chunk header.
    public enum DecodingError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The header is not ``ChunkHeader/byteCount`` bytes long.
        case wrongLength(Int)
        /// The header does not start with the magic bytes `"GK"`.
        case badMagic
        /// The header was written by an unknown version of the format.
        case unsupportedVersion(UInt8)
        /// The fields contradict each other (index beyond count, count not matching length and size...).
        case inconsistentFields(String)

        public var description: String {
            switch self {
            case .wrongLength(let length):
                "chunk header has \(length) bytes, expected \(ChunkHeader.byteCount)"
            case .badMagic:
                "chunk header does not start with the magic bytes \"GK\""
            case .unsupportedVersion(let version):
                "chunk header version \(version) is not supported (this build reads \(ChunkHeader.currentVersion))"
            case .inconsistentFields(let reason):
                "chunk header fields are inconsistent: \(reason)"
            }
        }
    }

    /// Decodes and checks the structure of header bytes (not yet the checksums, which need the body).
    ///
    /// - Throws: ``DecodingError`` when the bytes are not a well-formed header of this version.
    public init(decoding bytes: [UInt8]) throws(DecodingError) {
        guard bytes.count == Self.byteCount else { throw .wrongLength(bytes.count) }
        guard bytes[0] == Self.magic.0, bytes[1] == Self.magic.1 else { throw .badMagic }
        guard bytes[2] == Self.currentVersion else { throw .unsupportedVersion(bytes[2]) }
        func read<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
            var value: T = 0
            for i in 0..<MemoryLayout<T>.size {
                value = value << 8 | T(bytes[offset + i])
            }
            return value
        }
        let total = read(32, as: UInt64.self)
        guard total <= UInt64(Int.max / 2) else { throw .inconsistentFields("total length \(total) is too large") }
        self.init(
            payloadID: PayloadID(high: read(4, as: UInt64.self), low: read(12, as: UInt64.self)),
            index: Int(read(20, as: UInt32.self)),
            count: Int(read(24, as: UInt32.self)),
            chunkSize: Int(read(28, as: UInt32.self)),
            totalLength: Int(total),
            payloadChecksum: read(40, as: UInt32.self),
            chunkChecksum: read(44, as: UInt32.self)
        )
        guard count >= 1 else { throw .inconsistentFields("count is 0") }
        guard index < count else { throw .inconsistentFields("index \(index) is not below count \(count)") }
        guard chunkSize >= 1 else { throw .inconsistentFields("chunk size is 0") }
        guard totalLength >= 1 else { throw .inconsistentFields("total length is 0") }
        let expectedCount = (totalLength + chunkSize - 1) / chunkSize
        guard count == expectedCount else {
            throw .inconsistentFields(
                "count \(count) does not match total length \(totalLength) in chunks of \(chunkSize) (\(expectedCount))"
            )
        }
    }
}
