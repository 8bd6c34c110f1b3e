/// A fast, non-cryptographic generator for tuple-tree ids (SplitMix64), one per executor.
///
/// Seeded from the system generator, so ids from different executors and processes do not collide
/// in practice; XOR acking already relies on 64-bit random ids being distinct.
package struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    package init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    package init(seed: UInt64) {
        state = seed
    }

    @inline(__always)
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A random id that is never 0 (0 means "untracked").
    @inline(__always)
    package mutating func nextId() -> UInt64 {
        let v = next()
        return v == 0 ? 1 : v
    }
}
