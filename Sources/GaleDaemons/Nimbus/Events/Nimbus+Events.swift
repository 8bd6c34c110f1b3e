import Foundation
import Gale
import GaleCoordination
import Logging
import ServiceLifecycle
import Synchronization

extension Nimbus {
    /// The services that post events to the webhooks, in start order: `webhooks` (the
    /// ``WebhookDelivery``) and `events` (a detector pass every
    /// ``NimbusEventOptions/interval``, leader only); none without webhooks. Neither the API
    /// nor the scheduler waits for them: a pass hands its events to the delivery's queues and
    /// returns.
    func eventServices(identity: String) -> [any Service] {
        let events = options.events
        guard !events.webhooks.isEmpty else { return [] }
        let ui = events.uiURL ?? "\(options.tls == nil ? "http" : "https")://\(identity)"
        let delivery = WebhookDelivery(targets: events.webhooks, settings: events.delivery, logger: logger)
        let state = EventPassState()
        let pass = PeriodicService("events", every: events.interval) { [self] in
            guard isLeader else {
                // A new leadership starts from a new baseline.
                state.detector.withLock { $0 = nil }
                return
            }
            let snapshot: EventSnapshot
            do {
                snapshot = try eventSnapshot()
            } catch {
                logger.debug("event pass skipped: \(error)")
                return
            }
            let (found, baseline) = state.detector.withLock { detector -> ([NimbusEvent], Bool) in
                var current =
                    detector
                    ?? EventDetector(
                        thresholds: events.thresholds,
                        uiURL: ui,
                        announceSubmittedSince: leaderSince?.timeIntervalSince1970
                    )
                defer { detector = current }
                return (current.observe(snapshot), detector == nil)
            }
            if baseline {
                let n = snapshot.topologies.count
                logger.info(
                    "events: watching \(n) topolog\(n == 1 ? "y" : "ies") and \(snapshot.supervisors.count) supervisor(s)"
                )
            }
            for event in found {
                logger.info("event \(event.event.rawValue) \(event.state.rawValue): \(event.message)")
            }
            if !found.isEmpty { delivery.enqueue(found) }
        }
        logger.info(
            "posting events to \(events.webhooks.map { "\($0.name) (\($0.format.rawValue), \($0.redacted))" }.joined(separator: ", ")); links to \(ui)"
        )
        return [delivery, pass]
    }

    /// What the leader sees now, for the ``EventDetector``.
    func eventSnapshot() throws(ZooKeeperError) -> EventSnapshot {
        let now = Date()
        let records = try topologies()
        var assignments: [String: AssignmentRecord] = [:]
        for record in records { assignments[record.id] = try assignment(record.id) }
        let supervisors = try self.supervisors()
        let reports = self.reports()
        var views: [EventTopology] = []
        var components: [String: [ComponentSignals]] = [:]
        for record in records {
            let epoch = assignments[record.id]?.epoch
            var workers: [WorkerReport] = []
            for (report, at) in reports.values where now.timeIntervalSince(at) < 30 {
                workers += report.workers.filter { $0.topologyId == record.id && $0.epoch == epoch }
            }
            var problem = replication.missing(record.binaryDigest).map {
                "binary \(record.binaryDigest) is not on the leader nimbus \(identity): \($0)"
            }
            let stranded = workers.filter { $0.state == "no-binary" }.map(\.workerId).sorted()
            if problem == nil, !stranded.isEmpty {
                problem =
                    "\(stranded.count) worker(s) cannot get the binary from any nimbus: \(stranded.joined(separator: ", "))"
            }
            views.append(EventTopology(record, binaryProblem: problem))
            components[record.id] = Self.signals(workers.compactMap(\.stats))
        }
        return EventSnapshot(
            time: now.timeIntervalSince1970,
            topologies: views,
            assignments: assignments,
            supervisors: supervisors,
            reports: reports.mapValues { ReceivedReport($0.report, at: $0.at.timeIntervalSince1970) },
            components: components
        )
    }

    /// Each component's signals from its workers' statistics: overloaded when any worker's
    /// share is, the status tables of all.
    static func signals(_ parts: [TopologyStats]) -> [ComponentSignals] {
        var overloaded: [String: [Bool]] = [:]
        var tables: [String: [(name: String, columns: [String], rows: [[String]])]] = [:]
        for stats in parts {
            for component in stats.components {
                overloaded[component.id, default: []].append(component.overloaded ?? false)
                for table in component.tables ?? [] {
                    tables[component.id, default: []].append((table.name, table.columns, table.rows))
                }
            }
        }
        return overloaded.keys.sorted().map { id in
            ComponentSignals.merged(id: id, overloaded: overloaded[id] ?? [], tables: tables[id] ?? [])
        }
    }
}

/// The detector of the `events` service, kept between its passes.
final class EventPassState: Sendable {
    let detector = Mutex<EventDetector?>(nil)
}
