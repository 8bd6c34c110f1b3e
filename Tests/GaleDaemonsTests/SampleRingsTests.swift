import Foundation
import Gale
import GaleCoordination
import GaleDaemons
import Testing

@Suite struct SampleRingsTests {
    static func report(_ supervisor: String, port: Int, topology: String, samples: [TupleSample]) -> SupervisorReport {
        var worker = WorkerReport(
            workerId: "\(topology)-\(port)",
            topologyId: topology,
            epoch: 1,
            endpoint: Endpoint(host: "10.0.0.\(port % 10)", port: port),
            pid: 1,
            state: "running",
            restarts: 0,
            lastExit: nil,
            uptimeSeconds: 1,
            heartbeatAgeSeconds: 0,
            stats: nil
        )
        worker.samples = samples
        return SupervisorReport(
            supervisorId: supervisor,
            host: "h",
            slots: [port],
            uptimeSeconds: 1,
            workers: [worker],
            errors: []
        )
    }

    static func sample(_ time: Double, _ component: String, task: Int = 1) -> TupleSample {
        TupleSample(time: time, component: component, task: task, stream: "default", values: "[\(Int(time))]")
    }

    @Test func samplesAreKeptPerTopologyAndComponentWithTheirWorkerNewestFirstOut() {
        let rings = SampleRings()
        rings.add(
            Self.report(
                "s1",
                port: 6701,
                topology: "wc-1",
                samples: [Self.sample(2, "split"), Self.sample(1, "count")]
            )
        )
        rings.add(Self.report("s2", port: 6702, topology: "wc-1", samples: [Self.sample(3, "split", task: 4)]))
        rings.add(Self.report("s2", port: 6702, topology: "other-1", samples: [Self.sample(9, "split")]))
        let all = rings.samples(of: "wc-1", component: nil)
        #expect(all.map(\.time) == [1, 2, 3])
        #expect(all.map(\.port) == [6701, 6701, 6702])
        #expect(
            all[2] == NimbusAPI.Sample(Self.sample(3, "split", task: 4), worker: Endpoint(host: "10.0.0.2", port: 6702))
        )
        #expect(rings.samples(of: "wc-1", component: "split").map(\.time) == [2, 3])
        #expect(rings.samples(of: "wc-1", component: "nope").isEmpty)

        let many = (0..<(SampleRings.capacity + 20)).map { Self.sample(Double(100 + $0), "count") }
        rings.add(Self.report("s1", port: 6701, topology: "wc-1", samples: many))
        let counts = rings.samples(of: "wc-1", component: "count")
        #expect(counts.count == SampleRings.capacity)
        #expect(counts.first?.time == 120 && counts.last?.time == Double(100 + SampleRings.capacity + 19))

        rings.keep(only: ["other-1"])
        #expect(rings.samples(of: "wc-1", component: nil).isEmpty)
        #expect(rings.samples(of: "other-1", component: nil).count == 1)
    }

    @Test func theAPIBodiesHaveTheFieldsOfTheContract() throws {
        var controls = NimbusAPI.Controls()
        controls.setSampling(component: "split", percent: 2, until: nil)
        let body = NimbusAPI.SamplesResponse(
            controls: controls,
            samples: [NimbusAPI.Sample(Self.sample(1.5, "split"), worker: Endpoint(host: "h", port: 7))]
        )
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(body)) as? [String: Any])
        let sample = try #require((object["samples"] as? [[String: Any]])?.first)
        #expect(Set(sample.keys) == ["time", "component", "task", "stream", "values", "host", "port"])
        let controlsObject = try #require(object["controls"] as? [String: Any])
        #expect(Set(controlsObject.keys) == ["logLevels", "sampling"])
        let request = try JSONDecoder().decode(
            NimbusAPI.LogLevelRequest.self,
            from: Data(#"{"component":null,"level":"debug","seconds":5}"#.utf8)
        )
        #expect(request.component == nil && request.level == "debug" && request.seconds == 5)
    }
}
