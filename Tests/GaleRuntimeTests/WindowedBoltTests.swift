import Gale
import GaleRuntime
import Synchronization
import Testing

/// Windowed bolts in a running topology: what each window holds, and acking proven by a
/// per-id ledger (every tuple acked once, and only after the last window that held it).
@Suite struct WindowedBoltTests {
    /// What happened, in order: windows evaluated (the ids they held) and acks the spout got.
    final class Ledger: Sendable {
        enum Event: Equatable {
            case window(ids: [Int], new: [Int], expired: [Int], start: Int64?, end: Int64)
            case acked(Int)
            case failed(Int)
        }

        private let events = Mutex<[Event]>([])
        let windowCount = Atomic<Int>(0)
        let newestWindowEnd = Atomic<Int64>(.min)

        func append(_ event: Event) {
            events.withLock { $0.append(event) }
            if case .window(_, _, _, _, let end) = event {
                windowCount.add(1, ordering: .releasing)
                _ = newestWindowEnd.max(end, ordering: .releasing)
            }
        }

        var snapshot: [Event] { events.withLock { $0 } }

        var windows: [(ids: [Int], new: [Int], expired: [Int], start: Int64?, end: Int64)] {
            snapshot.compactMap {
                guard case .window(let ids, let new, let expired, let start, let end) = $0 else { return nil }
                return (ids, new, expired, start, end)
            }
        }

        var acked: [Int: Int] {
            snapshot.reduce(into: [:]) { counts, event in
                if case .acked(let id) = event { counts[id, default: 0] += 1 }
            }
        }

        var failed: [Int] {
            snapshot.compactMap {
                guard case .failed(let id) = $0 else { return nil }
                return id
            }
        }

        /// Ids acked before (or without) the last window that held them: must be empty.
        var ackedEarly: [Int] {
            var lastWindow: [Int: Int] = [:]
            var early: [Int] = []
            for (index, event) in snapshot.enumerated() {
                switch event {
                case .window(let ids, _, _, _, _): for id in ids { lastWindow[id] = index }
                case .acked(let id): if (lastWindow[id] ?? -1) > index { early.append(id) }
                case .failed: continue
                }
            }
            return early
        }
    }

    /// Emits `values(i)` with message id `i` for each `i` in `ids`, in that order; then, once
    /// `after` says so, the ids in `later`.
    final class LedgerSpout: Spout {
        let ledger: Ledger
        let fields: Fields
        let ids: [Int]
        let later: [Int]
        let after: @Sendable () -> Bool
        let values: @Sendable (Int) -> [GaleValue]
        private var next = 0
        private var collector: (any SpoutOutputCollector)?

        init(
            _ ledger: Ledger,
            fields: Fields = ["n"],
            ids: [Int],
            later: [Int] = [],
            after: @escaping @Sendable () -> Bool = { true },
            values: @escaping @Sendable (Int) -> [GaleValue] = { [.int(Int64($0))] }
        ) {
            self.ledger = ledger
            self.fields = fields
            self.ids = ids
            self.later = later
            self.after = after
            self.values = values
        }

        func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(fields) }
        func open(context: TopologyContext, collector: any SpoutOutputCollector) throws { self.collector = collector }

        func nextTuple() {
            let id: Int
            if next < ids.count {
                id = ids[next]
            } else if next < ids.count + later.count, after() {
                id = later[next - ids.count]
            } else {
                return
            }
            next += 1
            collector?.emit(values(id), messageId: id)
        }

        func ack(_ messageId: any Sendable) {
            if let id = messageId as? Int { ledger.append(.acked(id)) }
        }

