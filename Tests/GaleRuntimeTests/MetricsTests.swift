import CoreMetrics
import Gale
import Logging
import Prometheus
import Testing

@testable import GaleRuntime

/// The components' metrics (``ComponentMetrics`` over swift-metrics), the latency buckets and
/// the per-task samples a worker sends its supervisor.
@Suite struct MetricsTests {
    static func backend() -> (SwiftMetricsBackend, PrometheusCollectorRegistry) {
        let registry = PrometheusCollectorRegistry()
        return (
            SwiftMetricsBackend(factory: PrometheusMetricsFactory(registry: registry), logger: Logger(label: "test")),
            registry
        )
    }

    @Test func aComponentsMetricsCarryItsTaskAndEndUpInTheRegistry() {
        let (backend, registry) = Self.backend()
        let metrics = ComponentMetrics(backend: backend, topologyName: "wc", componentId: "count", taskId: 3)
        metrics.counter("words_total").increment(by: 5)
        metrics.counter("words_total").increment()
        metrics.counter("words_total", labels: ["kind": "long", "task": "ignored"]).increment(by: 2)
        metrics.gauge("cache_entries").set(42)
        metrics.timer("flush_seconds").record(.milliseconds(7))
        metrics.histogram("batch_size").record(12)
        let text = registry.emitToString()
        #expect(text.contains(#"words_total{topology="wc",component="count",task="3"} 6"#), "\(text)")
        #expect(text.contains(#"words_total{topology="wc",component="count",task="3",kind="long"} 2"#), "\(text)")
        #expect(text.contains(#"cache_entries{topology="wc",component="count",task="3"} 42.0"#), "\(text)")
        #expect(text.contains("# TYPE flush_seconds histogram"), "\(text)")
        #expect(text.contains(#"flush_seconds_count{topology="wc",component="count",task="3"} 1"#), "\(text)")
        #expect(text.contains(#"batch_size_sum{topology="wc",component="count",task="3"} 12.0"#), "\(text)")
    }

