import Foundation
import Gale
import GaleCoordination
import Testing

@testable import GaleDaemons

/// The event detector as a state machine: snapshots and times in, events out.
@Suite struct WebhookDetectorTests {
    static let ui = "https://gale.example.com"

    static func detector(_ thresholds: EventThresholds = EventThresholds()) -> EventDetector {
        EventDetector(thresholds: thresholds, uiURL: ui + "/")
    }

    static func topology(
        _ name: String = "orders",
        status: TopologyStatus = .active,
        workers: Int = 2,
        parallelism: [String: Int] = [:],
        binaryProblem: String? = nil
    ) -> EventTopology {
        EventTopology(
            id: "\(name)-1",
            name: name,
            status: status,
            workers: workers,
            parallelism: parallelism,
            submittedAt: 1000,
            owner: "alice",
            binaryProblem: binaryProblem
        )
    }

    static func worker(
        _ topology: String = "orders-1",
        port: Int = 6700,
        epoch: Int = 1,
        restarts: Int,
        lastExit: String? = "killed by signal 9"
    ) -> WorkerReport {
        WorkerReport(
            workerId: "\(topology)-\(port)",
            topologyId: topology,
            epoch: epoch,
            endpoint: Endpoint(host: "10.0.0.5", port: port),
            pid: 42,
            state: "running",
            restarts: restarts,
            lastExit: lastExit,
            uptimeSeconds: 1,
            heartbeatAgeSeconds: 0.5,
            stats: nil
        )
    }

    static func report(_ supervisor: String = "s1", at: Double, workers: [WorkerReport]) -> [String: ReceivedReport] {
        [
            supervisor: ReceivedReport(
                SupervisorReport(
                    supervisorId: supervisor,
                    host: "10.0.0.5",
                    slots: [6700, 6701],
                    uptimeSeconds: 10,
                    workers: workers,
                    errors: []
                ),
                at: at
            )
        ]
    }

    static func supervisor(_ id: String = "s1") -> SupervisorRecord {
        SupervisorRecord(id: id, host: "10.0.0.5", slots: [6700, 6701], startedAt: 0)
    }

    static func assignment(_ topology: String = "orders-1", supervisor: String = "s1") -> [String: AssignmentRecord] {
        [
            topology: AssignmentRecord(
                topologyId: topology,
                epoch: 1,
                workers: [
                    WorkerAssignment(
                        supervisorId: supervisor,
                        endpoint: Endpoint(host: "10.0.0.5", port: 6700),
                        tasks: [1]
                    )
                ]
            )
        ]
    }

    // MARK: - Notices

    @Test func theFirstSnapshotIsTheBaselineThenSubmittedKilledAndRebalancedAreNoticedOnce() {
        var d = Self.detector()
        #expect(d.observe(EventSnapshot(time: 2000, topologies: [Self.topology("old")])).isEmpty)

        let submitted = d.observe(EventSnapshot(time: 2002, topologies: [Self.topology("old"), Self.topology()]))
        #expect(submitted.count == 1)
        let event = submitted.first
        #expect(event?.event == .topologySubmitted)
        #expect(event?.severity == .info)
        #expect(event?.state == .firing)
        #expect(event?.topology == "orders" && event?.topologyId == "orders-1")
        #expect(event?.since == 1000)
        #expect(event?.time == 2002)
        #expect(event?.url == "https://gale.example.com/#/topology/orders")
        #expect(event?.message == "topology orders (orders-1) submitted by alice: 2 workers")
        #expect(d.observe(EventSnapshot(time: 2004, topologies: [Self.topology("old"), Self.topology()])).isEmpty)

        let rebalanced = d.observe(
            EventSnapshot(
                time: 2006,
                topologies: [Self.topology("old"), Self.topology(workers: 3, parallelism: ["split": 4])]
            )
        )
        #expect(rebalanced.map(\.event) == [.topologyRebalanced])
        #expect(
            rebalanced.first?.message
                == "topology orders (orders-1) rebalanced: workers 2 → 3, split tasks as built → 4"
        )
        #expect(rebalanced.first?.since == 2006)

