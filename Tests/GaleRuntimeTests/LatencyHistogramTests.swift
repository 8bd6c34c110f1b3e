import Testing

@testable import GaleRuntime

@Suite struct LatencyHistogramTests {
    static let millisecond: UInt64 = 1_000_000

    @Test func emptyHistogramReportsZero() {
        let histogram = LatencyHistogram()
        #expect(histogram.count == 0)
        #expect(histogram.meanMillis == 0)
        #expect(histogram.quantileMillis(0.5) == 0)
        #expect(histogram.quantileMillis(0.99) == 0)
    }

    @Test func meanIsExact() {
        var histogram = LatencyHistogram()
        for _ in 0..<90 { histogram.record(1 * Self.millisecond) }
        for _ in 0..<10 { histogram.record(10 * Self.millisecond) }
        #expect(histogram.count == 100)
        #expect(histogram.sum == 190 * Self.millisecond)
        #expect(abs(histogram.meanMillis - 1.9) < 1e-9)
    }

    @Test(arguments: [(0.5, 1.0), (0.9, 1.0), (0.91, 10.0), (0.99, 10.0), (1.0, 10.0)])
    func quantileIsWithinTheBucketErrorOfTheTruth(_ q: Double, _ expectedMillis: Double) {
        var histogram = LatencyHistogram()
        for _ in 0..<90 { histogram.record(1 * Self.millisecond) }
        for _ in 0..<10 { histogram.record(10 * Self.millisecond) }
        let value = histogram.quantileMillis(q)
        #expect(abs(value - expectedMillis) / expectedMillis < 0.1, "q\(q) = \(value) ms")
    }

    @Test func quantilesOfAUniformSpreadAreOrderedAndClose() {
        var histogram = LatencyHistogram()
        for micros in 1...1_000 { histogram.record(UInt64(micros) * 1_000) }
        let p50 = histogram.quantileMillis(0.5)
        let p90 = histogram.quantileMillis(0.9)
        let p99 = histogram.quantileMillis(0.99)
        #expect(abs(p50 - 0.5) / 0.5 < 0.1)
        #expect(abs(p90 - 0.9) / 0.9 < 0.1)
        #expect(abs(p99 - 0.99) / 0.99 < 0.1)
        #expect(p50 <= p90 && p90 <= p99)
        #expect(abs(histogram.meanMillis - 0.5005) < 1e-9)
    }

    @Test func smallValuesHaveTheirOwnBuckets() {
        for nanos: UInt64 in 0..<8 {
            #expect(LatencyHistogram.index(of: nanos) == Int(nanos))
            #expect(LatencyHistogram.lowerBound(of: Int(nanos)) == Double(nanos))
        }
    }

    @Test(arguments: [8, 9, 15, 16, 100, 1_000, 123_456, 1_000_000, 987_654_321, UInt64(1) << 40, UInt64.max / 3])
    func everyValueFallsInsideItsBucket(_ nanos: UInt64) {
        let index = LatencyHistogram.index(of: nanos)
        let low = LatencyHistogram.lowerBound(of: index)
        let high = LatencyHistogram.lowerBound(of: index + 1)
        #expect(low <= Double(nanos))
        #expect(Double(nanos) < high)
        #expect((high - low) / low <= 0.125 + 1e-12, "buckets are at most 12.5% wide")
    }

    @Test func mergeAddsAndResetClears() {
        var a = LatencyHistogram()
        var b = LatencyHistogram()
        for _ in 0..<3 { a.record(2 * Self.millisecond) }
        for _ in 0..<1 { b.record(6 * Self.millisecond) }
        a.merge(b)
        #expect(a.count == 4)
        #expect(abs(a.meanMillis - 3.0) < 1e-9)
        #expect(abs(a.quantileMillis(1.0) - 6.0) / 6.0 < 0.1)
        a.reset()
        #expect(a.count == 0)
        #expect(a.sum == 0)
        #expect(a.quantileMillis(0.5) == 0)
        a.record(Self.millisecond)
        #expect(abs(a.quantileMillis(0.5) - 1.0) < 0.1, "reset cleared the buckets, not only the totals")
    }
}
