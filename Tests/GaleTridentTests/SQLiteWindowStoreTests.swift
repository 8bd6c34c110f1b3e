import Foundation
import Gale
import GaleRuntime
import Logging
import Synchronization
import Testing

@testable import GaleTrident

/// The durable window store: the same windows as in memory, a reopened store resumes from its
/// last commit, and a topology's stored windows ack at commit and outlive the topology.
@Suite struct SQLiteWindowStoreTests {
    static let source = TupleSource.intern(component: "numbers", stream: "default", fields: ["n"])

    static func tuple(_ n: Int) -> Tuple {
        Tuple(values: [.int(Int64(n)), .string("value \(n)")], source: source, sourceTask: 3)
    }

    /// One shown window: ids held, new, expired, start, end.
    struct Shown: Equatable {
        var ids: [Int], new: [Int], expired: [Int], start: Int64?, end: Int64
    }

    static func ids(_ tuples: WindowTuples) -> [Int] { tuples.map { Int($0.int(at: 0) ?? -1) } }

    /// Feeds `numbers` (time = 3 ms each) and advances to `until`; returns the windows shown and
    /// the tuples evicted.
    static func feed(
        _ engine: inout WindowEngine,
        _ numbers: Range<Int>,
        until: Int64? = nil
    ) throws -> (shown: [Shown], evicted: [Int]) {
        var shown: [Shown] = []
        var evicted: [Int] = []
        func run(_ evaluations: [WindowEngine.Evaluation]) throws {
            for evaluation in evaluations {
                if let window = try engine.window(for: evaluation, failures: ReadFailures()) {
                    shown.append(
                        Shown(
                            ids: ids(window.tuples),
                            new: ids(window.new),
                            expired: ids(window.expired),
                            start: window.start,
                            end: window.end
                        )
                    )
                }
                evicted += try engine.finish(evaluation).map { Int($0.int(at: 0) ?? -1) }
            }
        }
        for n in numbers { try run(try engine.add(tuple(n), at: Int64(n) * 3)) }
        if let until { try run(try engine.advance(to: until)) }
        return (shown, evicted)
    }

    static let configs: [WindowConfig] = [
        .sliding(length: .count(7), every: .count(3)),
        .tumbling(.count(10)),
        .sliding(length: .duration(.milliseconds(30)), every: .duration(.milliseconds(7))),
        .sliding(length: .count(5), every: .duration(.milliseconds(4))),
        .sliding(length: .duration(.milliseconds(9)), every: .count(3)),
    ]

    @Test(arguments: configs)
    func storedWindowsAreTheWindowsInMemory(config: WindowConfig) throws {
        try withTemporaryDirectory { directory in
            var memory = WindowEngine(config)
            var stored = WindowEngine(config, store: try SQLiteWindowStore(path: directory.file("w.sqlite")))
            let expected = try Self.feed(&memory, 0..<400, until: 2_000)
            let got = try Self.feed(&stored, 0..<400, until: 2_000)
            #expect(got.shown == expected.shown)
            #expect(got.evicted.isEmpty, "a durable store's tuples are acked at commit, not at eviction")
            #expect(stored.held == memory.held)
            #expect(stored.store.lowerBound == memory.store.lowerBound)
        }
    }

    @Test(arguments: configs)
    func aReopenedStoreResumesFromItsLastCommit(config: WindowConfig) throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("w.sqlite")
            var reference = WindowEngine(config)
            let all = try Self.feed(&reference, 0..<300, until: 2_000).shown

            var first = WindowEngine(config, store: try SQLiteWindowStore(path: path))
            let beforeCommit = try Self.feed(&first, 0..<137).shown
            try first.store.commit(position: first.position)
            // Added and evaluated after the commit, then lost with the process.
            _ = try Self.feed(&first, 137..<190)
            first = WindowEngine(config)

