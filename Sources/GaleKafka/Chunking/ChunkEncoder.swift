/// One Kafka record's worth of a value: its body, and the chunk header to attach when the value was split.
public struct Chunk: Sendable {
    /// The chunk header, or `nil` for a value small enough to be written as-is.
    public var header: ChunkHeader?
    /// The encoded ``header``: the value of the `gale-chunk` record header (``ChunkHeader/recordHeaderKey``),
    /// or `nil` when the record carries no such header.
    public var headerBytes: [UInt8]?
    /// The record's value: a slice of the encoded value, sharing its storage.
    public var body: ArraySlice<UInt8>
}

/// Splits values larger than a maximum chunk size into chunks for one partition.
///
/// Values of at most ``maxChunkBytes`` bytes come back as a single ``Chunk`` without a header, to
/// be written unchanged. Larger values come back as `count` chunks that must all be written to the
/// **same partition** (give them the same key) in index order, each with the record header
/// ``ChunkHeader/recordHeaderKey`` set to ``Chunk/headerBytes``. Bodies are slices of the value:
/// encoding reads the value once (to checksum it) and copies nothing; the producer's copy into its
/// send buffer is the only copy.
///
/// ``maxChunkBytes`` counts body bytes only: leave room below the broker's `message.max.bytes`
/// for the key, the record headers and the batch overhead (``chunkBytes(forMessageLimit:keyBytes:)``).
public struct ChunkEncoder: Sendable {
    /// The largest body of one record.
    public let maxChunkBytes: Int

    /// An encoder that splits values above `maxChunkBytes` bytes.
    ///
    /// - Parameter maxChunkBytes: The largest record body, at least 1 and below 4 GiB.
    public init(maxChunkBytes: Int) {
        precondition(maxChunkBytes >= 1 && maxChunkBytes <= Int(UInt32.max), "maxChunkBytes must be in 1...UInt32.max")
        self.maxChunkBytes = maxChunkBytes
    }

    /// A chunk size that keeps a record of one chunk below a broker's message size limit.
    ///
    /// Subtracts the chunk header, the key and 512 bytes of record and batch overhead.
    /// - Parameters:
    ///   - messageLimit: The broker's (or topic's) `message.max.bytes`.
    ///   - keyBytes: The length of the longest key used with chunked values.
    public static func chunkBytes(forMessageLimit messageLimit: Int, keyBytes: Int = 0) -> Int {
        max(1, messageLimit - ChunkHeader.byteCount - ChunkHeader.recordHeaderKey.utf8.count - keyBytes - 512)
    }

    /// The records for `value`, with a fresh random payload id.
    public func encode(_ value: [UInt8]) -> [Chunk] {
        encode(value, payloadID: .random())
    }

    /// The records for `value`: the value itself when it fits in one record, else its chunks in index order.
    ///
    /// - Parameters:
    ///   - value: The value to write.
    ///   - payloadID: The id shared by the chunks; must be unique per payload (random by default).
    public func encode(_ value: [UInt8], payloadID: PayloadID) -> [Chunk] {
        guard value.count > maxChunkBytes else {
            return [Chunk(header: nil, headerBytes: nil, body: value[...])]
        }
        let count = (value.count + maxChunkBytes - 1) / maxChunkBytes
        var bodyChecksums = [UInt32]()
        bodyChecksums.reserveCapacity(count)
        var payloadChecksum: UInt32 = 0
        value.withUnsafeBytes { bytes in
            for index in 0..<count {
                let start = index * maxChunkBytes
                let end = min(start + maxChunkBytes, bytes.count)
                let checksum = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                bodyChecksums.append(checksum)
                payloadChecksum =
                    index == 0 ? checksum : CRC32C.combine(payloadChecksum, checksum, secondLength: end - start)
            }
        }
        var chunks = [Chunk]()
        chunks.reserveCapacity(count)
        for index in 0..<count {
            let start = index * maxChunkBytes
            let end = min(start + maxChunkBytes, value.count)
            let (header, bytes) = ChunkHeader(
                payloadID: payloadID,
                index: index,
                count: count,
                chunkSize: maxChunkBytes,
                totalLength: value.count,
                payloadChecksum: payloadChecksum
            ).sealed(bodyChecksum: bodyChecksums[index])
            chunks.append(Chunk(header: header, headerBytes: bytes, body: value[start..<end]))
        }
        return chunks
    }
}
