import Gale
import GaleTestSupport
import Logging
import Synchronization
import Testing

@testable import GaleRuntime

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Support

/// Loopback ports nothing listens on (every worker of a test must know every other's address
/// before any of them starts), from below the kernel's ephemeral range (``TestPorts``).
func freePorts(_ n: Int) -> [Int] { TestPorts.next(n) }

/// Polls `condition` until it holds or `timeout` passes. - Returns: whether it held.
func eventually(timeout: Duration = patience, _ condition: () -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if condition() { return true }
        if clock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
}

/// Fails the test with `comment` unless `condition` holds within `timeout`.
func require(
    _ comment: Comment,
    timeout: Duration = patience,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async throws {
    let held = await eventually(timeout: timeout, condition)
    try #require(held, comment, sourceLocation: sourceLocation)
}

/// Workers of one topology on loopback, started inactive, activated once all are connected.
struct TestCluster {
    let topologyId: String
    let addresses: [WorkerAddress]
    let taskAddresses: [Int: WorkerAddress]
    var workers: [ClusterWorker] = []

    static let logger: Logger = {
        var logger = Logger(label: "gale.test.cluster")
        logger.logLevel = .critical
        return logger
    }()

    static let options: TransportOptions = {
        var options = TransportOptions()
        options.reconnectBackoffMin = .milliseconds(10)
        options.reconnectBackoffMax = .milliseconds(200)
        options.connectTimeout = .seconds(1)
        return options
    }()

    /// Places task `t` on worker `place(t)`; by default round-robin like the scheduler.
    init(topology: Topology, workers n: Int, place: ((Int, String) -> Int)? = nil) {
        let plan = TopologyPlan(topology: topology)
        topologyId = "\(topology.name)-\(UInt32.random(in: 0...UInt32.max))"
        addresses = freePorts(n).map { WorkerAddress(host: "127.0.0.1", port: $0) }
        var tasks: [Int: WorkerAddress] = [:]
        for task in 1...plan.maxTaskId {
            let index = place?(task, plan.componentByTask[task]) ?? (task - 1) % n
            tasks[task] = addresses[index]
        }
        taskAddresses = tasks
    }

    func layout(_ i: Int, epoch: Int = 1) -> WorkerLayout {
        WorkerLayout(topologyId: topologyId, epoch: epoch, me: addresses[i], taskAddresses: taskAddresses)
    }

    func startWorker(_ i: Int, topology: Topology, epoch: Int = 1) async throws -> ClusterWorker {
        try await ClusterWorker(
            topology: topology,
            layout: layout(i, epoch: epoch),
            logger: Self.logger,
            activate: false,
            options: Self.options
        )
    }

    /// Starts every worker (each with its own build of `topology(i)`), waits for the connections,
    /// then activates the spouts.
    mutating func start(_ topology: (Int) throws -> Topology) async throws {
        for i in addresses.indices {
            workers.append(try await startWorker(i, topology: try topology(i)))
        }
        let workers = self.workers
        try await require("every worker connects to every peer", timeout: .seconds(10)) {
            workers.allSatisfy(\.allPeersConnected)
        }
        for worker in workers { worker.setActive(true) }
    }

    func shutdown(drainTimeout: Duration = .seconds(5)) async {
        for worker in workers { worker.setActive(false) }
        for worker in workers { await worker.shutdown(drainTimeout: drainTimeout) }
    }

    /// Summed component stats over the workers.
    func executed(_ component: String) -> UInt64 {
        workers.reduce(0) { $0 + ($1.stats().component(component)?.executed ?? 0) }
    }
}

/// Runs `body` with a started cluster and shuts it down afterwards, also when `body` throws.
func withCluster(
    _ cluster: inout TestCluster,
    running topology: Topology,
    _ body: (TestCluster) async throws -> Void
) async throws {
    do {
        try await cluster.start { _ in topology }
        try await body(cluster)
    } catch {
        await cluster.shutdown(drainTimeout: .milliseconds(100))
        throw error
    }
    await cluster.shutdown()
}

/// Splits the sentence field into words, anchored; acks its input.
final class WordSplitBolt: Bolt {
    private var collector: (any OutputCollector)?

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        declarer.declare(["word"])
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
    }

    func execute(_ tuple: Tuple) {
        guard let collector, let sentence = tuple.string(at: 0) else { return }
        for word in sentence.split(separator: " ") {
            collector.emit([.string(String(word))], anchor: tuple)
        }
        collector.ack(tuple)
    }
}

