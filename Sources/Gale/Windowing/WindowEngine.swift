/// The windows of one task: which tuples each evaluation sees, which are new and expired, and
/// which tuples no later window can hold.
///
/// Tuples enter in time order (``add(_:at:)``; an earlier time is taken as the latest one seen)
/// and are kept by a ``WindowStore``. Every window is a contiguous run of the tuples so far, and
/// windows only move forward, so a window is a range of sequence numbers: what the previous
/// evaluation saw and this one does not is expired, the reverse is new, and everything before
/// the window's start can go once the bolt has seen the window (``finish(_:)``). Memory: the
/// tuples of one window and one sliding interval, in the store.
package struct WindowEngine {
    /// One window evaluation: the ranges of sequence numbers the bolt sees.
    package struct Evaluation: Sendable, Equatable {
        package var tuples: Range<Int>
        package var new: Range<Int>
        package var expired: Range<Int>
        package var start: Int64?
        package var end: Int64
        /// Whether the bolt is called (not when the window and its expired tuples are empty).
        package var isShown: Bool { !tuples.isEmpty || !expired.isEmpty }
    }

    package let store: any WindowStore
    private let lengthCount: Int?
    private let lengthMillis: Int64?
    private let slideCount: Int?
    private let slideMillis: Int64?
    /// The sequence numbers of the last window evaluated.
    private var previous: Range<Int> = 0..<0
    /// Tuples added since the last count-slid evaluation.
    private var sinceEvaluation = 0
    /// The end of the next duration-slid window (`nil` until a tuple gives a time).
    private var nextEnd: Int64?
    /// The latest time seen.
    private(set) var latest: Int64 = .min

    /// An engine for `config` (which ``WindowConfig/problem()`` found valid) keeping its tuples
    /// in `store`, from where the store's last commit left the windows.
    package init(_ config: WindowConfig, store: any WindowStore = MemoryWindowStore()) {
        self.store = store
        lengthCount = config.length.tuples
        lengthMillis = config.length.milliseconds
        slideCount = config.slide.tuples
        slideMillis = config.slide.milliseconds
        if let position = store.position {
            previous = position.previousLower..<max(position.previousLower, position.previousUpper)
            sinceEvaluation = position.sinceEvaluation
            nextEnd = position.nextEnd
            latest = position.latest
        }
    }

    /// Where the windows stand, for a durable store's commit.
    package var position: WindowPosition {
        WindowPosition(
            previousLower: previous.lowerBound,
            previousUpper: previous.upperBound,
            sinceEvaluation: sinceEvaluation,
            nextEnd: nextEnd,
            latest: latest
        )
    }

    /// Tuples held (in a window or waiting for one).
    package var held: Int { store.upperBound - store.lowerBound }

    /// Adds `tuple` at `time` (milliseconds): first evaluates the duration-slid windows that end
    /// at or before `time`, then, for a count-slid window, every `n`-th tuple evaluates the window
    /// ending just after this one. Each evaluation is to be shown (``window(for:failures:)``) and
    /// finished (``finish(_:)``) in order.
    package mutating func add(_ tuple: Tuple, at time: Int64) throws -> [Evaluation] {
        let time = max(time, latest)
        var evaluations = try advance(to: time)
        try store.append(tuple, time: time)
        if nextEnd == nil, let slide = slideMillis { nextEnd = Self.alignedEnd(after: time, slide: slide) }
        if let slide = slideCount {
            sinceEvaluation += 1
            if sinceEvaluation == slide {
                sinceEvaluation = 0
                evaluations.append(try evaluate(end: time &+ 1))
            }
        }
        return evaluations
    }

    /// Time reached `time`: evaluates every duration-slid window ending at or before it. Empty
    /// stretches are skipped (no evaluation for a window with nothing in it and nothing expired).
    package mutating func advance(to time: Int64) throws -> [Evaluation] {
        latest = max(latest, time)
        guard let slide = slideMillis else { return [] }
        var evaluations: [Evaluation] = []
        while let end = nextEnd, end <= time {
            let evaluation = try evaluate(end: end)
            evaluations.append(evaluation)
            if evaluation.isShown {
                nextEnd = end &+ slide
            } else {
                // Nothing to show: the next window worth evaluating holds the first tuple after it.
                let first = evaluation.tuples.upperBound
                if first < store.upperBound {
                    nextEnd = max(end &+ slide, Self.alignedEnd(after: try store.time(of: first), slide: slide))
                } else {
                    nextEnd = nil
                }
            }
        }
        return evaluations
    }

    /// The window of `evaluation` as the bolt sees it (`nil` when there is nothing to show). Read
    /// it before ``finish(_:)``.
    package func window(for evaluation: Evaluation, failures: ReadFailures) throws -> TupleWindow? {
        guard evaluation.isShown else { return nil }
        return TupleWindow(
            tuples: try WindowTuples(store: store, range: evaluation.tuples, failures: failures),
            new: try WindowTuples(store: store, range: evaluation.new, failures: failures),
            expired: try WindowTuples(store: store, range: evaluation.expired, failures: failures),
            start: evaluation.start,
            end: evaluation.end
        )
    }

    /// The bolt has seen `evaluation`: drops the tuples before its window, which no later window
    /// holds. Returns them when the store is not durable (to be acked).
    package mutating func finish(_ evaluation: Evaluation) throws -> [Tuple] {
        try store.evict(before: evaluation.tuples.lowerBound)
    }

    /// The first multiple of `slide` after `time`.
    static func alignedEnd(after time: Int64, slide: Int64) -> Int64 {
        let floor = time >= 0 ? time / slide : (time - slide + 1) / slide
        return (floor &+ 1) &* slide
    }

    /// Evaluates the window ending at `end` (exclusive).
    private mutating func evaluate(end: Int64) throws -> Evaluation {
        let lowest = max(store.lowerBound, previous.lowerBound)
        let hi = try store.firstSequence(atOrAfter: end)
        var lo: Int
        if let length = lengthMillis {
            lo = try store.firstSequence(atOrAfter: end &- length)
        } else {
            lo = hi - (lengthCount ?? 0)
        }
        lo = min(max(lo, lowest), hi)
        let current = lo..<hi
        let evaluation = Evaluation(
            tuples: current,
            new: max(current.lowerBound, previous.upperBound)..<current.upperBound,
            expired: previous.lowerBound..<max(previous.lowerBound, min(previous.upperBound, current.lowerBound)),
            start: lengthMillis.map { end &- $0 },
            end: end
        )
        previous = current
        return evaluation
    }
}

