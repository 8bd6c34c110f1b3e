import Gale
import Testing

@testable import GaleRuntime

@Suite struct ErrorLogTests {
    static func error(_ i: Int) -> ComponentError {
        ComponentError(task: i % 3, time: Double(i), message: "error \(i)")
    }

    @Test func keepsEveryErrorUpToTheLimit() {
        let log = ErrorLog()
        for i in 0..<ErrorLog.limit { log.append(Self.error(i)) }
        let contents = log.contents
        #expect(contents.total == ErrorLog.limit)
        #expect(contents.errors.map(\.message) == (0..<ErrorLog.limit).map { "error \($0)" })
    }

    @Test func keepsTheLastTenOldestFirstAndCountsAll() {
        let log = ErrorLog()
        for i in 0..<25 { log.append(Self.error(i)) }
        let contents = log.contents
        #expect(ErrorLog.limit == 10)
        #expect(contents.total == 25)
        #expect(contents.errors.map(\.message) == (15..<25).map { "error \($0)" })
        #expect(contents.errors.last == Self.error(24))
    }

    @Test func startsEmpty() {
        let contents = ErrorLog().contents
        #expect(contents.errors.isEmpty)
        #expect(contents.total == 0)
    }

    @Test func reportedErrorsAreKeptPerComponentAndBounded() async throws {
        let spouts = SpoutLog()
        let noisy = BoltLog()
        let quiet = BoltLog()
        let builder = TopologyBuilder(name: "errors")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 3)) }
        builder.setBolt("noisy") {
            TestBolt(
                noisy,
                .init { tuple, io in
                    if tuple.int(at: 0) == 0 {
                        for i in 0..<25 { io.collector.reportError(TestError("problem \(i)")) }
                    }
                    io.collector.ack(tuple)
                }
            )
        }
        .shuffleGrouping("spout")
        builder.setBolt("quiet") { TestBolt(quiet) }.shuffleGrouping("spout")

        try await withRunningTopology(try builder.build()) { running in
            try await running.require("every tree completes") { spouts.ackCount == 3 }
            let stats = running.stats()
            let noisyStats = try #require(stats.component("noisy"))
            #expect(noisyStats.errorCount == 25)
            #expect(noisyStats.recentErrors.map(\.message) == (15..<25).map { "problem \($0)" })
            let task = try #require(running.runtime.plan.tasks(of: "noisy").first)
            #expect(noisyStats.recentErrors.allSatisfy { $0.task == task })
            #expect(noisyStats.recentErrors.allSatisfy { $0.time > 1_600_000_000 }, "wall-clock seconds")
            #expect(stats.component("quiet")?.errorCount == 0)
            #expect(stats.component("spout")?.errorCount == 0)
        }
    }
}
