/// CRC-32C (Castagnoli, reflected polynomial `0x82F63B78`), the checksum of chunk headers and payloads.
///
/// Computed in software with slicing-by-16 tables (16 KiB). The value is streamable: the checksum of `a + b`
/// is `CRC32C.checksum(b, continuing: CRC32C.checksum(a))`, and ``combine(_:_:secondLength:)`` joins
/// the checksums of two adjacent pieces without reading them again.
public enum CRC32C {
    /// The reflected Castagnoli polynomial.
    static let polynomial: UInt32 = 0x82F6_3B78

    /// Sixteen 256-entry tables, flattened: entry `k * 256 + b`.
    static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 16 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1
            }
            tables[byte] = crc
        }
        for k in 1..<16 {
            for byte in 0..<256 {
                let previous = tables[(k - 1) * 256 + byte]
                tables[k * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// `x^(2^k)` modulo the polynomial, for ``combine(_:_:secondLength:)``.
    static let powersOfX: [UInt32] = {
        var powers = [UInt32](repeating: 0, count: 32)
        var p: UInt32 = 1 << 30  // x^1
        powers[0] = p
        for k in 1..<32 {
            p = multiplyModP(p, p)
            powers[k] = p
        }
        return powers
    }()

    /// The checksum of `bytes`, or the running checksum `crc` extended by `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: The bytes to checksum.
    ///   - crc: The checksum of the bytes before `bytes` (0 to start).
    @inlinable
    public static func checksum(_ bytes: some Collection<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        let fast = bytes.withContiguousStorageIfAvailable { buffer in
            update(crc, UnsafeRawBufferPointer(buffer))
        }
        if let fast { return fast }
        let copy = [UInt8](bytes)
        return copy.withUnsafeBytes { update(crc, $0) }
    }

    /// The checksum of raw memory, or the running checksum `crc` extended by it.
    @inlinable
    public static func checksum(_ buffer: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        update(crc, buffer)
    }

    @usableFromInline
    static func update(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        tables.withUnsafeBufferPointer { table in
            var c = ~crc
            var index = 0
            let count = buffer.count
            guard let base = buffer.baseAddress else { return crc }
            #if _endian(little)
            while count - index >= 16 {
                let w0 = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let w1 = base.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
                let a = UInt32(truncatingIfNeeded: w0) ^ c
                let b = UInt32(truncatingIfNeeded: w0 >> 32)
                let d = UInt32(truncatingIfNeeded: w1)
                let e = UInt32(truncatingIfNeeded: w1 >> 32)
                var x = table[15 * 256 + Int(a & 0xFF)] ^ table[14 * 256 + Int((a >> 8) & 0xFF)]
                x ^= table[13 * 256 + Int((a >> 16) & 0xFF)] ^ table[12 * 256 + Int(a >> 24)]
                x ^= table[11 * 256 + Int(b & 0xFF)] ^ table[10 * 256 + Int((b >> 8) & 0xFF)]
                x ^= table[9 * 256 + Int((b >> 16) & 0xFF)] ^ table[8 * 256 + Int(b >> 24)]
                x ^= table[7 * 256 + Int(d & 0xFF)] ^ table[6 * 256 + Int((d >> 8) & 0xFF)]
                x ^= table[5 * 256 + Int((d >> 16) & 0xFF)] ^ table[4 * 256 + Int(d >> 24)]
                x ^= table[3 * 256 + Int(e & 0xFF)] ^ table[2 * 256 + Int((e >> 8) & 0xFF)]
                x ^= table[1 * 256 + Int((e >> 16) & 0xFF)] ^ table[Int(e >> 24)]
                c = x
                index &+= 16
            }
            #endif
            while index < count {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                c = (c >> 8) ^ table[Int((c ^ UInt32(byte)) & 0xFF)]
                index &+= 1
            }
            return ~c
        }
    }

    /// The checksum of `a + b` from the checksum of `a`, the checksum of `b` and the length of `b`.
    ///
    /// Costs O(log `secondLength`) and reads no data.
    public static func combine(_ first: UInt32, _ second: UInt32, secondLength: Int) -> UInt32 {
        guard secondLength > 0 else { return first }
        return multiplyModP(xToThe8n(secondLength), first) ^ second
    }

    /// `x^(8 n)` modulo the polynomial: the operator that shifts a checksum past `n` zero bytes.
    static func xToThe8n(_ n: Int) -> UInt32 {
        var p: UInt32 = 1 << 31  // x^0
        var n = UInt64(n)
        var k = 3  // 8 n = n * 2^3
        while n != 0 {
            if n & 1 != 0 {
                p = multiplyModP(powersOfX[k & 31], p)
            }
            n >>= 1
            k += 1
        }
        return p
    }

    /// `a * b` modulo the polynomial, in the reflected bit order.
    static func multiplyModP(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var m: UInt32 = 1 << 31
        var product: UInt32 = 0
        var b = b
        while m != 0 {
            if a & m != 0 {
                product ^= b
                if a & (m - 1) == 0 { break }
            }
            m >>= 1
            b = (b & 1) != 0 ? (b >> 1) ^ polynomial : b >> 1
        }
        return product
    }
}
