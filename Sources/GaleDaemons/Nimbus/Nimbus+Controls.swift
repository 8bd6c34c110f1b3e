import Foundation
import Gale
package import GaleCoordination
import Logging
import Synchronization

/// The samples supervisors' reports brought, per topology and component: a bounded ring each
/// (``capacity`` newest), in memory like the reports.
package final class SampleRings: Sendable {
    /// Samples kept per topology and component.
    package static let capacity = 500

    private let rings = Mutex([String: [String: [NimbusAPI.Sample]]]())

    package init() {}

    /// Files the samples of every worker of `report`.
    package func add(_ report: SupervisorReport) {
        let arrivals = report.workers.filter { !($0.samples ?? []).isEmpty }
        guard !arrivals.isEmpty else { return }
        rings.withLock { rings in
            for worker in arrivals {
                for sample in worker.samples ?? [] {
                    rings[worker.topologyId, default: [:]][sample.component, default: []]
                        .append(NimbusAPI.Sample(sample, worker: worker.endpoint))
                }
            }
            for (topology, byComponent) in rings {
                for (component, samples) in byComponent where samples.count > Self.capacity {
                    rings[topology]?[component]?.removeFirst(samples.count - Self.capacity)
                }
            }
        }
    }

    /// The samples of `topologyId` (of `component` only, when given), oldest first.
    package func samples(of topologyId: String, component: String?) -> [NimbusAPI.Sample] {
        rings.withLock { rings in
            let byComponent = rings[topologyId] ?? [:]
            let chosen = component.map { [byComponent[$0] ?? []] } ?? Array(byComponent.values)
            return chosen.flatMap { $0 }.sorted { ($0.time, $0.component, $0.task) < ($1.time, $1.component, $1.task) }
        }
    }

    /// Forgets the samples of topologies not in `live` (killed and removed).
    package func keep(only live: Set<String>) {
        rings.withLock { rings in
            for id in rings.keys where !live.contains(id) { rings[id] = nil }
        }
    }
}

extension Nimbus {
    /// `POST .../log-level`: sets (or with `reset` removes) the level of `name`'s workers'
    /// loggers, every logger or a component's.
    func setLogLevel(_ name: String, _ request: NimbusAPI.LogLevelRequest) throws(NimbusAPIError) -> NimbusAPI.Controls
    {
        let record = try topology(named: name)
        let level: Logger.Level?
        if request.level == "reset" {
            level = nil
        } else if let known = Logger.Level(rawValue: request.level) {
            level = known
        } else {
            throw .badRequest(
                "unknown log level '\(request.level)': use one of \(TopologyControls.levelNames.joined(separator: ", ")) or reset"
            )
        }
        if let component = request.component { try checkComponent(component, of: record) }
        let until = try Self.until(request.seconds)
        let controls = try changeControls(of: record) { controls in
            controls.setLogLevel(component: request.component, level: level, until: until)
        }
        logger.info(
            "log level of \(record.id)\(request.component.map { " component \($0)" } ?? ""): \(request.level)\(request.seconds.map { " for \($0) s" } ?? "")"
        )
        return controls
    }

    /// `POST .../debug`: samples a share of a component's tuples, or stops (percent 0).
    func setSampling(_ name: String, _ request: NimbusAPI.DebugRequest) throws(NimbusAPIError) -> NimbusAPI.Controls {
        let record = try topology(named: name)
        try checkComponent(request.component, of: record)
        guard request.percent.isFinite, (0...100).contains(request.percent) else {
            throw .badRequest("percent must be between 0 and 100, got \(request.percent)")
        }
        let until = try Self.until(request.seconds)
        let controls = try changeControls(of: record) { controls in
            controls.setSampling(component: request.component, percent: request.percent, until: until)
        }
        logger.info(
            "sampling of \(record.id) component \(request.component): \(request.percent) %\(request.seconds.map { " for \($0) s" } ?? "")"
        )
        return controls
    }