            let reopened = try SQLiteWindowStore(path: path)
            var second = WindowEngine(config, store: reopened)
            #expect(reopened.upperBound == 137, "the store is as its last commit left it")
            let afterRestart = try Self.feed(&second, 137..<300, until: 2_000).shown
            #expect(beforeCommit + afterRestart == all)
        }
    }

    @Test func storeErrorsNameTheFile() throws {
        try withTemporaryDirectory { directory in
            let folder = directory.file("not-a-file")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            #expect {
                _ = try SQLiteWindowStore(path: folder)
            } throws: { error in
                "\(error)".contains(folder)
            }
        }
    }

    @Test func componentIdsMakeDistinctFileNames() {
        #expect(SQLiteWindowStore.fileName("average") == "average")
        #expect(SQLiteWindowStore.fileName("a/b") == "a%2Fb")
        #expect(SQLiteWindowStore.fileName("a_2Fb") != SQLiteWindowStore.fileName("a/b"))
        #expect(SQLiteWindowStore.fileName("..") == "%2E.")
    }

    // MARK: - In a topology

    final class Ledger: Sendable {
        let acked = Mutex<[Int: Int]>([:])
        let windows = Mutex<[[Int]]>([])
    }

    final class NumberSpout: Spout {
        let ledger: Ledger
        let numbers: Range<Int>
        private var next: Int
        private var collector: (any SpoutOutputCollector)?

        init(_ ledger: Ledger, _ numbers: Range<Int>) {
            self.ledger = ledger
            self.numbers = numbers
            next = numbers.lowerBound
        }

        func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) { declarer.declare(["n"]) }
        func open(context: TopologyContext, collector: any SpoutOutputCollector) throws { self.collector = collector }

        func nextTuple() {
            guard next < numbers.upperBound else { return }
            collector?.emit([.int(Int64(next))], messageId: next)
            next += 1
        }

        func ack(_ messageId: any Sendable) {
            guard let id = messageId as? Int else { return }
            ledger.acked.withLock { $0[id, default: 0] += 1 }
        }
    }

    final class RecordingWindow: WindowedBolt {
        let ledger: Ledger
        init(_ ledger: Ledger) { self.ledger = ledger }
        func execute(_ window: TupleWindow) {
            let ids = window.tuples.map { Int($0.int(at: 0) ?? -1) }
            ledger.windows.withLock { $0.append(ids) }
        }
    }

    static func run(_ numbers: Range<Int>, directory: String, ledger: Ledger, until: @escaping () -> Bool) async throws
    {
        let builder = TopologyBuilder(name: "stored-window")
        builder.setSpout("numbers") { NumberSpout(ledger, numbers) }
        builder.setBolt(
            "window",
            window: .sliding(length: .count(10), every: .count(5)).stored(in: .sqlite(directory: directory))
        ) { RecordingWindow(ledger) }
        .shuffleGrouping("numbers")
        // Tuples are acked at commit: nothing waits for a window, so no timeout has to cover one.
        builder.config.messageTimeoutSeconds = 600
        let cluster = LocalCluster(logger: Logger(label: "test"))
        _ = try cluster.submit(try builder.build())
        let deadline = ContinuousClock.now + .seconds(60)
        while !until(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        await cluster.shutdown()
    }

    @Test func storedWindowsAckAtCommitAndOutliveTheTopology() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let ledger = Ledger()
        try await Self.run(0..<100, directory: directory.path, ledger: ledger) {
            ledger.acked.withLock { $0.count } == 100 && ledger.windows.withLock { $0.count } == 20
        }
        #expect(
            ledger.acked.withLock { $0 } == Dictionary(uniqueKeysWithValues: (0..<100).map { ($0, 1) }),
            "every tuple acked once, those still in the last window too"
        )
        #expect(ledger.windows.withLock { $0 } == (1...20).map { Array(max(0, $0 * 5 - 10)..<($0 * 5)) })
        #expect(FileManager.default.fileExists(atPath: directory.file("stored-window/window-0.sqlite")))

        // The same topology again: its first window holds the last five of the first run.
        let again = Ledger()
        try await Self.run(100..<110, directory: directory.path, ledger: again) {
            again.acked.withLock { $0.count } == 10 && again.windows.withLock { $0.count } == 2
        }
        #expect(again.windows.withLock { $0 } == [Array(95..<105), Array(100..<110)])
    }
}
