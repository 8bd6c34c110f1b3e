import Testing

@testable import Gale

/// The windows a task evaluates: contents, new and expired tuples, eviction, for every
/// combination of count and duration length and sliding interval, and the event-time watermark.
@Suite struct WindowEngineTests {
    static let source = TupleSource.intern(component: "numbers", stream: "default", fields: ["n", "ts"])

    static func tuple(_ n: Int) -> Tuple {
        Tuple(values: [.int(Int64(n))], source: source, sourceTask: 1, root: UInt64(n + 1), edge: UInt64(n + 1))
    }

    static func numbers(_ tuples: some Sequence<Tuple>) -> [Int] { tuples.map { Int($0.int(at: 0) ?? -1) } }

    /// What the bolt saw of one evaluation, and what left the window after it.
    struct Seen {
        var window: TupleWindow?
        var evicted: [Tuple]
    }

    /// Shows and finishes `evaluations` in order, as the runner does.
    static func run(_ engine: inout WindowEngine, _ evaluations: [WindowEngine.Evaluation]) throws -> [Seen] {
        try evaluations.map { evaluation in
            let window = try engine.window(for: evaluation, failures: ReadFailures())
            return Seen(window: window, evicted: try engine.finish(evaluation))
        }
    }

    /// Adds 0..<count at time = its number × `step` ms and returns every evaluation.
    static func feed(
        _ engine: inout WindowEngine,
        _ count: Int,
        step: Int64 = 1,
        from: Int = 0
    ) throws -> [Seen] {
        var seen: [Seen] = []
        for n in from..<(from + count) { seen += try run(&engine, try engine.add(tuple(n), at: Int64(n) * step)) }
        return seen
    }

    @Test func slidingCountWindow() throws {
        var engine = WindowEngine(.sliding(length: .count(3), every: .count(2)))
        let evaluations = try Self.feed(&engine, 7)
        let windows = evaluations.compactMap(\.window)
        #expect(windows.map { Self.numbers($0.tuples) } == [[0, 1], [1, 2, 3], [3, 4, 5]])
        #expect(windows.map { Self.numbers($0.new) } == [[0, 1], [2, 3], [4, 5]])
        #expect(windows.map { Self.numbers($0.expired) } == [[], [0], [1, 2]])
        #expect(evaluations.map { Self.numbers($0.evicted) } == [[], [0], [1, 2]])
        #expect(windows.allSatisfy { $0.start == nil })
        #expect(windows.map(\.end) == [2, 4, 6], "a count-slid window ends just after the tuple that completed it")
        #expect(engine.held == 4, "3 in the last window and 1 since")
    }

    @Test func tumblingCountWindowHoldsEachTupleOnce() throws {
        var engine = WindowEngine(.tumbling(.count(4)))
        let evaluations = try Self.feed(&engine, 12)
        let windows = evaluations.compactMap(\.window)
        #expect(windows.map { Self.numbers($0.tuples) } == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
        #expect(windows.map { Self.numbers($0.new) } == windows.map { Self.numbers($0.tuples) })
        #expect(windows.map { Self.numbers($0.expired) } == [[], [0, 1, 2, 3], [4, 5, 6, 7]])
        #expect(Self.numbers(evaluations.flatMap(\.evicted)) == Array(0..<8))
    }

    @Test func hoppingCountWindowEvictsTuplesNoWindowHolds() throws {
        // Length 2 every 5: tuples 0-2 of each five are in no window and leave at the evaluation.
        var engine = WindowEngine(.sliding(length: .count(2), every: .count(5)))
        let evaluations = try Self.feed(&engine, 10)
        #expect(evaluations.compactMap(\.window).map { Self.numbers($0.tuples) } == [[3, 4], [8, 9]])
        #expect(Self.numbers(evaluations.flatMap(\.evicted)) == [0, 1, 2, 3, 4, 5, 6, 7])
    }