/// Event time: each input stream's newest timestamp, the watermark, and the tuples waiting for
/// it (Storm's watermark generator: the watermark is the oldest of the streams' newest
/// timestamps, less the lag, once every input stream has been seen, and it only moves forward).
/// The waiting tuples are a min-heap by (time, arrival): a watermark releases what it passes in
/// O(k log n).
package struct WatermarkClock {
    private struct Waiting: HeapOrdered {
        var tuple: Tuple
        var time: Int64
        var order: Int
        func precedes(_ other: Waiting) -> Bool { (time, order) < (other.time, other.order) }
    }

    private let lag: Int64
    private let streams: Int
    private var newest: [Int: Int64] = [:]
    private var heap = MinHeap<Waiting>()
    private var order = 0
    /// Tuples older than this are late; `.min` until the first watermark.
    package private(set) var watermark: Int64 = .min

    /// A clock for `streams` input streams with the watermark `lag` behind them.
    package init(lag: Duration, streams: Int) {
        self.lag = lag.inMilliseconds
        self.streams = max(1, streams)
    }

    /// Tuples waiting for the watermark.
    package var waitingCount: Int { heap.count }

    /// Whether a tuple at `time` is behind the watermark.
    package func isLate(_ time: Int64) -> Bool { time < watermark }

    /// Records `tuple` at `time` from the stream numbered `stream` (it waits for the watermark).
    package mutating func add(_ tuple: Tuple, at time: Int64, stream: Int) {
        if let seen = newest[stream] {
            if time > seen { newest[stream] = time }
        } else {
            newest[stream] = time
        }
        heap.push(Waiting(tuple: tuple, time: time, order: order))
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
        var released: [(tuple: Tuple, time: Int64)] = []
        while let first = heap.min, first.time < candidate {
            released.append((first.tuple, first.time))
            heap.popMin()
        }
        return (candidate, released)
    }
}
