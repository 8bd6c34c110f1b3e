import Dispatch
package import Gale
import Synchronization

/// Event sampling of one process's tasks (`gale debug`): per component the share of tuples to
/// sample, and a bounded buffer of the samples until they are taken.
///
/// Off by default and costless while off: each executor reads its component's rate once per
/// drain (``SampleSchedule/refresh(_:)``) and per tuple only checks a countdown it owns.
package final class TupleSampling: Sendable {
    /// Samples held until taken; the newest are kept.
    package static let capacity = 200

    private let rates: [String: SamplingRate]
    /// Rates of components this process does not run (read by nobody).
    private let unknown = SamplingRate()
    private let ring = Mutex(SampleRing(capacity: TupleSampling.capacity))

    package init(components: [String] = []) {
        var rates: [String: SamplingRate] = [:]
        for id in components { rates[id] = SamplingRate() }
        self.rates = rates
    }

    /// The rate `component`'s executors read.
    package func rate(of component: String) -> SamplingRate { rates[component] ?? unknown }

    /// Samples `percents[c]` % of each component `c`'s tuples from their next drain on; the
    /// others not at all.
    package func set(_ percents: [String: Double]) {
        for (id, rate) in rates {
            rate.milliPercent.store(SampleSchedule.milliPercent(percents[id] ?? 0), ordering: .relaxed)
        }
    }

    /// The percent each component samples now (those sampled only).
    package var percents: [String: Double] {
        var result: [String: Double] = [:]
        for (id, rate) in rates {
            let milli = rate.milliPercent.load(ordering: .relaxed)
            if milli > 0 { result[id] = Double(milli) / 1000 }
        }
        return result
    }

    func record(_ sample: TupleSample) {
        ring.withLock { $0.append(sample) }
    }

    /// Samples recorded since this was made (taken or not).
    package var recorded: Int { ring.withLock { $0.recorded } }

    /// Takes the samples held, oldest first.
    package func take() -> [TupleSample] {
        ring.withLock { $0.take() }
    }
}

/// The sampling rate of one component, in thousandths of a percent (0: off).
package final class SamplingRate: Sendable {
    let milliPercent = Atomic<Int>(0)

    package init() {}
}

/// Which tuples an executor samples: one every `100 / percent` on average, spread evenly (the
/// fraction carried from one gap to the next), decided by a countdown.
package struct SampleSchedule: Sendable, Equatable {
    /// The rate in force, in thousandths of a percent (0: off).
    package private(set) var milliPercent = 0
    /// Tuples to go until the next sample, this one included; 0 while sampling is off, so the
    /// per-tuple check is `countdown != 0`.
    package private(set) var countdown = 0
    /// What the last gap left over, in thousandths of a percent.
    private var carry = 0

    package init() {}

    /// `percent` in thousandths of a percent, clamped to 0...100 %.
    package static func milliPercent(_ percent: Double) -> Int {
        guard percent.isFinite, percent > 0 else { return 0 }
        return max(1, Int((min(100, percent) * 1000).rounded()))
    }

    /// Takes `rate` (thousandths of a percent) when it differs from the one in force; once per
    /// drain.
    @inline(__always)
    package mutating func refresh(_ rate: Int) {
        if rate != milliPercent { reset(rate) }
    }

    private mutating func reset(_ rate: Int) {
        milliPercent = max(0, rate)
        carry = 0
        countdown = milliPercent > 0 ? nextGap() : 0
    }

    /// Counts one tuple (only while on: `countdown != 0`); `true` when it is to be sampled.
    @inline(__always)
    package mutating func tick() -> Bool {
        countdown -= 1
        guard countdown <= 0 else { return false }
        countdown = nextGap()
        return true
    }

    private mutating func nextGap() -> Int {
        let total = 100_000 + carry
        let gap = total / milliPercent
        carry = total - gap * milliPercent
        return max(1, gap)
    }
}

/// A fixed-size ring of samples: appending to a full one drops the oldest.
package struct SampleRing {
    package let capacity: Int
    private var items: [TupleSample] = []
    private var next = 0
    /// Samples appended in total.
    package private(set) var recorded = 0

    package init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    package mutating func append(_ sample: TupleSample) {
        recorded += 1
        if items.count < capacity {
            items.append(sample)
        } else {
            items[next] = sample
            next = (next + 1) % capacity
        }
    }

    package mutating func take() -> [TupleSample] {
        defer {
            items.removeAll(keepingCapacity: true)
            next = 0
        }
        return Array(items[next...] + items[..<next])
    }
}
