/// The windows of one task: which tuples each evaluation sees, which are new and expired, and
/// which tuples no later window can hold (the runner acks those).
///
/// Tuples enter in time order (``add(_:at:)``; an earlier time is taken as the latest one seen).
/// Every window is a contiguous run of the tuples so far, and windows only move forward, so a
/// window is a range of sequence numbers: what the previous evaluation saw and this one does not
/// is expired, the reverse is new, and everything before the window's start is evicted.
/// Memory: the tuples of one window and one sliding interval.
package struct WindowEngine {
    /// One window evaluation: what the bolt sees (`nil` when the window and its expired tuples
    /// are both empty, so the bolt is not called) and the tuples that leave for good.
    package struct Evaluation: Sendable {
        package var window: TupleWindow?
        package var evicted: [Tuple]
    }

    private struct Entry {
        var tuple: Tuple
        var time: Int64
    }

    private let lengthCount: Int?
    private let lengthMillis: Int64?
    private let slideCount: Int?
    private let slideMillis: Int64?

    /// Tuples in time order; `entries[..<head]` are evicted (dropped at compaction).
    private var entries: [Entry] = []
    private var head = 0
    /// The sequence number of `entries[0]`.
    private var base = 0
    /// The sequence numbers of the last window evaluated.
    private var previous: Range<Int> = 0..<0
    /// Tuples added since the last count-slid evaluation.
    private var sinceEvaluation = 0
    /// The end of the next duration-slid window (`nil` until a tuple gives a time).
    private var nextEnd: Int64?
    /// The latest time seen.
    private(set) var latest: Int64 = .min

    /// An engine for `config` (which ``WindowConfig/problem()`` found valid).
    package init(_ config: WindowConfig) {
        lengthCount = config.length.tuples
        lengthMillis = config.length.milliseconds
        slideCount = config.slide.tuples
        slideMillis = config.slide.milliseconds
    }

    /// Tuples held (in a window or waiting for one).
    package var held: Int { entries.count - head }

    /// Adds `tuple` at `time` (milliseconds): first evaluates the duration-slid windows that end
    /// at or before `time`, then, for a count-slid window, every `n`-th tuple evaluates the window
    /// ending just after this one.
    package mutating func add(_ tuple: Tuple, at time: Int64) -> [Evaluation] {
        let time = max(time, latest)
        var evaluations = advance(to: time)
        entries.append(Entry(tuple: tuple, time: time))
        if nextEnd == nil, let slide = slideMillis { nextEnd = Self.alignedEnd(after: time, slide: slide) }
        if let slide = slideCount {
            sinceEvaluation += 1
            if sinceEvaluation == slide {
                sinceEvaluation = 0
                evaluations.append(evaluate(end: time &+ 1))
            }
        }
        return evaluations
    }

    /// Time reached `time`: evaluates every duration-slid window ending at or before it. Empty
    /// stretches are skipped (no evaluation for a window with nothing in it and nothing expired).
    package mutating func advance(to time: Int64) -> [Evaluation] {
        latest = max(latest, time)
        guard let slide = slideMillis else { return [] }
        var evaluations: [Evaluation] = []
        while let end = nextEnd, end <= time {
            let evaluation = evaluate(end: end)
            var following = end &+ slide
            if evaluation.window == nil {
                // Nothing to show: the next window worth evaluating holds the first tuple left.
                if head < entries.count {
                    following = max(following, Self.alignedEnd(after: entries[head].time, slide: slide))
                    nextEnd = following
                } else {
                    nextEnd = nil
                }
            } else {
                nextEnd = following
            }
            if evaluation.window != nil || !evaluation.evicted.isEmpty { evaluations.append(evaluation) }
        }
        return evaluations
    }

    /// The first multiple of `slide` after `time`.
    static func alignedEnd(after time: Int64, slide: Int64) -> Int64 {
        let floor = time >= 0 ? time / slide : (time - slide + 1) / slide
        return (floor &+ 1) &* slide
    }

    /// Evaluates the window ending at `end` (exclusive) and evicts the tuples before it.
    private mutating func evaluate(end: Int64) -> Evaluation {
        let hi = firstIndex(atOrAfter: end)
        var lo: Int
        if let length = lengthMillis {
            lo = firstIndex(atOrAfter: end &- length)
        } else {
            lo = hi - (lengthCount ?? 0)
        }
        lo = min(max(lo, head), hi)
        let current = (base + lo)..<(base + hi)
        let newRange = max(current.lowerBound, previous.upperBound)..<current.upperBound
        let expiredRange = previous.lowerBound..<min(previous.upperBound, current.lowerBound)
        var window: TupleWindow?
        if !current.isEmpty || !expiredRange.isEmpty {
            window = TupleWindow(
                tuples: tuples(current),
                new: tuples(newRange),
                expired: tuples(expiredRange),
                start: lengthMillis.map { end &- $0 },
                end: end
            )
        }
        let evicted = entries[head..<lo].map(\.tuple)
        head = lo
        previous = current
        compact()
        return Evaluation(window: window, evicted: evicted)
    }

    private func tuples(_ range: Range<Int>) -> [Tuple] {
        guard !range.isEmpty else { return [] }
        return entries[(range.lowerBound - base)..<(range.upperBound - base)].map(\.tuple)
    }

    /// The index of the first held entry whose time is `time` or later (binary search).
    private func firstIndex(atOrAfter time: Int64) -> Int {
        var low = head
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].time < time { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Drops evicted entries once they are most of the array.
    private mutating func compact() {
        guard head > 64, head * 2 > entries.count else { return }
        entries.removeFirst(head)
        base += head
        head = 0
    }
}

/// Event time: each input stream's newest timestamp, the watermark, and the tuples waiting for
/// it (Storm's watermark generator: the watermark is the oldest of the streams' newest
/// timestamps, less the lag, once every input stream has been seen, and it only moves forward).
package struct WatermarkClock {
    private let lag: Int64
    private let streams: Int
    private var newest: [Int: Int64] = [:]
    private var waiting: [(tuple: Tuple, time: Int64, order: Int)] = []
    private var order = 0
    /// Tuples older than this are late; `.min` until the first watermark.
    package private(set) var watermark: Int64 = .min

    /// A clock for `streams` input streams with the watermark `lag` behind them.
    package init(lag: Duration, streams: Int) {
        self.lag = WindowMeasure.duration(lag).milliseconds ?? 0
        self.streams = max(1, streams)
    }

    /// Tuples waiting for the watermark.
    package var waitingCount: Int { waiting.count }

    /// Whether a tuple at `time` is behind the watermark.
    package func isLate(_ time: Int64) -> Bool { time < watermark }

    /// Records `tuple` at `time` from the stream numbered `stream` (it waits for the watermark).
    package mutating func add(_ tuple: Tuple, at time: Int64, stream: Int) {
        if let seen = newest[stream] {
            if time > seen { newest[stream] = time }
        } else {
            newest[stream] = time
        }
        waiting.append((tuple, time, order))
        order &+= 1
    }

    /// Moves the watermark if every stream has been seen and their oldest newest timestamp,
    /// less the lag, is past it. Returns the new watermark and the tuples it releases (those
    /// before it), in time order (arrival order for equal times); `nil` when it did not move.
    package mutating func tick() -> (watermark: Int64, released: [(tuple: Tuple, time: Int64)])? {
        guard newest.count >= streams, let oldest = newest.values.min() else { return nil }
        let candidate = oldest &- lag
        guard candidate > watermark else { return nil }
        watermark = candidate
        var released: [(tuple: Tuple, time: Int64, order: Int)] = []
        var kept: [(tuple: Tuple, time: Int64, order: Int)] = []
        kept.reserveCapacity(waiting.count)
        for entry in waiting {
            if entry.time < candidate { released.append(entry) } else { kept.append(entry) }
        }
        waiting = kept
        released.sort { ($0.time, $0.order) < ($1.time, $1.order) }
        return (candidate, released.map { ($0.tuple, $0.time) })
    }
}
