import Foundation
import Gale
import GaleDaemons
import Testing

@testable import gale

@Suite struct MonitorViewTests {
    /// A status as `GET /api/v1/topologies/<name>` serves it, with `extra` top-level fields.
    static func status(
        spout: (emitted: UInt64, acked: UInt64),
        split: (executed: UInt64, failed: UInt64),
        extra: String = ""
    ) throws -> MonitorStatus {
        func component(
            _ id: String,
            _ kind: String,
            emitted: UInt64,
            executed: UInt64,
            acked: UInt64,
            failed: UInt64
        )
            throws -> String
        {
            var c = ComponentStats(id: id, kind: kind, tasks: 2, queueCapacity: 1024)
            c.emitted = emitted
            c.executed = executed
            c.acked = acked
            c.failed = failed
            c.capacity = 0.25
            c.completeLatencyMs = 12.5
            c.executeLatencyMs = 0.125
            c.queued = 7
            c.errorCount = 3
            c.recentErrors = [ComponentError(task: 4, time: 1000, message: "boom")]
            return String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        }
        let json = """
            {"id":"wc-1","name":"wc","status":"active","epoch":2,"requestedWorkers":2,"binaryDigest":"x",
             "uptimeSeconds":10,"errors":[],"problems":[],
             "workers":[{"supervisorId":"s","host":"h","port":1,"tasks":[1],"state":"running","uptimeSeconds":1,"restarts":0}],
             "components":[\(try component("sentences", "spout", emitted: spout.emitted, executed: 0, acked: spout.acked, failed: 0)),
                           \(try component("split", "bolt", emitted: 0, executed: split.executed, acked: 0, failed: split.failed))]
             \(extra)}
            """
        return try JSONDecoder().decode(MonitorStatus.self, from: Data(json.utf8))
    }

    @Test func ratesComeFromTheTotalsOfTheWindowAndNotAcrossAReset() throws {
        var history = MonitorHistory()
        history.add(time: 100, status: try Self.status(spout: (0, 0), split: (0, 0)))
        #expect(history.rates(MonitorHistory.componentKey("split")) == nil, "one point has no rate")
        history.add(time: 102, status: try Self.status(spout: (200, 100), split: (1000, 4)))
        let split = try #require(history.rates(MonitorHistory.componentKey("split")))
        #expect(split.executed == 500 && split.failed == 2)
        #expect(history.rates(MonitorHistory.componentKey("sentences"))?.acked == 50)
        // Over at most the last 10 s: the point at 100 stays the base until one at 112 or later.
        history.add(time: 110, status: try Self.status(spout: (1000, 500), split: (5000, 4)))
        #expect(history.rates(MonitorHistory.componentKey("split"))?.executed == 500)
        history.add(time: 113, status: try Self.status(spout: (1300, 650), split: (6500, 4)))
        #expect(
            history.rates(MonitorHistory.componentKey("split"))?.executed == 500,
            "base 102: the newest point at or before 103"
        )
        #expect(history.points.map(\.time) == [102, 110, 113])
        // A worker started again: its totals went down; no rate until the window forgets it.
        history.add(time: 115, status: try Self.status(spout: (10, 5), split: (50, 0)))
        #expect(history.rates(MonitorHistory.componentKey("split")) == nil)
    }

    @Test func nimbusRatesWinWhenItServesThem() throws {
        let status = try Self.status(
            spout: (10, 10),
            split: (10, 0),
            extra:
                #","nimbusTime":5,"windows":[{"id":"split","rates":{"emitted":1,"transferred":2,"executed":3,"acked":4,"failed":5},"windows":{}}]"#
        )
        var history = MonitorHistory()
        history.add(time: 5, status: status)
        let rows = MonitorView.rows(status, history: history, component: nil)
        #expect(rows.map(\.name) == ["sentences", "split"])
        #expect(rows[0].rates == nil)
        #expect(rows[1].rates == MonitorRates(emitted: 1, executed: 3, acked: 4, failed: 5))
        #expect(rows[0].latencyMs == 12.5, "a spout shows its complete latency")
        #expect(rows[1].latencyMs == 0.125, "a bolt its execute latency")
    }

    @Test func withAComponentThereIsOneRowPerTaskWhenNimbusServesTasks() throws {
        let task =
            #"{"task":%d,"component":"split","host":"h","port":%d,"emitted":0,"transferred":0,"executed":%d,"acked":0,"failed":0,"completeLatencyMs":0,"executeLatencyMs":0.5,"capacity":0.5,"pending":0,"queued":%d,"overloaded":false}"#
        let tasks = [String(format: task, 4, 6700, 100, 1), String(format: task, 3, 6701, 40, 2)]
        let status = try Self.status(
            spout: (0, 0),
            split: (0, 0),
            extra: #","tasks":["# + tasks.joined(separator: ",") + "]"
        )
        var history = MonitorHistory()
        history.add(time: 0, rows: [MonitorHistory.taskKey(3): .init(emitted: 0, executed: 0, acked: 0, failed: 0)])
        history.add(time: 2, status: status)
        let rows = MonitorView.rows(status, history: history, component: "split")
        #expect(rows.map(\.name) == ["task 3", "task 4"])
        #expect(rows.map(\.detail) == ["h:6701", "h:6700"])
        #expect(rows[0].rates?.executed == 20)
        #expect(rows[1].rates == nil)
        #expect(MonitorView.table(rows, perTask: true)[0].hasPrefix("TASK"))
        // Without task rows, the component's own row.
        let old = try Self.status(spout: (0, 0), split: (0, 0))
        #expect(MonitorView.rows(old, history: history, component: "split").map(\.name) == ["split"])
    }

    @Test func aTerminalFrameRedrawsInPlaceAndPlainLinesHaveNoEscapes() throws {
        let status = try Self.status(spout: (10, 10), split: (10, 0))
        var history = MonitorHistory()
        history.add(time: 1000, status: status)
        let rows = MonitorView.rows(status, history: history, component: nil)
        let first = MonitorView.frame(status, rows: rows, component: nil, interval: 2, time: 1000, first: true)
        let next = MonitorView.frame(status, rows: rows, component: nil, interval: 2, time: 1002, first: false)
        #expect(first.hasPrefix("\u{1B}[2J\u{1B}[H"))
        #expect(next.hasPrefix("\u{1B}[H") && !next.contains("\u{1B}[2J"))
        #expect(next.hasSuffix("\u{1B}[J"))
        #expect(next.contains("gale monitor wc (wc-1) active, epoch 2, 1/1 workers running"))
        #expect(next.contains("COMPONENT") && next.contains("sentences") && next.contains("split"))
        #expect(next.contains("task 4: boom"))

        let lines = MonitorView.plainLines(status, rows: rows, time: 1000)
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { !$0.contains("\u{1B}") })
        #expect(lines[1].contains("topology=wc row=split emitted_per_s=- executed_per_s=-"))
        #expect(lines[1].hasSuffix("capacity=0.25 latency_ms=0.125 queued=7 errors=3"))
    }

    @Test func ratesPrintWithOneDecimalBelowAHundred() {
        #expect(MonitorView.rate(nil) == "-")
        #expect(MonitorView.rate(2.25) == "2.2" || MonitorView.rate(2.25) == "2.3")
        #expect(MonitorView.rate(1234.4) == "1234")
    }
}
