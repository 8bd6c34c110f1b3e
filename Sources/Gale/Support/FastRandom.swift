/// A fast random number generator for components (xoshiro256**), seeded once from the system's.
///
/// `SystemRandomNumberGenerator` asks the kernel for every number (a system call each time on
/// Linux), which costs more than a spout's whole `nextTuple`. This generator computes each number
/// in a few instructions from 256 bits of state. It is not cryptographically secure: use it to
/// pick sample data, shuffle or jitter, never for keys, tokens or ids others must not guess.
///
/// ```swift
/// private var random = FastRandom()
/// func nextTuple() {
///     let sentence = Self.sentences.randomElement(using: &random)
///     ...
/// }
/// ```
public struct FastRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// A generator seeded from `SystemRandomNumberGenerator`.
    public init() {
        var system = SystemRandomNumberGenerator()
        self.init(seed: system.next())
    }

    /// A generator whose sequence is fixed by `seed` (for repeatable runs and tests).
    public init(seed: UInt64) {
        // The state is filled by SplitMix64, as the algorithm's authors recommend: never all zero.
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix()
        s1 = splitMix()
        s2 = splitMix()
        s3 = splitMix()
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }
}
