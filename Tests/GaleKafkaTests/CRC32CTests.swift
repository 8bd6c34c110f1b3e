import Testing

@testable import GaleKafka

@Suite struct CRC32CTests {
    @Test func matchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // RFC 3720 (iSCSI) test vectors: 32 bytes of zeros, of 0xFF, and ascending.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    }

    @Test(arguments: [0, 1, 7, 8, 15, 16, 17, 1000, 4099])
    func aRunningChecksumEqualsTheChecksumOfTheWhole(split: Int) {
        var generator = SplitMix64(seed: UInt64(split))
        let bytes = randomBytes(5000, using: &generator)
        let whole = CRC32C.checksum(bytes)
        let running = CRC32C.checksum(bytes[split...], continuing: CRC32C.checksum(bytes[..<split]))
        #expect(running == whole)
        let combined = CRC32C.combine(
            CRC32C.checksum(bytes[..<split]),
            CRC32C.checksum(bytes[split...]),
            secondLength: bytes.count - split
        )
        #expect(combined == whole)
    }

    @Test func slicingAgreesWithTheBitwiseDefinition() {
        var generator = SplitMix64(seed: 42)
        for length in [1, 3, 31, 64, 100, 257] {
            let bytes = randomBytes(length, using: &generator)
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            }
            #expect(CRC32C.checksum(bytes) == ~crc, "length \(length)")
        }
    }
}

// MARK: - Test data

/// A small seeded generator, so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `count` pseudo-random bytes, written eight at a time (fast enough in debug builds for 110 MB).
func randomBytes(_ count: Int, using generator: inout SplitMix64) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        let raw = UnsafeMutableRawBufferPointer(buffer)
        var index = 0
        while index + 8 <= count {
            raw.storeBytes(of: generator.next(), toByteOffset: index, as: UInt64.self)
            index += 8
        }
        var last = generator.next()
        while index < count {
            raw[index] = UInt8(truncatingIfNeeded: last)
            last >>= 8
            index += 1
        }
        initialized = count
    }
}
