/// The 16-byte random identifier shared by every chunk of one payload.
public struct PayloadID: Hashable, Sendable, CustomStringConvertible {
    /// The first eight bytes, big-endian.
    public var high: UInt64
    /// The last eight bytes, big-endian.
    public var low: UInt64

    /// An identifier from its two halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A fresh random identifier from the system's secure generator.
    public static func random() -> PayloadID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// A random identifier from `generator` (tests pass a seeded one).
    public static func random(using generator: inout some RandomNumberGenerator) -> PayloadID {
        PayloadID(high: generator.next(), low: generator.next())
    }

    /// The 32 lowercase hex digits of the identifier.
    public var description: String {
        hex(high) + hex(low)
    }

    private func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
