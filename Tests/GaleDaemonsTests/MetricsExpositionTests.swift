import Foundation
import Gale
import GaleCoordination
import Testing

@testable import GaleDaemons

/// The text the nimbus and supervisor `/metrics` pages are rendered into, the reader of the
/// workers' own metrics, and the families a supervisor makes of its workers.
@Suite struct MetricsExpositionTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `# TYPE` lines by family name.
    static func types(_ text: String) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let parts = line.split(separator: " ")
            result[String(parts[2]), default: []].append(String(parts[3]))
        }
        return result
    }

    /// Sample lines (not comments) whose series name is `name`.
    static func samples(_ text: String, _ name: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter {
            !$0.hasPrefix("#") && ($0.hasPrefix(name + "{") || $0.hasPrefix(name + " "))
        }
    }

    @Test func countersAndGaugesOfOneFamilyShareOneHelpAndTypeLine() {
        var f = MetricFamilies()
        #expect((f.counter("x_total", "Things.", [("worker", "a:1")], 3.0)) == true)
        #expect((f.counter("x_total", "Other help is ignored.", [("worker", "b:2")], 4.0)) == true)
        #expect((f.gauge("y", "A level.", [], 2.5)) == true)
        let text = f.render()
        #expect(Self.types(text) == ["x_total": ["counter"], "y": ["gauge"]])
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("# HELP x_total") } == ["# HELP x_total Things."])
        #expect(Set(Self.samples(text, "x_total")) == [#"x_total{worker="a:1"} 3"#, #"x_total{worker="b:2"} 4"#])
        #expect(Self.samples(text, "y") == ["y 2.5"])
    }

    @Test func seriesThatWouldMakeTheTextInvalidAreLeftOutAndCounted() {
        var f = MetricFamilies()
        #expect((f.counter("a_total", "", [("k", "1")], 1.0)) == true)
        #expect((f.gauge("a_total", "", [("k", "2")], 1.0)) == false, "another type")
        #expect((f.counter("a_total", "", [("k", "1")], 2.0)) == false, "the same labels twice")
        #expect((f.counter("a_total", "", [], 2.0)) == false, "unlabeled beside labeled")
        #expect((f.counter("1bad", "", [], 1.0)) == false, "an invalid name")
        #expect((f.counter("b_total", "", [("bad-label", "1")], 1.0)) == false, "an invalid label name")
        #expect((f.counter("b_total", "", [("k", "1"), ("k", "2")], 1.0)) == false, "a repeated label")
        #expect((f.counter("c_total", "", [], -1.0)) == false, "a counter going negative")
        #expect((f.gauge("d", "", [], .nan)) == false, "not a number")
        #expect((f.histogram("h", "", [], .init(bounds: [1], cumulative: [1], sum: 1, count: 1))) == true)
        #expect((f.gauge("h_count", "", [], 1)) == false, "a histogram's series name")
        #expect((f.histogram("e", "", [("le", "1")], .init(bounds: [1], cumulative: [0], sum: 0, count: 0))) == false)
        #expect((f.histogram("e", "", [], .init(bounds: [2, 1], cumulative: [0, 0], sum: 0, count: 0))) == false)
        #expect((f.histogram("e", "", [], .init(bounds: [1, 2], cumulative: [2, 1], sum: 0, count: 2))) == false)
        #expect(f.dropped == 12)
        #expect(Self.types(f.render()) == ["a_total": ["counter"], "h": ["histogram"]])
    }

    @Test func histogramsAreCumulativeWithInfSumAndCount() {
        var f = MetricFamilies()
        let h = MetricFamilies.Histogram(bounds: [0.001, 0.01], cumulative: [2, 5], sum: 0.031, count: 6)
        f.histogram("lat_seconds", "Latency.", [("task", "3"), ("path", "a\"b\\c\nd")], h)
        let text = f.render()
        let labels = #"task="3",path="a\"b\\c\nd""#
        #expect(
            text == """
                # HELP lat_seconds Latency.
                # TYPE lat_seconds histogram
                lat_seconds_bucket{\(labels),le="0.001"} 2
                lat_seconds_bucket{\(labels),le="0.01"} 5
                lat_seconds_bucket{\(labels),le="+Inf"} 6
                lat_seconds_sum{\(labels)} 0.031
                lat_seconds_count{\(labels)} 6

                """
        )
    }

    @Test func theParserReadsWhatSwiftPrometheusWrites() {
        var f = MetricFamilies()
        f.counter("words_total", "Words \\ seen.", [("task", "1"), ("topology", "t")], 7.0)
        f.gauge("lag", "", [("q", "with \"quotes\"")], -3.5)
        f.histogram("size", "Sizes.", [("task", "1")], .init(bounds: [5, 10], cumulative: [1, 2], sum: 12, count: 3))
        let (families, skipped) = ExpositionParser.parse(f.render() + "garbage line\n# a comment\n")
        #expect(skipped == 1)
        let byName = Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0) })
        #expect(byName["words_total"]?.kind == .counter)
        #expect(byName["words_total"]?.help == "Words \\ seen.")
        #expect(byName["words_total"]?.samples.first?.value == 7)
        #expect(byName["lag"]?.samples.first?.labels == [.init(name: "q", value: "with \"quotes\"")])
        #expect(byName["lag"]?.samples.first?.value == -3.5)
        #expect(byName["size"]?.samples.map(\.suffix) == ["_bucket", "_bucket", "_bucket", "_sum", "_count"])
    }

    @Test func theParserSkipsSamplesOutsideTheirFamilyAndBrokenLines() {
        let text = """
            orphan 1
            # TYPE a counter
            a{x="1"} 1
            b 2
            a{x="unterminated} 3
            a{x="1" 4
            a{x="2"} notanumber
            a{x="3"} 5 1700000000
            # TYPE c summary
            c 1

            """
        let (families, skipped) = ExpositionParser.parse(text)
        #expect(families.map(\.name) == ["a"])
        #expect(families.first?.samples.map(\.value) == [1, 5])
        #expect(skipped == 7)
    }

    static func worker(_ port: Int, pid: Int32, user: String?) -> WorkerSample {
        var w = WorkerSample(
            topologyId: "wc-1",
            endpoint: Endpoint(host: "127.0.0.1", port: port),
            state: "running",
            restarts: 1,
            pid: pid
        )
        w.heartbeatAgeSeconds = 0.5
        w.uptimeSeconds = 12
        var spout = TaskMetrics(task: 1, component: "words")
        spout.acked = 10
        spout.completeLatency = LatencyBuckets(
            cumulative: LatencyBuckets.bounds.map { _ in 4 },
            count: 4,
            sumSeconds: 0.01
        )
        var bolt = TaskMetrics(task: 2, component: "count")
        bolt.executed = 20
        bolt.executeLatency = LatencyBuckets(cumulative: LatencyBuckets.bounds.map { _ in 1 }, count: 1, sumSeconds: 0)
        var transport = TransportMetrics()
        transport.bytesSent = 100
        w.metrics = WorkerMetrics(tasks: [spout, bolt], transport: transport, user: user)
        w.process = ProcessSample(residentBytes: 4096, cpuSeconds: 1.5, openFiles: 12)
        var kafka = ComponentStats(id: "words", kind: "spout", tasks: 1, queueCapacity: 1024)
        kafka.tables = [
            StatusTable(
                name: "kafka-partitions",
                columns: ["task", "topic", "partition", "lag", "pending"],
                rows: [["1", "in", "0", "42", "3"], ["1", "in", "1", "", "0"]]
            ),
            StatusTable(name: "other", columns: ["lag"], rows: [["7"]]),
        ]
        w.stats = TopologyStats(
            name: "wc",
            uptimeSeconds: 12,
            components: [kafka],
            edges: [EdgeCount(from: "words", stream: "default", to: "count", transferred: 9)],
            streams: [
                streamRow("words", "default", emitted: 9, transferred: 9, acked: 8, failed: 1),
                streamRow("count", "default", from: "words", executed: 9, acked: 7, failed: 2),
                streamRow("count", "totals", emitted: 5),
            ]
        )
        return w
    }

    static func streamRow(
        _ component: String,
        _ stream: String,
        from: String? = nil,
        emitted: UInt64 = 0,
        transferred: UInt64 = 0,
        executed: UInt64 = 0,
        acked: UInt64 = 0,
        failed: UInt64 = 0
    ) -> StreamStatsRow {
        var row = StreamStatsRow(component: component, stream: stream, from: from)
        row.emitted = emitted
        row.transferred = transferred
        row.executed = executed
        row.acked = acked
        row.failed = failed
        return row
    }

    static let userText = """
        # TYPE test_words_total counter
        test_words_total{topology="wc",component="count",task="2"} 20
        # TYPE test_direct_words_total counter
        test_direct_words_total{task="2",worker="mine"} 20
        # TYPE gale_task_acked_total counter
        gale_task_acked_total{task="2"} 999
        # TYPE sizes histogram
        sizes_bucket{task="2",le="5.0"} 1
        sizes_bucket{task="2",le="10.0"} 2
        sizes_bucket{task="2",le="+Inf"} 3
        sizes_sum{task="2"} 20.0
        sizes_count{task="2"} 3

        """

    @Test func aSupervisorPageWithTwoWorkersHasOneTypeLinePerFamily() {
        let sample = SupervisorSample(
            id: "s1",
            uptimeSeconds: 30,
            slots: 2,
            usedSlots: 2,
            reportFailures: 0,
            workers: [
                Self.worker(6700, pid: 100, user: Self.userText), Self.worker(6701, pid: 101, user: Self.userText),
            ]
        )
        let families = SupervisorSeries.families(sample)
        #expect(families.dropped == 0)
        let text = families.render()
        let types = Self.types(text)
        #expect(types.values.allSatisfy { $0.count == 1 }, "\(types)")
        #expect(types["gale_task_acked_total"] == ["counter"])
        #expect(types["gale_task_complete_latency_seconds"] == ["histogram"])
        #expect(types["test_words_total"] == ["counter"])
        #expect(types["sizes"] == ["histogram"])
        let acked = Self.samples(text, "gale_task_acked_total")
        #expect(acked.count == 4, "two tasks on each of two workers; the worker's own gale_ family left out")
        #expect(
            acked.contains(
                #"gale_task_acked_total{topology="wc-1",component="words",task="1",worker="127.0.0.1:6700",pid="100"} 10"#
            )
        )
        #expect(
            Self.samples(text, "test_words_total").contains(
                #"test_words_total{topology="wc",component="count",task="2",worker="127.0.0.1:6701",pid="101"} 20"#
            )
        )
        #expect(
            Self.samples(text, "test_direct_words_total").contains(
                #"test_direct_words_total{task="2",exported_worker="mine",worker="127.0.0.1:6700",pid="100"} 20"#
            )
        )
        #expect(
            Self.samples(text, "sizes_bucket").contains(
                #"sizes_bucket{task="2",worker="127.0.0.1:6700",pid="100",le="10"} 2"#
            )
        )
        #expect(Self.samples(text, "gale_worker_resident_memory_bytes").count == 2)
        // Kafka lag from the spouts' tables (a partition without a known lag has none), edges.
        #expect(
            Self.samples(text, "gale_kafka_partition_lag").sorted() == [
                #"gale_kafka_partition_lag{topology="wc-1",component="words",task="1",topic="in",partition="0",worker="127.0.0.1:6700",pid="100"} 42.0"#,
                #"gale_kafka_partition_lag{topology="wc-1",component="words",task="1",topic="in",partition="0",worker="127.0.0.1:6701",pid="101"} 42.0"#,
            ]
        )
        #expect(Self.samples(text, "gale_kafka_partition_pending").count == 4)
        #expect(
            Self.samples(text, "gale_stream_transferred_total").contains(
                #"gale_stream_transferred_total{topology="wc-1",component="words",stream="default",to="count",worker="127.0.0.1:6700",pid="100"} 9"#
            )
        )
        // Per stream: a spout's output counts its trees; a bolt's input carries `from`; a bolt's
        // output has no acked or failed series.
        let worker0 = #"worker="127.0.0.1:6700",pid="100""#
        #expect(
            Self.samples(text, "gale_stream_emitted_total").filter { $0.contains(worker0) }.sorted() == [
                #"gale_stream_emitted_total{topology="wc-1",component="count",stream="totals",worker="127.0.0.1:6700",pid="100"} 5"#,
                #"gale_stream_emitted_total{topology="wc-1",component="words",stream="default",worker="127.0.0.1:6700",pid="100"} 9"#,
            ]
        )
        #expect(
            Self.samples(text, "gale_stream_acked_total").filter { $0.contains(worker0) }.sorted() == [
                #"gale_stream_acked_total{topology="wc-1",component="count",stream="default",from="words",worker="127.0.0.1:6700",pid="100"} 7"#,
                #"gale_stream_acked_total{topology="wc-1",component="words",stream="default",worker="127.0.0.1:6700",pid="100"} 8"#,
            ]
        )
        #expect(
            Self.samples(text, "gale_stream_failed_total").filter { $0.contains(worker0) }.sorted() == [
                #"gale_stream_failed_total{topology="wc-1",component="count",stream="default",from="words",worker="127.0.0.1:6700",pid="100"} 2"#,
                #"gale_stream_failed_total{topology="wc-1",component="words",stream="default",worker="127.0.0.1:6700",pid="100"} 1"#,
            ]
        )
        #expect(
            Self.samples(text, "gale_stream_executed_total").filter { $0.contains(worker0) } == [
                #"gale_stream_executed_total{topology="wc-1",component="count",stream="default",from="words",worker="127.0.0.1:6700",pid="100"} 9"#
            ]
        )
        #expect(Self.samples(text, "gale_supervisor_workers") == [#"gale_supervisor_workers{state="running"} 2.0"#])
    }

    /// docs/metrics.md names every family a supervisor page can hold.
    @Test func everySupervisorFamilyIsDocumented() throws {
        let docs = try String(
            contentsOf: Self.repositoryRoot.appendingPathComponent("docs/metrics.md"),
            encoding: .utf8
        )
        let sample = SupervisorSample(
            id: "s1",
            uptimeSeconds: 1,
            slots: 1,
            usedSlots: 1,
            reportFailures: 0,
            workers: [Self.worker(6700, pid: 1, user: nil)]
        )
        let names = SupervisorSeries.families(sample).names
        #expect(names.count > 30)
        for name in names { #expect(docs.contains("`\(name)`"), "docs/metrics.md does not document \(name)") }
    }

    @Test func procFilesAreRead() {
        let stat = "4242 (gale worker) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 9 0 100 1 2 3"
        #expect(ProcessSample.cpuSeconds(stat: stat, ticksPerSecond: 100) == 3.8)
        #expect(ProcessSample.cpuSeconds(stat: "garbage", ticksPerSecond: 100) == nil)
        #expect(ProcessSample.residentBytes(status: "Name:\tx\nVmRSS:\t   2048 kB\n") == 2048 * 1024)
        let me = ProcessSample.read(pid: getpid())
        #expect((me?.residentBytes ?? 0) > 0)
        #expect((me?.openFiles ?? 0) > 0)
        #expect(me?.cpuSeconds != nil)
        #expect(ProcessSample.read(pid: -1) == nil)
    }
}
