import Testing

@testable import GaleKafka

@Suite struct ChunkEncoderTests {
    let encoder = ChunkEncoder(maxChunkBytes: 1000)

    @Test func aValueAtOrBelowTheLimitIsWrittenAsIsWithoutAHeader() {
        for size in [0, 1, 999, 1000] {
            let value = [UInt8](repeating: 7, count: size)
            let chunks = encoder.encode(value)
            #expect(chunks.count == 1)
            #expect(chunks[0].header == nil)
            #expect(chunks[0].headerBytes == nil)
            #expect(Array(chunks[0].body) == value)
        }
    }

    @Test func aLargerValueIsSplitIntoSlicesThatTileIt() {
        var generator = SplitMix64(seed: 1)
        let value = randomBytes(2501, using: &generator)
        let id = PayloadID.random(using: &generator)
        let chunks = encoder.encode(value, payloadID: id)
        #expect(chunks.count == 3)
        #expect(chunks.map(\.body.count) == [1000, 1000, 501])
        #expect(chunks.flatMap(\.body) == value)
        for (index, chunk) in chunks.enumerated() {
            let header = try! #require(chunk.header)
            #expect(header.payloadID == id)
            #expect(header.index == index)
            #expect(header.count == 3)
            #expect(header.chunkSize == 1000)
            #expect(header.totalLength == 2501)
            #expect(header.payloadChecksum == CRC32C.checksum(value))
            #expect(chunk.headerBytes == header.encoded())
            #expect(chunk.headerBytes?.count == ChunkHeader.byteCount)
            // The body shares the value's storage: no copy was made.
            value.withUnsafeBufferPointer { whole in
                chunk.body.withUnsafeBufferPointer { slice in
                    #expect(slice.baseAddress == whole.baseAddress.map { $0 + index * 1000 })
                }
            }
        }
    }

    @Test func aHeaderDecodesToWhatWasEncoded() throws {
        var generator = SplitMix64(seed: 2)
        let chunks = encoder.encode(randomBytes(5000, using: &generator))
        for chunk in chunks {
            let bytes = try #require(chunk.headerBytes)
            #expect(try ChunkHeader(decoding: bytes) == chunk.header)
        }
    }

    @Test func malformedHeadersAreRejected() throws {
        var generator = SplitMix64(seed: 3)
        let bytes = try #require(encoder.encode(randomBytes(5000, using: &generator))[1].headerBytes)
        #expect(throws: ChunkHeader.DecodingError.wrongLength(47)) {
            try ChunkHeader(decoding: Array(bytes.dropLast()))
        }
        var badMagic = bytes
        badMagic[0] = 0
        #expect(throws: ChunkHeader.DecodingError.badMagic) { try ChunkHeader(decoding: badMagic) }
        var badVersion = bytes
        badVersion[2] = 9
        #expect(throws: ChunkHeader.DecodingError.unsupportedVersion(9)) { try ChunkHeader(decoding: badVersion) }
        var badIndex = bytes
        badIndex[23] = 5  // index 5 of 5
        #expect(throws: ChunkHeader.DecodingError.self) { try ChunkHeader(decoding: badIndex) }
        var badCount = bytes
        badCount[27] = 6  // 6 chunks of 1000 for 5000 bytes
        #expect(throws: ChunkHeader.DecodingError.self) { try ChunkHeader(decoding: badCount) }
    }

    @Test func chunkSizeForAMessageLimitLeavesRoomForHeadersAndOverhead() {
        let size = ChunkEncoder.chunkBytes(forMessageLimit: 1_048_576, keyBytes: 36)
        #expect(size < 1_048_576 - ChunkHeader.byteCount - 36)
        #expect(size > 1_000_000)
    }
}
