import Foundation
import Gale
import GaleRuntime
import Logging
import Synchronization
import Testing

@testable import GaleTrident

/// Word count through the transactional layer in local mode: every batch is applied to the state
/// exactly once, although batches fail and are processed again.
@Suite struct TridentWordCountTests {
    static let vocabulary = (0..<300).map { "w\($0)" }

    /// `count` sentences of 1 to 8 words drawn with a seeded generator.
    static func sentences(_ count: Int, seed: UInt64) -> [String] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let words = Int(generator.next() % 8) + 1
            return (0..<words).map { _ in vocabulary[Int(generator.next() % UInt64(vocabulary.count))] }
                .joined(separator: " ")
        }
    }

    /// The exact counts, and per word the last txid (1-based batch number) that contains it.
    static func truth(_ sentences: [String], batchSize: Int) -> (counts: [String: Int64], lastTxid: [String: Int64]) {
        var counts: [String: Int64] = [:]
        var last: [String: Int64] = [:]
        for (index, sentence) in sentences.enumerated() {
            for word in sentence.split(separator: " ") {
                counts[String(word), default: 0] += 1
                last[String(word)] = Int64(index / batchSize) + 1
            }
        }
        return (counts, last)
    }

    /// Fails the first attempt of every tuple whose sentence is in `failing` (shared by all tasks).
    final class Failures: Sendable {
        let failing: Set<String>
        let failed = Mutex<Set<String>>([])

        init(failing: Set<String>) { self.failing = failing }

        func check(_ sentence: String) throws {
            guard failing.contains(sentence) else { return }
            let first = failed.withLock { $0.insert(sentence).inserted }
            if first { throw InjectedFailure(sentence: sentence) }
        }

        var count: Int { failed.withLock { $0.count } }
    }

    struct InjectedFailure: Error, CustomStringConvertible {
        var sentence: String
        var description: String { "injected failure" }
    }

    /// A state factory whose partition 0 fails the first commit of each txid in `failing`, after
    /// the other partitions may have applied theirs: the batch is then processed again, and only a
    /// state that recognises its txid avoids counting it twice.
    struct FlakyCommits: StateFactory {
        let base: any StateFactory
        let failing: Set<Int64>
        let failed = Shared()

        final class Shared: Sendable {
            let txids = Mutex<Set<Int64>>([])
        }

        func makeBackingMap(stateName: String, partition: Int, partitions: Int) throws(StateError) -> any BackingMap {
            let map = try base.makeBackingMap(stateName: stateName, partition: partition, partitions: partitions)
            return partition == 0 ? Flaky(base: map, failing: failing, failed: failed) : map
        }

        final class Flaky: BackingMap {
            let base: any BackingMap
            let failing: Set<Int64>
            let failed: Shared

            init(base: any BackingMap, failing: Set<Int64>, failed: Shared) {
                self.base = base
                self.failing = failing
                self.failed = failed
            }

            func multiGet(_ keys: [StateKey]) throws(StateError) -> [StoredValue?] { try base.multiGet(keys) }
            func lastCommittedTxid() throws(StateError) -> Int64? { try base.lastCommittedTxid() }
            func commit(_ entries: [(key: StateKey, value: StoredValue)], txid: Int64) throws(StateError) {
                if failing.contains(txid), failed.txids.withLock({ $0.insert(txid).inserted }) {
                    throw .storage("injected commit failure of txid \(txid)")
                }
                try base.commit(entries, txid: txid)
            }
        }
    }

    static func waitForCommit(_ topology: String, txid: Int64, timeout: Duration = .seconds(120)) async throws -> Int64
    {
        let deadline = ContinuousClock.now + timeout
        var committed: Int64 = 0
        while ContinuousClock.now < deadline {
            committed = try MasterBatchCoordinator.progress(in: MemoryTransactionalStore.named(topology)).lastCommitted
            if committed >= txid { return committed }
            try await Task.sleep(for: .milliseconds(50))
        }
        return committed
    }

    func run(kind: StateKind, spoutParallelism: Int) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let batchSize = 100
        let sentences = Self.sentences(20_000, seed: kind == .opaque ? 7 : 3)
        let batches = sentences.count / batchSize
        // 2 % of the batches, chosen at random, fail once: their first sentence throws.
        var generator = SplitMix64(seed: 11)
        var failing = Set<String>()
        while failing.count < batches / 50 {
            failing.insert(sentences[Int(generator.next() % UInt64(batches)) * batchSize])
        }
        let failures = Failures(failing: failing)
        let name = "wc-\(kind.rawValue)-\(UUID().uuidString.prefix(8))"
        let path = directory.file("state.db")
        // Another 2 % fail in the commit phase, on one partition of the state.
        var failingCommits = Set<Int64>()
        while failingCommits.count < batches / 50 {
            failingCommits.insert(Int64(generator.next() % UInt64(batches)) + 1)
        }
        let states = FlakyCommits(base: SQLiteStateFactory(path: path), failing: failingCommits)

        let topology = TridentTopology(name: name)
        topology.topologyConfig.messageTimeoutSeconds = 10
        let spout = FixedBatchSpout(
            fields: ["sentence"],
            records: sentences.map { [.string($0)] },
            batchSize: batchSize,
            parallelism: spoutParallelism
        )
        topology.newStream("sentences", spout)
            .each(["sentence"], output: ["word"]) { tuple, emit in
                let sentence = tuple["sentence"].stringValue ?? ""
                try failures.check(sentence)
                for word in sentence.split(separator: " ") { emit([.string(String(word))]) }
            }
            .parallelismHint(2)
            .groupBy(["word"])
            .persistentAggregate("counts", states, ["word"], Count(), output: "count", kind: kind)
            .parallelismHint(3)
        let cluster = LocalCluster(logger: Logger(label: "test"))
        _ = try cluster.submit(try topology.build())
        let committed = try await Self.waitForCommit(name, txid: Int64(batches))
        await cluster.shutdown()
        #expect(committed == Int64(batches), "every batch committed")
        #expect(failures.count == failing.count, "every chosen batch failed once")
        #expect(states.failed.txids.withLock { $0 } == failingCommits, "every chosen commit failed once")

        let (counts, lastTxid) = Self.truth(sentences, batchSize: batchSize)
        let stored = try SQLiteStateFactory.readAll(path: path, stateName: "counts")
        var mismatches: [String] = []
        for (word, count) in counts {
            let value = stored[[.string(word)]]
            if value?.value != .int(count) {
                mismatches.append("\(word): \(String(describing: value?.value)) != \(count)")
            }
            if value?.txid != lastTxid[word] {
                mismatches.append("\(word): txid \(String(describing: value?.txid)) != \(lastTxid[word] ?? -1)")
            }
        }
        #expect(stored.count == counts.count)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    @Test func transactionalWordCountIsExactDespiteFailedBatches() async throws {
        try await run(kind: .transactional, spoutParallelism: 2)
    }

    @Test func opaqueWordCountIsExactDespiteFailedBatches() async throws {
        try await run(kind: .opaque, spoutParallelism: 1)
    }

    /// The same failures double-count in a state that does not record txids: the test can fail.
    @Test func aNonTransactionalStateCountsReplayedCommitsTwice() async throws {
        await withKnownIssue("a non-transactional state applies a replayed commit again") {
            try await run(kind: .nonTransactional, spoutParallelism: 1)
        }
    }
}