    @Test func slidingDurationWindowIsAlignedAndHalfOpen() throws {
        // 10 ms windows every 5 ms over tuples at 0, 1, ..., 19 ms.
        var engine = WindowEngine(.sliding(length: .duration(.milliseconds(10)), every: .duration(.milliseconds(5))))
        var evaluations = try Self.feed(&engine, 20)
        evaluations += try Self.run(&engine, try engine.advance(to: 20))
        let windows = evaluations.compactMap(\.window)
        #expect(windows.map(\.end) == [5, 10, 15, 20])
        #expect(windows.map(\.start) == [-5, 0, 5, 10])
        #expect(
            windows.map { Self.numbers($0.tuples) } == [
                Array(0..<5), Array(0..<10), Array(5..<15), Array(10..<20),
            ]
        )
        #expect(windows.map { Self.numbers($0.new) } == [Array(0..<5), Array(5..<10), Array(10..<15), Array(15..<20)])
        #expect(windows.map { Self.numbers($0.expired) } == [[], [], Array(0..<5), Array(5..<10)])
        #expect(Self.numbers(evaluations.flatMap(\.evicted)) == Array(0..<10))
    }

    @Test func durationWindowsSkipEmptyStretches() throws {
        var engine = WindowEngine(.tumbling(.duration(.milliseconds(10))))
        var evaluations = try Self.run(&engine, try engine.add(Self.tuple(1), at: 3))
        evaluations += try Self.run(&engine, try engine.add(Self.tuple(2), at: 1_000_005))
        evaluations += try Self.run(&engine, try engine.advance(to: 1_000_010))
        let windows = evaluations.compactMap(\.window)
        // The window of tuple 1, the empty one after it (tuple 1 expires), the window of tuple 2.
        #expect(windows.map(\.end) == [10, 20, 1_000_010])
        #expect(windows.map { Self.numbers($0.tuples) } == [[1], [], [2]])
        #expect(windows.map { Self.numbers($0.expired) } == [[], [1], []])
    }

    @Test func countWindowSlidByTime() throws {
        // The last 3 tuples, every 10 ms.
        var engine = WindowEngine(.sliding(length: .count(3), every: .duration(.milliseconds(10))))
        var evaluations = try Self.feed(&engine, 25)
        evaluations += try Self.run(&engine, try engine.advance(to: 30))
        let windows = evaluations.compactMap(\.window)
        #expect(windows.map(\.end) == [10, 20, 30])
        #expect(windows.map { Self.numbers($0.tuples) } == [[7, 8, 9], [17, 18, 19], [22, 23, 24]])
        #expect(windows.map { Self.numbers($0.expired) } == [[], [7, 8, 9], [17, 18, 19]])
        #expect(Self.numbers(evaluations.flatMap(\.evicted)) == Array(0..<22))
    }

    @Test func durationWindowSlidByCount() throws {
        // Tuples 5 ms apart; every 4th evaluates the last 12 ms (the 3 tuples in [end-12, end)).
        var engine = WindowEngine(.sliding(length: .duration(.milliseconds(12)), every: .count(4)))
        let evaluations = try Self.feed(&engine, 8, step: 5)
        let windows = evaluations.compactMap(\.window)
        #expect(windows.map(\.end) == [16, 36])
        #expect(windows.map { Self.numbers($0.tuples) } == [[1, 2, 3], [5, 6, 7]])
        #expect(windows.map { Self.numbers($0.expired) } == [[], [1, 2, 3]])
        #expect(Self.numbers(evaluations.flatMap(\.evicted)) == [0, 1, 2, 3, 4])
    }

    @Test func earlierTimeCountsAsTheLatest() throws {
        var engine = WindowEngine(.tumbling(.duration(.milliseconds(10))))
        _ = try Self.run(&engine, try engine.add(Self.tuple(1), at: 15))
        _ = try Self.run(&engine, try engine.add(Self.tuple(2), at: 4))  // a clock stepping back
        let windows = try Self.run(&engine, try engine.advance(to: 20)).compactMap(\.window)
        #expect(windows.map { Self.numbers($0.tuples) } == [[1, 2]])
    }

    @Test func everyTupleLeavesExactlyOnce() throws {
        // Whatever the window, each tuple is evicted once, after its last window.
        let configs: [WindowConfig] = [
            .sliding(length: .count(7), every: .count(3)),
            .sliding(length: .count(2), every: .count(5)),
            .sliding(length: .duration(.milliseconds(30)), every: .duration(.milliseconds(7))),
            .sliding(length: .count(5), every: .duration(.milliseconds(4))),
            .sliding(length: .duration(.milliseconds(9)), every: .count(3)),
        ]
        for config in configs {
            var engine = WindowEngine(config)
            var evicted: [Int: Int] = [:]
            var lastWindow: [Int: Int] = [:]
            var evaluationIndex = 0
            var all = try Self.feed(&engine, 500, step: 3)
            all += try Self.run(&engine, try engine.advance(to: 10_000))
            for evaluation in all {
                for n in Self.numbers(evaluation.window.map { Array($0.tuples) } ?? []) {
                    lastWindow[n] = evaluationIndex
                }
                for n in Self.numbers(evaluation.evicted) {
                    evicted[n, default: 0] += 1
                    #expect((lastWindow[n] ?? -1) < evaluationIndex, "\(config): \(n) left while in the window")
                }
                evaluationIndex += 1
            }
            #expect(evicted.values.allSatisfy { $0 == 1 }, "\(config): a tuple left twice")
            #expect(evicted.count + engine.held == 500, "\(config): a tuple was lost")
        }
    }

    @Test func watermarkWaitsForEveryStreamAndReleasesInTimeOrder() throws {
        var clock = WatermarkClock(lag: .milliseconds(5), streams: 2)
        clock.add(Self.tuple(3), at: 30, stream: 0)
        clock.add(Self.tuple(1), at: 10, stream: 0)
        #expect(clock.tick() == nil, "one of two streams seen: no watermark")
        clock.add(Self.tuple(2), at: 20, stream: 1)
        clock.add(Self.tuple(0), at: 2, stream: 1)
        let first = clock.tick()
        #expect(first?.watermark == 15, "the older stream's newest (20) less the lag")
        #expect(Self.numbers(first?.released.map(\.tuple) ?? []) == [0, 1])
        #expect(clock.isLate(14))
        #expect(!clock.isLate(15))
        #expect(clock.tick() == nil, "nothing newer: the watermark stays")
        clock.add(Self.tuple(4), at: 40, stream: 1)
        let second = clock.tick()
        #expect(second?.watermark == 25)
        #expect(Self.numbers(second?.released.map(\.tuple) ?? []) == [2])
        #expect(clock.waitingCount == 2)
    }

    @Test func windowConfigProblems() throws {
        #expect(WindowConfig.tumbling(.count(0)).problem() != nil)
        #expect(WindowConfig.sliding(length: .duration(.seconds(1)), every: .duration(.zero)).problem() != nil)
        #expect(WindowConfig.tumbling(.count(3)).lateTuples(stream: "late").problem() != nil)
        #expect(
            WindowConfig.tumbling(.duration(.seconds(1))).eventTime(field: "ts", lag: .seconds(-1)).problem() != nil
        )
        #expect(
            WindowConfig.tumbling(.duration(.seconds(1))).eventTime(field: "ts").lateTuples(stream: "late").problem()
                == nil
        )
        #expect(
            WindowConfig.sliding(length: .duration(.seconds(10)), every: .duration(.seconds(2)))
                .eventTime(field: "ts", lag: .seconds(3), watermarkInterval: .seconds(1)).longestHold == .seconds(16)
        )
        #expect(WindowConfig.sliding(length: .count(30), every: .count(10)).countHeld == 40)
    }
}
