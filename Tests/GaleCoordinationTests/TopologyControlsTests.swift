import Foundation
import Gale
import GaleCoordination
import Logging
import Testing

@Suite struct TopologyControlsTests {
    @Test func aLogLevelReplacesTheComponentsPreviousOneAndResetRemovesIt() {
        var controls = TopologyControls()
        controls.setLogLevel(component: "count", level: .debug, until: nil)
        controls.setLogLevel(component: nil, level: .warning, until: 50)
        controls.setLogLevel(component: "count", level: .trace, until: 100)
        #expect(
            controls.logLevels == [
                LogLevelControl(component: nil, level: "warning", until: 50),
                LogLevelControl(component: "count", level: "trace", until: 100),
            ]
        )
        controls.setLogLevel(component: "count", level: nil, until: nil)
        #expect(controls.logLevels == [LogLevelControl(component: nil, level: "warning", until: 50)])
    }

    @Test func samplingAtZeroPercentStopsAndAboveAHundredIsAHundred() {
        var controls = TopologyControls()
        controls.setSampling(component: "split", percent: 250, until: nil)
        controls.setSampling(component: "count", percent: 1, until: 10)
        #expect(
            controls.sampling == [
                SamplingControl(component: "count", percent: 1, until: 10),
                SamplingControl(component: "split", percent: 100, until: nil),
            ]
        )
        controls.setSampling(component: "split", percent: 0, until: nil)
        #expect(controls.sampling.map(\.component) == ["count"])
    }

    @Test func expiredEntriesAreDroppedAndWhatRemainsIsWhatApplies() {
        var controls = TopologyControls()
        controls.setLogLevel(component: nil, level: .info, until: nil)
        controls.setLogLevel(component: "count", level: .debug, until: 100)
        controls.setSampling(component: "split", percent: 5, until: 200)
        #expect(controls.nextExpiry(after: 50) == 100)
        #expect(controls.nextExpiry(after: 100) == 200)
        #expect(controls.nextExpiry(after: 200) == nil)

        #expect(controls.logLevelOverrides(at: 99) == LogLevelOverrides(all: .info, components: ["count": .debug]))
        #expect(controls.logLevelOverrides(at: 100) == LogLevelOverrides(all: .info))
        #expect(controls.samplingPercents(at: 199.9) == ["split": 5])
        #expect(controls.samplingPercents(at: 200).isEmpty)
        let later = controls.active(at: 150)
        #expect(later.logLevels.count == 1 && later.sampling.count == 1)
        #expect(controls.active(at: 300) == TopologyControls(logLevels: controls.logLevels.filter { $0.until == nil }))
    }

    @Test func aLevelNobodyKnowsIsLeftOut() {
        let controls = TopologyControls(logLevels: [LogLevelControl(component: "a", level: "loud", until: nil)])
        #expect(controls.logLevelOverrides(at: 0).isEmpty)
        #expect(TopologyControls.levelNames == ["trace", "debug", "info", "notice", "warning", "error", "critical"])
    }

    @Test func theZooKeeperRecordHasAVersionAndTheFieldsOfTheContract() throws {
        var controls = TopologyControls()
        controls.setLogLevel(component: nil, level: .debug, until: 12.5)
        controls.setSampling(component: "split", percent: 1, until: nil)
        let record = ControlsRecord(topologyId: "wc-1", controls: controls)
        let json = String(decoding: try ClusterJSON.encode(record), as: UTF8.self)
        #expect(
            json
                == #"{"logLevels":[{"level":"debug","until":12.5}],"sampling":[{"component":"split","percent":1}],"topologyId":"wc-1","v":1}"#
        )
        #expect(try ClusterJSON.decode(ControlsRecord.self, from: Array(json.utf8)).controls == controls)
        let api = String(decoding: try ClusterJSON.encode(controls), as: UTF8.self)
        #expect(
            api == #"{"logLevels":[{"level":"debug","until":12.5}],"sampling":[{"component":"split","percent":1}]}"#
        )
    }

    @Test func aSampleBufferKeepsTheNewestAndCountsWhatItDropped() {
        func sample(_ i: Int) -> TupleSample {
            TupleSample(time: Double(i), component: "c", task: 1, stream: "default", values: "[\(i)]")
        }
        var buffer = SampleBuffer(capacity: 3)
        buffer.append(contentsOf: (1...2).map(sample))
        buffer.append(contentsOf: (3...5).map(sample))
        #expect(buffer.samples.map(\.time) == [3, 4, 5])
        #expect(buffer.dropped == 2)
        #expect(buffer.take().count == 3)
        #expect(buffer.samples.isEmpty)
    }

    @Test func heartbeatsAndRepliesWithoutTheNewFieldsStillDecode() throws {
        let reply = try ClusterJSON.decode(
            WorkerHeartbeatReply.self,
            from: Array(#"{"active":true,"stop":false}"#.utf8)
        )
        #expect(reply.controls == nil)
        var full = WorkerHeartbeatReply(active: true, stop: false)
        full.controls = TopologyControls(sampling: [SamplingControl(component: "s", percent: 2, until: nil)])
        #expect(try ClusterJSON.decode(WorkerHeartbeatReply.self, from: ClusterJSON.encode(full)) == full)
    }
}