        let killed = d.observe(
            EventSnapshot(
                time: 2008,
                topologies: [
                    Self.topology("old"), Self.topology(status: .killed, workers: 3, parallelism: ["split": 4]),
                ]
            )
        )
        #expect(killed.map(\.event) == [.topologyKilled])
        #expect(killed.first?.message == "topology orders (orders-1) killed")
        // Its removal after the kill's wait is not a second kill.
        #expect(d.observe(EventSnapshot(time: 2010, topologies: [Self.topology("old")])).isEmpty)
        // A topology that disappears without being seen killed was removed.
        let removed = d.observe(EventSnapshot(time: 2012, topologies: []))
        #expect(removed.map(\.event) == [.topologyKilled])
        #expect(removed.first?.message == "topology old (old-1) removed")
        #expect(Set([event?.key, rebalanced.first?.key, killed.first?.key]).count == 3, "each notice has its own key")
    }

    @Test func theBaselineAnnouncesWhatThisLeaderAcceptedBeforeItsFirstPass() {
        var d = EventDetector(uiURL: Self.ui, announceSubmittedSince: 1000)
        var older = Self.topology("older")
        older.submittedAt = 999
        let events = d.observe(EventSnapshot(time: 1001, topologies: [older, Self.topology()]))
        #expect(events.map(\.event) == [.topologySubmitted])
        #expect(events.first?.topology == "orders" && events.first?.since == 1000)
        #expect(d.observe(EventSnapshot(time: 1003, topologies: [older, Self.topology()])).isEmpty)
    }

    @Test func noticesNeverResolve() {
        var d = Self.detector()
        _ = d.observe(EventSnapshot(time: 0))
        _ = d.observe(EventSnapshot(time: 1, topologies: [Self.topology()]))
        #expect(d.firingKeys.isEmpty)
        #expect(d.observe(EventSnapshot(time: 2, topologies: [])).allSatisfy { $0.state == .firing })
    }

    // MARK: - Crash loops

    @Test func aWorkerRestartingThresholdTimesWithinTheWindowFiresOnceAndResolvesAfterAQuietWindow() {
        var d = Self.detector(EventThresholds(crashLoopRestarts: 3, crashLoopWindowSeconds: 60))
        let t = [Self.topology()]
        func pass(_ time: Double, _ restarts: Int) -> [NimbusEvent] {
            d.observe(
                EventSnapshot(
                    time: time,
                    topologies: t,
                    reports: Self.report(at: time, workers: [Self.worker(restarts: restarts)])
                )
            )
        }
        #expect(pass(0, 0).isEmpty)
        #expect(pass(2, 1).isEmpty)
        #expect(pass(4, 2).isEmpty)
        let fired = pass(6, 3)
        #expect(fired.count == 1)
        let event = fired.first
        #expect(event?.event == .workerCrashLoop && event?.state == .firing && event?.severity == .critical)
        #expect(event?.worker == "10.0.0.5:6700" && event?.supervisor == "s1" && event?.topology == "orders")
        #expect(event?.key == "worker-crash-loop/orders-1/10.0.0.5:6700")
        #expect(event?.since == 2, "since the first restart of the window")
        #expect(
            event?.message
                == "worker 10.0.0.5:6700 of orders restarted 3 times in the last 60 s (supervisor s1; last exit: killed by signal 9)"
        )
        // Rate limited: more restarts while it fires post nothing.
        #expect(pass(8, 4).isEmpty)
        #expect(pass(20, 5).isEmpty)
        // Still restarts within the window: holds.
        #expect(pass(70, 5).isEmpty)
        // A whole window without a restart: resolved, same key and since.
        let resolved = pass(82, 5)
        #expect(resolved.count == 1)
        #expect(resolved.first?.state == .resolved)
        #expect(resolved.first?.key == event?.key)
        #expect(resolved.first?.since == 2)
        #expect(resolved.first?.time == 82)
        #expect(resolved.first?.message.hasPrefix("worker 10.0.0.5:6700 of orders has not restarted for 60 s") == true)
        #expect(d.firingKeys.isEmpty)
        // It can fire again.
        #expect(pass(84, 6).isEmpty)
        #expect(pass(86, 7).isEmpty)
        #expect(pass(88, 8).map(\.state) == [.firing])
    }

    @Test func restartsSpreadWiderThanTheWindowNeverFire() {
        var d = Self.detector(EventThresholds(crashLoopRestarts: 3, crashLoopWindowSeconds: 60))
        for (i, time) in stride(from: 0.0, through: 600, by: 2).enumerated() {
            // One restart every 40 s: at most 2 within any 60 s.
            let restarts = Int(time / 40)
            let events = d.observe(
                EventSnapshot(
                    time: time,
                    topologies: [Self.topology()],
                    reports: Self.report(at: time, workers: [Self.worker(restarts: restarts)])
                )
            )
            #expect(events.isEmpty, "pass \(i)")
        }
    }

    @Test func aNewEpochOrALowerCountStartsTheHistoryAgain() {
        var d = Self.detector(EventThresholds(crashLoopRestarts: 3, crashLoopWindowSeconds: 60))
        let t = [Self.topology()]
        func pass(_ time: Double, _ restarts: Int, epoch: Int) -> [NimbusEvent] {
            d.observe(
                EventSnapshot(
                    time: time,
                    topologies: t,
                    reports: Self.report(at: time, workers: [Self.worker(epoch: epoch, restarts: restarts)])
                )
            )
        }
        #expect(pass(0, 0, epoch: 1).isEmpty)
        #expect(pass(2, 2, epoch: 1).isEmpty)
        // A rebalance: the supervisor counts from 0 for the new epoch.
        #expect(pass(4, 1, epoch: 2).isEmpty)
        #expect(pass(6, 2, epoch: 2).isEmpty)
        // A supervisor restart (the count falls back).
        #expect(pass(8, 0, epoch: 2).isEmpty)
        #expect(pass(10, 2, epoch: 2).isEmpty)
        #expect(pass(12, 3, epoch: 2).map(\.event) == [.workerCrashLoop])
    }

    @Test func staleReportsAndKilledTopologiesAreNotWatchedAndAKillResolves() {
        var d = Self.detector(EventThresholds(crashLoopRestarts: 1, crashLoopWindowSeconds: 60))
        _ = d.observe(
            EventSnapshot(
                time: 0,
                topologies: [Self.topology()],
                reports: Self.report(at: 0, workers: [Self.worker(restarts: 0)])
            )
        )
        // A report older than the supervisor timeout says nothing.
        #expect(
            d.observe(
                EventSnapshot(
                    time: 100,
                    topologies: [Self.topology()],
                    reports: Self.report(at: 50, workers: [Self.worker(restarts: 5)])
                )
            ).isEmpty
        )
        #expect(
            d.observe(
                EventSnapshot(
                    time: 102,
                    topologies: [Self.topology()],
                    reports: Self.report(at: 102, workers: [Self.worker(restarts: 0)])
                )
            ).isEmpty
        )
        let fired = d.observe(
            EventSnapshot(
                time: 104,
                topologies: [Self.topology()],
                reports: Self.report(at: 104, workers: [Self.worker(restarts: 1)])
            )
        )
        #expect(fired.map(\.event) == [.workerCrashLoop])
        let killed = d.observe(
            EventSnapshot(
                time: 106,
                topologies: [Self.topology(status: .killed)],
                reports: Self.report(at: 106, workers: [Self.worker(restarts: 2)])
            )
        )
        #expect(killed.map(\.event) == [.topologyKilled, .workerCrashLoop])
        #expect(killed.last?.state == .resolved)
        #expect(killed.last?.message.hasPrefix("topology orders was killed") == true)
    }

    // MARK: - Rate limiting

    @Test func aConditionStillFiringIsPostedAgainEveryRenotifyIntervalAsAReminder() {
        var d = Self.detector(EventThresholds(crashLoopRestarts: 1, crashLoopWindowSeconds: 1000, renotifySeconds: 30))
        func pass(_ time: Double, _ restarts: Int) -> [NimbusEvent] {
            d.observe(
                EventSnapshot(
                    time: time,
                    topologies: [Self.topology()],
                    reports: Self.report(at: time, workers: [Self.worker(restarts: restarts)])
                )
            )
        }
        _ = pass(0, 0)
        let first = pass(2, 1)
        #expect(first.first?.reminder == nil)
        var reminders: [NimbusEvent] = []
        for time in stride(from: 4.0, through: 100, by: 2) { reminders += pass(time, 1) }
        #expect(reminders.map(\.time) == [32, 62, 92])
        #expect(reminders.allSatisfy { $0.reminder == true && $0.state == .firing && $0.key == first.first?.key })
        #expect(reminders.allSatisfy { $0.since == first.first?.since })
    }

    // MARK: - Supervisors

    @Test func aSupervisorWhoseNodeGoesAwayWhileItHasWorkersIsLostUntilItIsBack() {
        var d = Self.detector()
        let t = [Self.topology()]
        func pass(_ time: Double, registered: Bool) -> [NimbusEvent] {
            d.observe(
                EventSnapshot(
                    time: time,
                    topologies: t,
                    assignments: Self.assignment(),
                    supervisors: registered ? [Self.supervisor()] : [],
                    reports: Self.report(at: time, workers: [Self.worker(restarts: 0)])
                )
            )
        }
        #expect(pass(0, registered: true).isEmpty)
        let lost = pass(2, registered: false)
        #expect(lost.count == 1)
        #expect(lost.first?.event == .supervisorLost && lost.first?.severity == .critical)
        #expect(lost.first?.supervisor == "s1" && lost.first?.topology == nil)
        #expect(lost.first?.message == "supervisor s1 (10.0.0.5) is gone from ZooKeeper while it ran workers of orders")
        #expect(lost.first?.url == "https://gale.example.com/")
        #expect(lost.first?.since == 2)
        #expect(pass(4, registered: false).isEmpty)
        let back = pass(6, registered: true)
        #expect(back.map(\.state) == [.resolved])
        #expect(back.first?.message.hasPrefix("supervisor s1 (10.0.0.5) is registered and reporting") == true)
    }

    @Test func aSupervisorWithoutWorkersGoingAwayIsNoEvent() {
        var d = Self.detector()
        #expect(d.observe(EventSnapshot(time: 0, supervisors: [Self.supervisor()])).isEmpty)
        #expect(d.observe(EventSnapshot(time: 2, supervisors: [])).isEmpty)
        #expect(d.observe(EventSnapshot(time: 4, supervisors: [Self.supervisor()])).isEmpty)
    }

    @Test func aRegisteredSupervisorWhoseReportsStopIsLostAfterTheTimeout() {
        var d = Self.detector(EventThresholds(supervisorTimeoutSeconds: 30))
        func pass(_ time: Double, reportAt: Double?) -> [NimbusEvent] {
            d.observe(
                EventSnapshot(
                    time: time,
                    supervisors: [Self.supervisor()],
                    reports: reportAt.map { Self.report(at: $0, workers: []) } ?? [:]
                )
            )
        }
        // None since this detector started: counted from then.
        #expect(pass(100, reportAt: nil).isEmpty)
        #expect(pass(130, reportAt: nil).isEmpty)
        let silent = pass(131, reportAt: nil)
        #expect(silent.map(\.event) == [.supervisorLost])
        #expect(silent.first?.since == 100)
        #expect(pass(140, reportAt: 139).map(\.state) == [.resolved])
        #expect(pass(169, reportAt: 139).isEmpty)
        let again = pass(170, reportAt: 139)
        #expect(again.first?.message == "supervisor s1 (10.0.0.5) has sent no report for 31 s")
        #expect(again.first?.since == 139)
    }

    // MARK: - Binaries

    @Test func aMissingBinaryIsPostedWhenItLastsAndResolvedWhenItIsBack() {
        var d = Self.detector(EventThresholds(binaryMissingSeconds: 10))
        let missing = [Self.topology(binaryProblem: "2 worker(s) cannot get the binary from any nimbus: a, b")]
        #expect(d.observe(EventSnapshot(time: 0, topologies: missing)).isEmpty)
        #expect(d.observe(EventSnapshot(time: 8, topologies: missing)).isEmpty)
        let fired = d.observe(EventSnapshot(time: 10, topologies: missing))
        #expect(fired.map(\.event) == [.binaryMissing])
        #expect(fired.first?.since == 0)
        #expect(fired.first?.message == "topology orders: 2 worker(s) cannot get the binary from any nimbus: a, b")
        #expect(d.observe(EventSnapshot(time: 12, topologies: missing)).isEmpty)
        let back = d.observe(EventSnapshot(time: 14, topologies: [Self.topology()]))
        #expect(back.map(\.state) == [.resolved])
        #expect(back.first?.message.hasPrefix("the binary of topology orders is available (firing for 14 s") == true)
        // A short blip is never posted.
        #expect(d.observe(EventSnapshot(time: 16, topologies: missing)).isEmpty)
        #expect(d.observe(EventSnapshot(time: 18, topologies: [Self.topology()])).isEmpty)
        #expect(d.observe(EventSnapshot(time: 26, topologies: missing)).isEmpty)
    }

    // MARK: - Kafka partitions

    static func partition(
        _ number: Int = 3,
        lag: Int64,
        age: Double,
        why: String? = "offset 41 pending (never acked)"
    )
        -> ComponentSignals
    {
        ComponentSignals(
            id: "reader",
            partitions: [
                PartitionStatus(
                    topic: "orders",
                    partition: number,
                    task: 2,
                    committed: 41,
                    lag: lag,
                    committedAgeSeconds: age,
                    notCommittingBecause: why
                )
            ]
        )
    }

    @Test func aPartitionWithALagNotCommittingForTheThresholdIsStuckUntilItCommitsOrCatchesUp() {
        var d = Self.detector(EventThresholds(partitionStuckSeconds: 120))
        let t = [Self.topology()]
        func pass(_ time: Double, _ c: [ComponentSignals]) -> [NimbusEvent] {
            d.observe(EventSnapshot(time: time, topologies: t, components: ["orders-1": c]))
        }
        #expect(pass(0, [Self.partition(lag: 10, age: 100)]).isEmpty)
        // Not committing but nothing to commit: not stuck.
        #expect(pass(10, [Self.partition(lag: 0, age: 500)]).isEmpty)
        let stuck = pass(20, [Self.partition(lag: 10, age: 120)])
        #expect(stuck.count == 1)
        let event = stuck.first
        #expect(event?.event == .partitionStuck && event?.severity == .warning)
        #expect(event?.topic == "orders" && event?.partition == 3 && event?.component == "reader")
        #expect(event?.key == "partition-stuck/orders-1/reader/orders/3")
        #expect(event?.since == -100)
        #expect(
            event?.message
                == "partition orders/3 of orders (spout reader, task 2, lag 10) has not committed for 2 min at offset 41: "
                + "offset 41 pending (never acked)"
        )
        #expect(pass(22, [Self.partition(lag: 12, age: 122)]).isEmpty)
        // The row missing (the spout's worker restarting) changes nothing.
        #expect(pass(24, [ComponentSignals(id: "reader")]).isEmpty)
        #expect(pass(26, []).isEmpty)
        let committed = pass(28, [Self.partition(lag: 12, age: 1, why: nil)])
        #expect(committed.map(\.state) == [.resolved])
        #expect(committed.first?.message.hasPrefix("partition orders/3 of orders commits again") == true)
        #expect(pass(30, [Self.partition(lag: 12, age: 200)]).map(\.state) == [.firing])
        let caughtUp = pass(32, [Self.partition(lag: 0, age: 202)])
        #expect(caughtUp.first?.message.hasPrefix("partition orders/3 of orders caught up (lag 0)") == true)
    }

    @Test func aDeactivatedTopologysStuckPartitionResolves() {
        var d = Self.detector(EventThresholds(partitionStuckSeconds: 60))
        _ = d.observe(
            EventSnapshot(
                time: 0,
                topologies: [Self.topology()],
                components: ["orders-1": [Self.partition(lag: 1, age: 60)]]
            )
        )
        #expect(d.firingKeys == ["partition-stuck/orders-1/reader/orders/3"])
        let events = d.observe(
            EventSnapshot(
                time: 2,
                topologies: [Self.topology(status: .inactive)],
                components: ["orders-1": [Self.partition(lag: 1, age: 62)]]
            )
        )
        #expect(events.map(\.state) == [.resolved])
        #expect(events.first?.message.hasPrefix("topology orders is deactivated") == true)
    }

    // MARK: - Backpressure

    @Test func backpressureFiresAfterTheThresholdIgnoringShortBreaksAndResolvesAfterTheGap() {
        var d = Self.detector(EventThresholds(backpressureSeconds: 30, backpressureGapSeconds: 10))
        func pass(_ time: Double, _ overloaded: Bool) -> [NimbusEvent] {
            d.observe(
                EventSnapshot(
                    time: time,
                    topologies: [Self.topology()],
                    components: ["orders-1": [ComponentSignals(id: "count", overloaded: overloaded)]]
                )
            )
        }
        #expect(pass(0, true).isEmpty)
        #expect(pass(10, true).isEmpty)
        // Breaks shorter than the gap (the queue between its watermarks) are one episode.
        #expect(pass(14, false).isEmpty)
        #expect(pass(18, true).isEmpty)
        #expect(pass(26, false).isEmpty)
        #expect(pass(28, true).isEmpty)
        let fired = pass(30, true)
        #expect(fired.count == 1)
        #expect(fired.first?.event == .backpressure && fired.first?.component == "count" && fired.first?.since == 0)
        #expect(
            fired.first?.message
                == "component count of orders has been overloaded (inbound queue above its high watermark, its producers "
                + "paused) for 30 s"
        )
        #expect(pass(36, false).isEmpty)
        let resolved = pass(41, false)
        #expect(resolved.map(\.state) == [.resolved])
        #expect(resolved.first?.message.hasPrefix("component count of orders has not been overloaded for 10 s") == true)
        // A new episode starts the count again.
        #expect(pass(50, true).isEmpty)
        #expect(pass(60, true).isEmpty)
        #expect(pass(70, true).isEmpty)
        #expect(pass(80, true).map(\.state) == [.firing])
    }

    @Test func anEpisodeShorterThanTheThresholdIsNeverPosted() {
        var d = Self.detector(EventThresholds(backpressureSeconds: 30, backpressureGapSeconds: 10))
        for (time, overloaded) in [
            (0.0, true), (8, true), (16, true), (24, true), (35, false), (40, true), (48, true), (56, true), (64, true),
            (75, false),
        ] {
            let events = d.observe(
                EventSnapshot(
                    time: time,
                    topologies: [Self.topology()],
                    components: ["orders-1": [ComponentSignals(id: "count", overloaded: overloaded)]]
                )
            )
            #expect(events.isEmpty, "at \(time)")
        }
    }

    // MARK: - Transactional batches

    @Test func batchesReplayedRepeatedlyFireAndResolveAfterAQuietWindow() {
        var d = Self.detector(EventThresholds(batchReplays: 3, batchWindowSeconds: 60))
        func pass(_ time: Double, _ replays: Int, txid: Int64) -> [NimbusEvent] {
            d.observe(
                EventSnapshot(
                    time: time,
                    topologies: [Self.topology()],
                    components: [
                        "orders-1": [
                            ComponentSignals(
                                id: "$coordinator",
                                transactional: TransactionalStatus(
                                    committedTxid: txid,
                                    replays: replays,
                                    lastFailure: "txid 8: commit failed: state store unavailable"
                                )
                            )
                        ]
                    ]
                )
            )
        }
        #expect(pass(0, 0, txid: 7).isEmpty)
        #expect(pass(10, 2, txid: 7).isEmpty)
        let fired = pass(20, 3, txid: 7)
        #expect(fired.map(\.event) == [.batchFailing])
        #expect(
            fired.first?.severity == .critical && fired.first?.component == "$coordinator" && fired.first?.since == 10
        )
        #expect(
            fired.first?.message
                == "transactional batches of orders were replayed 3 times in the last 60 s ($coordinator; last committed "
                + "txid 7; last failure: txid 8: commit failed: state store unavailable)"
        )
        #expect(pass(50, 3, txid: 9).isEmpty)
        #expect(pass(78, 3, txid: 12).isEmpty)
        #expect(pass(82, 3, txid: 14).map(\.state) == [.resolved])
    }

    // MARK: - Status tables

    @Test func kafkaPartitionTablesAreReadByColumnName() {
        let columns = [
            "task", "topic", "partition", "committed", "position", "highWatermark", "lag", "pending", "oldestPending",
            "oldestPendingState", "retries", "paused", "notCommittingBecause", "committedAgeSeconds",
        ]
        let rows = [
            ["1", "orders", "0", "100", "120", "130", "30", "2", "100", "pending", "0", "false", "", "0.5"],
            [
                "2", "orders", "1", "41", "90", "90", "49", "49", "41", "never acked", "0", "false",
                "offset 41 pending", "301",
            ],
            ["3", "orders", "x", "1", "1", "1", "1", "0", "", "", "0", "false", "", "1"],
            ["4", "orders", "1", "41", "90", "90", "49", "0", "", "", "0", "false", "", "2"],
        ]
        let parsed = PartitionStatus.parse(columns: columns, rows: rows)
        #expect(parsed.count == 3, "a row without a partition number is skipped")
        #expect(
            parsed.first
                == PartitionStatus(
                    topic: "orders",
                    partition: 0,
                    task: 1,
                    committed: 100,
                    lag: 30,
                    committedAgeSeconds: 0.5
                )
        )
        #expect(parsed[1].notCommittingBecause == "offset 41 pending" && parsed[1].committedAgeSeconds == 301)
        // Two tasks listing one partition (a reassignment): the freshest commit counts.
        let merged = ComponentSignals.merged(
            id: "reader",
            overloaded: [false, true],
            tables: [
                (name: "kafka-partitions", columns: columns, rows: rows),
                (
                    name: "transactional",
                    columns: ["committedTxid", "openBatches", "commitP50Ms", "commitP99Ms", "replays", "lastFailure"],
                    rows: [["12", "2", "3.5", "9", "4", "boom"]]
                ),
                (name: "something-else", columns: ["a"], rows: [["b"]]),
            ]
        )
        #expect(merged.overloaded)
        #expect(merged.partitions.map(\.partition) == [0, 1])
        #expect(merged.partitions[1].task == 4 && merged.partitions[1].committedAgeSeconds == 2)
        #expect(merged.transactional == TransactionalStatus(committedTxid: 12, replays: 4, lastFailure: "boom"))
        // Columns in another order, some missing: still read by name.
        let other = PartitionStatus.parse(columns: ["lag", "partition", "topic"], rows: [["5", "2", "t"]])
        #expect(other == [PartitionStatus(topic: "t", partition: 2, lag: 5, committedAgeSeconds: 0)])
    }
}

