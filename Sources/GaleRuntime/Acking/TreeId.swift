/// A tuple tree's root id (or an edge id) as a dictionary key, hashed without SipHash.
///
/// Root and edge ids are drawn from ``SplitMix64``: uniformly random, and never chosen by
/// anything outside the runtime, so the table needs neither mixing nor protection against
/// chosen collisions. The hash is the id XOR the table's per-instance seed, which saves
/// `Hasher`'s rounds on the per-tuple path of the acker, the spouts' pending trees and the bolts'
/// spilled ack values.
package struct TreeId: Hashable {
    package let raw: UInt64

    @inline(__always)
    package init(_ raw: UInt64) {
        self.raw = raw
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(raw)
    }

    @inline(__always)
    package func _rawHashValue(seed: Int) -> Int {
        Int(truncatingIfNeeded: raw ^ UInt64(truncatingIfNeeded: seed))
    }
}