/// Counts words into a shared table; acks.
final class WordCountBolt: Bolt {
    let log: WordCountLog
    private var collector: (any OutputCollector)?

    init(_ log: WordCountLog) {
        self.log = log
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
    }

    func execute(_ tuple: Tuple) {
        if let word = tuple.string(at: 0) { log.counts.withLock { $0[word, default: 0] += 1 } }
        collector?.ack(tuple)
    }
}

/// Shared results of a word count run.
final class WordCountLog: Sendable {
    let counts = Mutex<[String: Int]>([:])
    let spout = SpoutLog()
}

enum WordCount {
    static let words = ["storm", "gale", "wind", "breeze", "gust", "squall", "tempest", "zephyr", "naïve", "風"]

    /// The deterministic sentence of message id `i`.
    static func sentence(_ i: Int) -> String {
        (0..<(1 + i % 7)).map { words[(i * 31 + $0 * 7) % words.count] }.joined(separator: " ")
    }

    static func truth(_ n: Int) -> [String: Int] {
        var truth: [String: Int] = [:]
        for i in 0..<n {
            for word in sentence(i).split(separator: " ") { truth[String(word), default: 0] += 1 }
        }
        return truth
    }

    static func topology(
        name: String,
        sentences: Int,
        log: WordCountLog,
        parallelism: Int = 2,
        ackers: Int = 2,
        timeoutSeconds: Double = 30
    ) throws -> Topology {
        let builder = TopologyBuilder(name: name)
        builder.setSpout("spout") {
            SequenceSpout(
                log.spout,
                .init(
                    count: sentences,
                    fields: ["sentence"],
                    replayFailures: true,
                    recordIds: false,
                    values: { [.string(sentence($0))] }
                )
            )
        }
        builder.setBolt("split", parallelism: parallelism) { WordSplitBolt() }.shuffleGrouping("spout")
        builder.setBolt("count", parallelism: parallelism) { WordCountBolt(log) }
            .fieldsGrouping("split", fields: ["word"])
        builder.config.ackers = ackers
        builder.config.messageTimeoutSeconds = timeoutSeconds
        builder.config.maxSpoutPending = 500
        return try builder.build()
    }
}

// MARK: - Tests