    /// `GET .../samples`: the controls in force and the samples held.
    func samples(_ name: String, component: String?) throws(NimbusAPIError) -> NimbusAPI.SamplesResponse {
        let record = try topology(named: name)
        if let component { try checkComponent(component, of: record) }
        let controls = try readControls(of: record.id).active(at: Date().timeIntervalSince1970)
        return NimbusAPI.SamplesResponse(
            controls: controls,
            samples: sampleRings.samples(of: record.id, component: component)
        )
    }

    /// Removes the controls and forgets the samples of topologies that are gone (`live`: the ids
    /// of those in ZooKeeper); part of the leader's reconcile pass.
    func removeControls(keeping live: Set<String>) throws(ZooKeeperError) {
        sampleRings.keep(only: live)
        for id in try zk.children(ClusterPaths.controls) where !live.contains(id) {
            // Submitted since `live` was read: not gone.
            if try zk.exists(ClusterPaths.topology(id)) != nil { continue }
            do {
                try zk.delete(ClusterPaths.controls(id))
                logger.info("removed the controls of \(id), which is gone")
            } catch .noNode {
                continue
            }
        }
    }

    private func checkComponent(_ component: String, of record: TopologyRecord) throws(NimbusAPIError) {
        let known = record.description.components.map(\.id)
        guard known.contains(component) else {
            throw .badRequest(
                "topology '\(record.name)' has no component '\(component)'; its components are \(known.joined(separator: ", "))"
            )
        }
    }

    /// Seconds since 1970 `seconds` from now; `nil` for `nil`.
    private static func until(_ seconds: Double?) throws(NimbusAPIError) -> Double? {
        guard let seconds else { return nil }
        guard seconds.isFinite, seconds > 0 else {
            throw .badRequest("seconds must be a positive number, got \(seconds)")
        }
        return Date().timeIntervalSince1970 + seconds
    }

    /// The controls of `topologyId` as ZooKeeper holds them (none when the node is absent or
    /// unreadable).
    func readControls(of topologyId: String) throws(NimbusAPIError) -> TopologyControls {
        do {
            let bytes = try zk.get(ClusterPaths.controls(topologyId)).data
            return (try? ClusterJSON.decode(ControlsRecord.self, from: bytes))?.controls ?? TopologyControls()
        } catch .noNode {
            return TopologyControls()
        } catch {
            throw .unavailable("ZooKeeper: \(error)")
        }
    }

    /// Applies `change` to the controls of `record` in force now (expired entries dropped) and
    /// writes them, retrying when another nimbus call wrote them meanwhile; returns them.
    private func changeControls(
        of record: TopologyRecord,
        _ change: (inout TopologyControls) -> Void
    ) throws(NimbusAPIError) -> TopologyControls {
        let path = ClusterPaths.controls(record.id)
        for _ in 0..<5 {
            let now = Date().timeIntervalSince1970
            var version: Int32?
            var controls = TopologyControls()
            do {
                let (bytes, stat) = try zk.get(path)
                version = stat.version
                controls = (try? ClusterJSON.decode(ControlsRecord.self, from: bytes))?.controls ?? TopologyControls()
            } catch .noNode {
                version = nil
            } catch {
                throw .unavailable("ZooKeeper: \(error)")
            }
            controls = controls.active(at: now)
            change(&controls)
            let bytes: [UInt8]
            do {
                bytes = try ClusterJSON.encode(ControlsRecord(topologyId: record.id, controls: controls))
            } catch {
                throw .badRequest("cannot encode the controls: \(error)")
            }
            do {
                if let version {
                    try zk.set(path, data: bytes, version: version)
                } else {
                    try zk.create(path, data: bytes)
                }
                return controls
            } catch .badVersion, .nodeExists, .noNode {
                continue
            } catch {
                throw .unavailable("ZooKeeper: \(error)")
            }
        }
        throw .conflict("the controls of '\(record.name)' changed five times while being written; try again")
    }
}