    @Test func badNamesAndKindClashesGiveMetricsThatDoNothing() {
        let (backend, registry) = Self.backend()
        let metrics = ComponentMetrics(backend: backend, topologyName: "t", componentId: "c", taskId: 1)
        metrics.counter("shared").increment()
        // swift-prometheus would stop the process for a gauge of a counter's name.
        metrics.gauge("shared").set(5)
        for bad in ["", "9lives", "has space", "gale_mine_total", "x_count", "x_bucket", "x_sum", "é"] {
            metrics.counter(bad).increment()
            #expect(SwiftMetricsBackend.problem(with: bad) != nil, "\(bad)")
        }
        let samples = registry.emitToString().split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(samples == [#"shared{topology="t",component="c",task="1"} 1"#])
        #expect(SwiftMetricsBackend.problem(with: "ok:name_2") == nil)
        // Without a backend every metric does nothing.
        ComponentMetrics.disabled.counter("x").increment()
        MetricCounter.disabled.increment()
        MetricTimer.disabled.record(.seconds(1))
        #expect(MetricTimer.disabled.time { 7 } == 7)
    }

    @Test func timersTakeAnyDuration() {
        let (backend, registry) = Self.backend()
        let timer = ComponentMetrics(backend: backend, topologyName: "t", componentId: "c", taskId: 1).timer(
            "t_seconds"
        )
        timer.record(.seconds(-5))
        timer.record(.seconds(Int64.max))
        timer.record(.nanoseconds(1))
        #expect(registry.emitToString().contains(#"t_seconds_count{topology="t",component="c",task="1"} 3"#))
    }

    @Test func latencyBucketsAreCumulativeAndNeverEarly() throws {
        var histogram = LatencyHistogram()
        #expect(histogram.buckets() == nil)
        #expect(LatencyBuckets.bounds.count == 18)
        for _ in 0..<10 { histogram.record(2_000_000) }  // 2 ms
        for _ in 0..<5 { histogram.record(400_000_000) }  // 400 ms
        histogram.record(100_000_000_000)  // 100 s: beyond the last bound
        let buckets = try #require(histogram.buckets())
        let bounds = LatencyBuckets.bounds
        #expect(buckets.count == 16)
        #expect(abs(buckets.sumSeconds - (0.02 + 2 + 100)) < 1e-9)
        for (bound, count) in zip(bounds, buckets.cumulative) {
            // A recording counts at a bound only when it is at most that long.
            let truth = bound >= 100 ? 16 : bound >= 0.4 ? 15 : bound >= 0.002 ? 10 : 0
            #expect(count <= UInt64(truth), "le \(bound)")
        }
        #expect(buckets.cumulative[bounds.firstIndex(of: 0.0025)!] == 10)
        #expect(buckets.cumulative[bounds.firstIndex(of: 0.5)!] == 15)
        #expect(buckets.cumulative.last == 15)
        #expect(zip(buckets.cumulative, buckets.cumulative.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test func theRegistryTextIsCutAtALineEnd() {
        let bytes = Array("a 1\nb 2\nc 3\n".utf8)
        #expect(GaleMetrics.cut(bytes, limit: 100) == "a 1\nb 2\nc 3\n")
        #expect(GaleMetrics.cut(bytes, limit: 9) == "a 1\nb 2\n")
        #expect(GaleMetrics.cut(bytes, limit: 2) == nil)
        #expect(GaleMetrics.cut([], limit: 10) == nil)
    }

    /// A local run: each task's counters and its queue, and a bolt's own counter in the
    /// process's registry once swift-metrics is bootstrapped.
    @Test func aLocalRunsTasksReportTheirCountersAndTheirOwnMetrics() async throws {
        GaleMetrics.bootstrap()
        GaleMetrics.bootstrap()  // a second call does nothing
        let spouts = SpoutLog()
        let builder = TopologyBuilder(name: "metrics-local")
        builder.setSpout("spout") { SequenceSpout(spouts, .init(count: 50)) }
        builder.setBolt("counted", parallelism: 2) { CountingBolt() }.shuffleGrouping("spout")
        let cluster = LocalCluster()
        let running = try cluster.submit(try builder.build())
        #expect(await running.waitUntil(timeout: .seconds(30)) { spouts.ackCount == 50 })
        var tasks: [TaskMetrics] = []
        for _ in 0..<500 {
            tasks = running.runtime.taskMetrics()
            let executed = tasks.filter { $0.component == "counted" }.reduce(0) { $0 + $1.executed }
            let acked = tasks.filter { $0.component == "spout" }.reduce(0) { $0 + $1.acked }
            if executed == 50 && acked == 50 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await cluster.shutdown()
        #expect(Set(tasks.map(\.component)) == ["spout", "counted", Topology.ackerComponentId])
        #expect(tasks.filter { $0.component == "counted" }.reduce(0) { $0 + $1.executed } == 50)
        let spout = try #require(tasks.first { $0.component == "spout" })
        #expect(spout.acked == 50)
        #expect(spout.completeLatency?.count == 50)
        #expect(spout.queueCapacity > 0)
        let text = try #require(GaleMetrics.exposition())
        let counted = text.split(separator: "\n").filter {
            $0.hasPrefix(#"local_counted_total{topology="metrics-local",component="counted",task="#)
        }
        #expect(counted.count == 2, "\(text)")
        #expect(counted.compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +) == 50)
    }
}

/// Counts its tuples in a counter of its own.
final class CountingBolt: BasicBolt {
    private var counter = MetricCounter.disabled

    func prepare(context: TopologyContext) throws {
        counter = context.metrics.counter("local_counted_total")
    }

    func execute(_ tuple: Tuple, collector: any BasicOutputCollector) throws {
        counter.increment()
    }
}
