package import Gale

/// A log-linear histogram of nanosecond durations: 8 buckets per power of two (about 9% error).
package struct LatencyHistogram: Sendable {
    private static let subBits = 3
    private static let bucketCount = 64 << subBits

    private var buckets: [UInt64]
    package private(set) var count: UInt64 = 0
    package private(set) var sum: UInt64 = 0

    package init() {
        buckets = Array(repeating: 0, count: Self.bucketCount)
    }

    @inline(__always)
    static func index(of nanos: UInt64) -> Int {
        if nanos < 8 { return Int(nanos) }
        let exponent = 63 - nanos.leadingZeroBitCount
        let sub = Int((nanos >> UInt64(exponent - subBits)) & 7)
        return ((exponent - subBits + 1) << subBits) + sub
    }

    static func lowerBound(of index: Int) -> Double {
        if index < 8 { return Double(index) }
        let exponent = (index >> subBits) + subBits - 1
        let sub = index & 7
        return Double(UInt64(1) << UInt64(exponent)) * (1 + Double(sub) / 8)
    }

    /// Records one duration.
    @inline(__always)
    package mutating func record(_ nanos: UInt64) {
        buckets[Self.index(of: nanos)] &+= 1
        count &+= 1
        sum &+= nanos
    }

    /// Adds every recording of `other`.
    package mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        for i in buckets.indices where other.buckets[i] != 0 {
            buckets[i] &+= other.buckets[i]
        }
        count &+= other.count
        sum &+= other.sum
    }

    /// Forgets every recording.
    package mutating func reset() {
        guard count > 0 else { return }
        for i in buckets.indices { buckets[i] = 0 }
        count = 0
        sum = 0
    }

    /// The mean in milliseconds (0 when empty).
    package var meanMillis: Double {
        count == 0 ? 0 : Double(sum) / Double(count) / 1_000_000
    }

    /// The `q` quantile (0...1) in milliseconds, at the middle of its bucket (0 when empty).
    package func quantileMillis(_ q: Double) -> Double {
        guard count > 0 else { return 0 }
        let rank = UInt64((Double(count) * q).rounded(.up))
        var seen: UInt64 = 0
        for i in buckets.indices {
            seen &+= buckets[i]
            if seen >= max(rank, 1) {
                let low = Self.lowerBound(of: i)
                let high = Self.lowerBound(of: i + 1)
                return (low + high) / 2 / 1_000_000
            }
        }
        return Double(sum) / Double(count) / 1_000_000
    }

    /// Cumulative counts at `bounds` (seconds, ascending): at each bound, the recordings whose
    /// bucket lies wholly at or below it (a recording in a bucket that straddles a bound counts
    /// at the next bound only). `nil` when nothing was recorded.
    package func buckets(bounds: [Double] = LatencyBuckets.bounds) -> LatencyBuckets? {
        guard count > 0 else { return nil }
        var cumulative = [UInt64](repeating: 0, count: bounds.count)
        var bound = 0
        var seen: UInt64 = 0
        for i in buckets.indices {
            let upper = i + 1 < Self.bucketCount ? Self.lowerBound(of: i + 1) / 1e9 : .infinity
            while bound < bounds.count && upper > bounds[bound] {
                cumulative[bound] = seen
                bound += 1
            }
            guard bound < bounds.count else { break }
            seen &+= buckets[i]
        }
        while bound < bounds.count {
            cumulative[bound] = seen
            bound += 1
        }
        return LatencyBuckets(cumulative: cumulative, count: count, sumSeconds: Double(sum) / 1e9)
    }
}