/// Topologies split over several ``ClusterWorker``s in this process, talking over loopback TCP.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ClusterWorkerTests {
    @Test func wordCountOverTwoWorkersCompletesEveryMessageOnceWithExactCounts() async throws {
        let n = 3_000
        let log = WordCountLog()
        let topology = try WordCount.topology(name: "wc2", sentences: n, log: log)
        var cluster = TestCluster(topology: topology, workers: 2)
        try await withCluster(&cluster, running: topology) { cluster in
            try await require("every sentence is acked") { log.spout.ackCount >= n }
            let snapshot = log.spout.snapshot
            #expect(snapshot.failCount == 0)
            #expect(snapshot.acked.count == n)
            #expect(snapshot.acked.values.allSatisfy { $0 == 1 })
            #expect(log.counts.withLock { $0 } == WordCount.truth(n))
            let stats = cluster.workers.map { $0.transportStats() }
            #expect(stats.allSatisfy { $0.envelopesSent > 0 && $0.envelopesReceived > 0 })
            #expect(stats.allSatisfy { $0.corruptFrames == 0 && $0.envelopesDropped == 0 })
            #expect(stats.allSatisfy { $0.connectedPeers == 1 })
        }
    }

    /// Spout, split and count each in their own worker, the ackers in the first and last: every
    /// tuple tree spans three workers.
    @Test func treesSpanningThreeWorkersCompleteExactlyOnce() async throws {
        let n = 2_000
        let log = WordCountLog()
        let topology = try WordCount.topology(name: "wc3", sentences: n, log: log, parallelism: 2, ackers: 2)
        let plan = TopologyPlan(topology: topology)
        let firstAcker = plan.ackerTasks[0]
        var cluster = TestCluster(topology: topology, workers: 3) { task, component in
            switch component {
            case "spout": 0
            case "split": 1
            case "count": 2
            default: task == firstAcker ? 0 : 2
            }
        }
        try await withCluster(&cluster, running: topology) { cluster in
            try await require("every sentence is acked") { log.spout.ackCount >= n }
            let snapshot = log.spout.snapshot
            #expect(snapshot.failCount == 0)
            #expect(snapshot.acked.count == n && snapshot.acked.values.allSatisfy { $0 == 1 })
            #expect(log.counts.withLock { $0 } == WordCount.truth(n))
            #expect(cluster.workers.map { $0.localTasks.count } == [2, 2, 3])
            #expect(cluster.workers.allSatisfy { $0.transportStats().connectedPeers == 2 })
        }
    }

    @Test func aReplacedPeersLostTuplesTimeOutAndAreReplayed() async throws {
        let n = 100
        let spouts = SpoutLog()
        let lost = BoltLog()
        let served = BoltLog()
        func topology(_ bolts: BoltLog, ack: Bool) throws -> Topology {
            let builder = TopologyBuilder(name: "replace")
            builder.setSpout("spout") { SequenceSpout(spouts, .init(count: n, replayFailures: true)) }
            builder.setBolt("sink") {
                TestBolt(bolts, .init(recordValues: false, behaviour: ack ? Behaviour.ack : Behaviour.ignore))
            }.shuffleGrouping("spout")
            builder.config.ackers = 1
            builder.config.messageTimeoutSeconds = 1
            return try builder.build()
        }
        let first = try topology(lost, ack: false)
        // Worker 0: spout and acker; worker 1: the sink, which first loses everything.
        var cluster = TestCluster(topology: first, workers: 2) { _, component in component == "sink" ? 1 : 0 }
        try await cluster.start { i in i == 0 ? first : try topology(lost, ack: false) }
        do {
            try await require("the first sink receives every tuple") { lost.executedCount >= n }
            await cluster.workers[1].shutdown(drainTimeout: .milliseconds(50))
            let replacement = try await cluster.startWorker(1, topology: try topology(served, ack: true))
            cluster.workers[1] = replacement
            replacement.setActive(true)
            try await require("the replacement is connected") { cluster.workers.allSatisfy(\.allPeersConnected) }
            try await require("every tuple is replayed to the replacement and acked") { spouts.ackCount >= n }
            let snapshot = spouts.snapshot
            #expect(snapshot.acked.count == n && snapshot.acked.values.allSatisfy { $0 == 1 })
            #expect(snapshot.failCount >= n, "each lost tuple timed out")
            #expect(cluster.workers[0].transportStats().reconnects >= 1)
        } catch {
            await cluster.shutdown(drainTimeout: .milliseconds(100))
            throw error
        }
        await cluster.shutdown()
    }

    @Test func aSlowBoltInOneWorkerPausesASpoutInAnother() async throws {
        let capacity = 1_024
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "remote-backpressure")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: .max, tracked: false, recordIds: false)) }
        builder.setBolt("slow") { TestBolt(bolts, .init(recordValues: false, delayMicros: 50)) }.shuffleGrouping(
            "spout"
        )
        builder.config.executorQueueCapacity = capacity
        let topology = try builder.build()
        var cluster = TestCluster(topology: topology, workers: 2) { _, component in component == "slow" ? 1 : 0 }
        var maxBacklog = 0
        try await withCluster(&cluster, running: topology) { cluster in
            try await require("the slow bolt works through many capacities' worth of tuples") {
                maxBacklog = max(maxBacklog, spouts.emittedCount - bolts.executedCount)
                return bolts.executedCount >= 12 * capacity
            }
            let queue = cluster.workers[1].localRuntime.maxQueueLength
            #expect(queue > 0)
            // In one process the queue stays within its capacity. Across workers, what is on the
            // wire and what the spout emits while the control frame travels come on top (about
            // one more capacity on loopback); unthrottled it would grow by millions.
            #expect(queue <= 8 * capacity, "the remote queue reached \(queue) with capacity \(capacity)")
            #expect(cluster.workers[1].transportStats().controlFramesSent > 0)
            #expect(cluster.workers[0].transportStats().controlFramesReceived > 0)
            #expect(cluster.workers[0].transportStats().envelopesDropped == 0)
        }
        #expect(maxBacklog <= 12 * capacity, "the spout ran \(maxBacklog) tuples ahead of the bolt")
    }

    @Test func aPauseIsLiftedWhenThePeerThatAskedForItGoesAway() async throws {
        let spouts = SpoutLog()
        let bolts = BoltLog()
        let builder = TopologyBuilder(name: "pause-lifted")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: .max, tracked: false, recordIds: false)) }
        builder.setBolt("slow") { TestBolt(bolts, .init(recordValues: false, delayMicros: 2_000)) }
            .shuffleGrouping("spout")
        builder.config.executorQueueCapacity = 256
        let topology = try builder.build()
        var cluster = TestCluster(topology: topology, workers: 2) { _, component in component == "slow" ? 1 : 0 }
        try await cluster.start { _ in topology }
        let spoutExecutor = try #require(cluster.workers[0].localRuntime.spouts.first)
        do {
            try await require("the remote slow bolt pauses the spout") {
                spoutExecutor.throttle.load(ordering: .relaxed) > 0
            }
            await cluster.workers[1].shutdown(drainTimeout: .milliseconds(10))
            try await require("the pause is lifted when the peer's connection ends") {
                spoutExecutor.throttle.load(ordering: .relaxed) == 0
            }
            let emitted = spouts.emittedCount
            try await require("the spout emits again") { spouts.emittedCount > emitted }
        } catch {
            await cluster.shutdown(drainTimeout: .milliseconds(100))
            throw error
        }
        await cluster.shutdown(drainTimeout: .milliseconds(100))
    }

    @Test func droppedConnectionsReconnectAndLostTuplesAreReplayed() async throws {
        let n = 4_000
        let log = WordCountLog()
        let topology = try WordCount.topology(name: "wc-drop", sentences: n, log: log, timeoutSeconds: 1)
        var cluster = TestCluster(topology: topology, workers: 2)
        try await withCluster(&cluster, running: topology) { cluster in
            try await require("some sentences are acked") { log.spout.ackCount >= n / 4 }
            for worker in cluster.workers { worker.dropOutboundConnections() }
            try await require("both workers reconnect") {
                cluster.workers.allSatisfy { $0.transportStats().reconnects >= 1 && $0.allPeersConnected }
            }
            try await require("every sentence is eventually acked") { log.spout.ackCount >= n }
            let snapshot = log.spout.snapshot
            #expect(snapshot.acked.count == n && snapshot.acked.values.allSatisfy { $0 == 1 })
            let counts = log.counts.withLock { $0 }
            for (word, count) in WordCount.truth(n) {
                #expect(counts[word, default: 0] >= count, "word [\(word)]: replays only add")
            }
        }
    }

    @Test func aLayoutThatLeavesATaskWithoutWorkerIsRejected() async throws {
        let log = WordCountLog()
        let topology = try WordCount.topology(name: "incomplete", sentences: 1, log: log)
        let me = WorkerAddress(host: "127.0.0.1", port: 0)
        let layout = WorkerLayout(topologyId: "x", epoch: 1, me: me, taskAddresses: [1: me])
        await #expect(throws: ClusterWorkerError.self) {
            _ = try await ClusterWorker(topology: topology, layout: layout, logger: TestCluster.logger)
        }
    }

    @Test func layoutNamesLocalTasksAndPeers() {
        let a = WorkerAddress(host: "10.0.0.1", port: 7000)
        let b = WorkerAddress(host: "10.0.0.2", port: 7000)
        let layout = WorkerLayout(topologyId: "t", epoch: 2, me: a, taskAddresses: [1: a, 2: b, 3: a, 4: b])
        #expect(layout.localTasks == [1, 3])
        #expect(layout.peers == [b])
        #expect(a.description == "10.0.0.1:7000")
        #expect(WorkerAddress(host: "::1", port: 1).description == "[::1]:1")
    }
}