        func fail(_ messageId: any Sendable) {
            if let id = messageId as? Int { ledger.append(.failed(id)) }
        }
    }

    /// Records each window in the ledger and emits the sum of its first field.
    final class SummingWindow: WindowedBolt {
        let ledger: Ledger
        private var collector: (any OutputCollector)?

        init(_ ledger: Ledger) { self.ledger = ledger }

        func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["sum"]) }
        func prepare(context: TopologyContext, collector: any OutputCollector) throws { self.collector = collector }

        func execute(_ window: TupleWindow) {
            func ids(_ tuples: WindowTuples) -> [Int] { tuples.map { Int($0.int(at: 0) ?? -1) } }
            ledger.append(
                .window(
                    ids: ids(window.tuples),
                    new: ids(window.new),
                    expired: ids(window.expired),
                    start: window.start,
                    end: window.end
                )
            )
            collector?.emit([.int(window.tuples.reduce(0) { $0 + ($1.int(at: 0) ?? 0) })])
        }
    }

    @Test func slidingCountWindowAcksEachTupleAfterItsLastWindow() async throws {
        let ledger = Ledger()
        let sums = BoltLog()
        let builder = TopologyBuilder(name: "count-window")
        // Tuples wait in windows; a stalled machine must not time them out (no wall-clock bound).
        builder.config.messageTimeoutSeconds = 600
        builder.setSpout("numbers") { LedgerSpout(ledger, ids: Array(0..<100)) }
        builder.setBolt("window", window: .sliding(length: .count(10), every: .count(5))) { SummingWindow(ledger) }
            .shuffleGrouping("numbers")
        builder.setBolt("sums") { TestBolt(sums) }.shuffleGrouping("window")

        // Tuples 90-99 stay in the last window: the topology cannot drain at the end.
        try await withRunningTopology(try builder.build(), drainTimeout: .milliseconds(200)) { running in
            try await running.require("20 windows") { ledger.windowCount.load(ordering: .acquiring) == 20 }
            try await running.require("the tuples out of every window are acked") { ledger.acked.count == 90 }
            try await running.require("the task says what it holds") {
                let details = running.stats().component("window")?.details ?? []
                return details.contains { $0.hasSuffix("held: 10 tuples (memory)") }
                    && details.contains { $0.contains("windows evaluated: 20, the last ending ") }
                    && details.contains { $0.hasSuffix("window: 10 tuples every 5 tuples") }
            }
        }

        let windows = ledger.windows
        #expect(windows.map(\.ids) == (1...20).map { Array(max(0, $0 * 5 - 10)..<($0 * 5)) })
        #expect(windows.map(\.new) == (1...20).map { Array(($0 * 5 - 5)..<($0 * 5)) })
        #expect(Set(ledger.acked.keys) == Set(0..<90), "tuples 90-99 are still in the last window")
        #expect(ledger.acked.values.allSatisfy { $0 == 1 }, "no tuple is acked twice")
        #expect(ledger.ackedEarly.isEmpty, "no tuple is acked before its last window")
        #expect(ledger.failed.isEmpty)
        #expect(sums.snapshot.allValues.map { $0.first?.intValue } == windows.map { Int64($0.ids.reduce(0, +)) })
    }

    @Test func tumblingTimeWindowHoldsEachTupleOnce() async throws {
        let ledger = Ledger()
        let builder = TopologyBuilder(name: "time-window")
        // Tuples wait in windows; a stalled machine must not time them out (no wall-clock bound).
        builder.config.messageTimeoutSeconds = 600
        builder.setSpout("numbers") { LedgerSpout(ledger, ids: Array(0..<300)) }
        builder.setBolt("window", window: .tumbling(.duration(.milliseconds(50)))) { SummingWindow(ledger) }
            .shuffleGrouping("numbers")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tuple leaves its window and is acked") { ledger.acked.count == 300 }
        }

        let windows = ledger.windows
        let held = windows.flatMap(\.ids)
        #expect(held.sorted() == Array(0..<300), "each tuple in exactly one tumbling window")
        #expect(windows.allSatisfy { $0.start.map { $0 + 50 } == $0.end }, "50 ms windows")
        #expect(windows.allSatisfy { $0.end % 50 == 0 }, "aligned to the interval")
        #expect(ledger.acked.values.allSatisfy { $0 == 1 })
        #expect(ledger.ackedEarly.isEmpty)
    }

    @Test func eventTimeWindowsReorderAndSendLateTuplesAside() async throws {
        // Tuple i has time ts(i): blocks of ten emitted in reverse order (out of order by up to
        // 90 ms, within the 200 ms lag). Once a window ending at 2,000 or later was evaluated, the
        // spout sends 900-902 (times 100-120 ms: behind the watermark, so late) and 903, whose
        // missing timestamp fails it, then 999 at 100 s, which moves the watermark past the rest.
        let ledger = Ledger()
        let late = BoltLog()
        let order = (0..<30).flatMap { block in (0..<10).reversed().map { block * 10 + $0 } }
        let builder = TopologyBuilder(name: "event-time")
        // Tuples wait in windows; a stalled machine must not time them out (no wall-clock bound).
        builder.config.messageTimeoutSeconds = 600
        builder.setSpout("events") {
            LedgerSpout(
                ledger,
                fields: ["n", "ts"],
                ids: order,
                later: [900, 901, 902, 903, 999],
                after: { ledger.newestWindowEnd.load(ordering: .acquiring) >= 2_000 },
                values: { id in
                    switch id {
                    case 903: [.int(Int64(id)), .string("noon")]
                    case 999: [.int(Int64(id)), .int(100_000)]
                    case 900...902: [.int(Int64(id)), .int(Int64(id - 900) * 10 + 100)]
                    default: [.int(Int64(id)), .int(Int64(id) * 10)]
                    }
                }
            )
        }
        builder.setBolt(
            "window",
            window: .tumbling(.duration(.milliseconds(100)))
                .eventTime(field: "ts", lag: .milliseconds(200), watermarkInterval: .milliseconds(20))
                .lateTuples(stream: "late")
        ) { SummingWindow(ledger) }
        .shuffleGrouping("events")
        builder.setBolt("late") { TestBolt(late) }.shuffleGrouping("window", stream: "late")

        // Tuple 999 waits for a watermark that never comes: the topology cannot drain at the end.
        try await withRunningTopology(try builder.build(), drainTimeout: .milliseconds(200)) { running in
            try await running.require("every on-time and late tuple is acked") {
                Set(ledger.acked.keys) == Set(0..<300).union([900, 901, 902])
            }
            try await running.require("the tuple without a timestamp fails") { ledger.failed == [903] }
            try await running.require("the task reports its watermark and late tuples") {
                let details = running.stats().component("window")?.details ?? []
                return details.contains { $0.hasSuffix("late tuples: 3 sent on the late stream, 0 dropped") }
                    && details.contains { $0.contains("watermark: 1970-01-01T00:01:39") }
            }
        }

        let windows = ledger.windows
        // Thirty windows of ten tuples in time order, then the empty one after them that expires
        // the last ten.
        #expect(windows.map(\.ids) == (0..<30).map { Array(($0 * 10)..<($0 * 10 + 10)) } + [[]], "sorted by time")
        #expect(windows.last?.expired == Array(290..<300))
        #expect(windows.map(\.end) == (1...31).map { Int64($0 * 100) })
        #expect(ledger.acked.values.allSatisfy { $0 == 1 })
        #expect(ledger.ackedEarly.isEmpty)
        let lateValues = late.snapshot.allValues
        #expect(
            lateValues.map { $0.first }
                == [900, 901, 902].map { GaleValue.list([.int($0), .int(Int64($0 - 900) * 10 + 100)]) }
        )
        #expect(lateValues.allSatisfy { Array($0.dropFirst()) == [.string("events"), .string("default")] })
    }

    @Test func lateTuplesWithoutALateStreamAreDroppedAckedAndReported() async throws {
        // Tuples 0-99 at 10 ms apart; once a window ending at 500 or later was evaluated, 900
        // (at 50 ms: late) and 999 (far ahead, moving the watermark past the rest).
        let ledger = Ledger()
        let builder = TopologyBuilder(name: "late-dropped")
        builder.config.messageTimeoutSeconds = 600
        builder.setSpout("events") {
            LedgerSpout(
                ledger,
                fields: ["n", "ts"],
                ids: Array(0..<100),
                later: [900, 999],
                after: { ledger.newestWindowEnd.load(ordering: .acquiring) >= 500 },
                values: { id in
                    [.int(Int64(id)), .int(id == 900 ? 50 : id == 999 ? 100_000 : Int64(id) * 10)]
                }
            )
        }
        builder.setBolt(
            "window",
            window: .tumbling(.duration(.milliseconds(100)))
                .eventTime(field: "ts", lag: .zero, watermarkInterval: .milliseconds(20))
        ) { SummingWindow(ledger) }
        .shuffleGrouping("events")

        try await withRunningTopology(try builder.build(), drainTimeout: .milliseconds(200)) { running in
            try await running.require("every tuple but the last is acked") {
                Set(ledger.acked.keys) == Set(0..<100).union([900])
            }
            let errors = running.stats().component("window")?.recentErrors.map(\.message) ?? []
            #expect(errors.contains { $0.contains("1 tuple(s) behind the watermark dropped") }, "\(errors)")
        }

        #expect(!ledger.windows.flatMap(\.ids).contains(900), "the late tuple is in no window")
        #expect(ledger.windows.flatMap(\.ids).sorted() == Array(0..<100))
        #expect(ledger.acked.values.allSatisfy { $0 == 1 })
        #expect(ledger.failed.isEmpty)
    }

    @Test func windowsOverTwoWorkersAckEachTupleOnceAfterItsWindow() async throws {
        // The spout and the sink in one worker, the two window tasks in the other: tuples, the
        // windows' anchored emits and the acks all cross the loopback transport.
        let ledger = Ledger()
        let sums = BoltLog()
        let builder = TopologyBuilder(name: "window-cluster")
        builder.setSpout("numbers") { LedgerSpout(ledger, ids: Array(0..<200)) }
        builder.setBolt("window", parallelism: 2, window: .tumbling(.count(10))) { SummingWindow(ledger) }
            .shuffleGrouping("numbers")
        builder.setBolt("sums") { TestBolt(sums) }.shuffleGrouping("window")
        builder.config.messageTimeoutSeconds = 600
        let topology = try builder.build()
        var cluster = TestCluster(topology: topology, workers: 2) { _, component in
            component == "window" ? 1 : 0
        }
        try await cluster.start { _ in topology }
        do {
            try await require("20 windows") { ledger.windowCount.load(ordering: .acquiring) == 20 }
            // Each task's last window holds its last 10 tuples until a next one comes.
            try await require("every tuple out of its window is acked") { ledger.acked.count == 180 }
        } catch {
            await cluster.shutdown(drainTimeout: .milliseconds(100))
            throw error
        }
        await cluster.shutdown(drainTimeout: .milliseconds(200))

        let windows = ledger.windows
        #expect(windows.allSatisfy { $0.ids.count == 10 })
        #expect(windows.flatMap(\.ids).sorted() == Array(0..<200), "each tuple in exactly one window")
        #expect(ledger.acked.values.allSatisfy { $0 == 1 })
        #expect(ledger.ackedEarly.isEmpty)
        #expect(ledger.failed.isEmpty)
        #expect(sums.executedCount == 20)
        #expect(cluster.workers.allSatisfy { $0.transportStats().envelopesDropped == 0 })
    }

    @Test func windowsThatCannotWorkDoNotBuild() {
        let ledger = Ledger()
        func builder(_ window: WindowConfig, fields: Fields = ["n"]) -> TopologyBuilder {
            let builder = TopologyBuilder(name: "bad-window")
            builder.setSpout("numbers", parallelism: 2) { LedgerSpout(ledger, fields: fields, ids: [1]) }
            builder.setBolt("window", window: window) { SummingWindow(ledger) }.shuffleGrouping("numbers")
            return builder
        }
        func problem(_ builder: TopologyBuilder) -> String {
            do {
                _ = try builder.build()
                return ""
            } catch {
                return "\(error)"
            }
        }

        // A tuple waits up to 35 s in the window: the default 30 s message timeout is too short.
        let long = builder(.sliding(length: .duration(.seconds(25)), every: .duration(.seconds(10))))
        #expect(problem(long).contains("the window of bolt [window] is invalid"))
        #expect(problem(long).contains("message timeout of 30.0 s"))
        long.config.messageTimeoutSeconds = 60
        #expect(problem(long) == "")
        long.config.ackers = 0
        long.config.messageTimeoutSeconds = 1
        #expect(problem(long) == "", "without acking nothing times out")

        // Event time adds the lag and the watermark interval: 20 + 5 + 4 + 1 s.
        let eventTime = builder(
            .sliding(length: .duration(.seconds(20)), every: .duration(.seconds(5)))
                .eventTime(field: "ts", lag: .seconds(4)),
            fields: ["n", "ts"]
        )
        #expect(problem(eventTime).contains("message timeout"))

        // 40 tuples must be in flight; two spout tasks with 15 pending each allow 30.
        let counted = builder(.sliding(length: .count(30), every: .count(10)))
        counted.config.maxSpoutPending = 15
        #expect(problem(counted).contains("needs 40 tuples in flight"))
        counted.config.maxSpoutPending = 20
        #expect(problem(counted) == "")

        #expect(problem(builder(.tumbling(.count(10)).eventTime(field: "ts"))).contains("timestamp field [ts]"))
        #expect(problem(builder(.tumbling(.count(0)))).contains("at least one tuple"))
        #expect(problem(builder(.tumbling(.count(5)).lateTuples(stream: "late"))).contains("needs event time"))
    }
}