/// What nimbus hands the detector from its workers' statistics.
@Suite struct WebhookSignalsTests {
    @Test func componentsAreOverloadedWhenAnyWorkerSaysSoAndTheirTablesAreJoined() {
        func stats(_ overloaded: Bool?, rows: [[String]]) -> TopologyStats {
            var spout = ComponentStats(id: "records", kind: "spout", tasks: 1, queueCapacity: 1024)
            spout.tables =
                rows.isEmpty
                ? nil
                : [
                    StatusTable(
                        name: "kafka-partitions",
                        columns: ["topic", "partition", "lag", "committedAgeSeconds"],
                        rows: rows
                    )
                ]
            var bolt = ComponentStats(id: "hold", kind: "bolt", tasks: 1, queueCapacity: 1024)
            bolt.overloaded = overloaded
            return TopologyStats(name: "t", uptimeSeconds: 1, components: [spout, bolt])
        }
        let signals = Nimbus.signals([
            stats(false, rows: [["in", "0", "5", "400"]]), stats(true, rows: [["in", "1", "0", "1"]]),
        ])
        #expect(signals.map(\.id) == ["hold", "records"])
        #expect(signals[0].overloaded && !signals[1].overloaded)
        #expect(signals[1].partitions.map(\.partition) == [0, 1])
        #expect(signals[1].partitions.first?.lag == 5 && signals[1].partitions.first?.committedAgeSeconds == 400)
        #expect(Nimbus.signals([stats(nil, rows: [])]).allSatisfy { !$0.overloaded && $0.partitions.isEmpty })
    }
}
