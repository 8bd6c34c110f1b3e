import Foundation
import GaleDaemons
import Testing

@Suite struct SlotStateTests {
    typealias Action = SlotState.Action

    static let t0 = Date(timeIntervalSince1970: 1_000_000)

    static func launch(_ topology: String = "wc-1", epoch: Int = 1, port: Int = 6701) -> WorkerLaunch {
        let id = "\(topology)-\(port)"
        return WorkerLaunch(
            id: id,
            executable: "/data/topologies/abc/wc",
            arguments: ["worker", "--assignment", "/data/workers/\(id)/epoch-\(epoch).json"],
            environment: [:],
            workingDirectory: "/data/workers/\(id)",
            logFile: "/data/logs/\(id).log"
        )
    }

    static func assignment(_ topology: String = "wc-1", epoch: Int = 1) -> SlotState.Assignment {
        SlotState.Assignment(launch: launch(topology, epoch: epoch), epoch: epoch)
    }

    /// A slot running `assignment` as pid `pid` since `at`.
    static func running(
        _ assignment: SlotState.Assignment = assignment(),
        pid: Int32 = 100,
        at: Date = t0
    ) -> SlotState {
        var slot = SlotState(settings: .init())
        #expect(slot.handle(.assigned(assignment, binaryReady: true, at: at)) == [.spawn(assignment.launch)])
        _ = slot.handle(.spawned(pid: pid, startTicks: 7, at: at))
        return slot
    }

    static func spawns(_ actions: [Action]) -> [WorkerLaunch] {
        actions.compactMap { if case .spawn(let launch) = $0 { launch } else { nil } }
    }

    static func signals(_ actions: [Action]) -> [Int32] {
        actions.compactMap { if case .signal(_, let signal) = $0 { signal } else { nil } }
    }

    @Test func anAssignedWorkerWithItsBinaryStartsAndIsRecordedForAdoption() {
        var slot = SlotState(settings: .init())
        let a = Self.assignment()
        #expect(slot.handle(.assigned(a, binaryReady: true, at: Self.t0)) == [.spawn(a.launch)])
        #expect(slot.workerState(now: Self.t0) == "starting")
        let actions = slot.handle(.spawned(pid: 100, startTicks: 7, at: Self.t0))
        #expect(actions.first == .writeStateFile(a.launch, pid: 100, startTicks: 7))
        #expect(slot.assignedProcess?.pid == 100)
        #expect(slot.handle(.assigned(a, binaryReady: true, at: Self.t0 + 1)).isEmpty, "the same assignment again")
    }

    @Test func crashedWorkerRestartsAfterDelaysDoublingFromATenthOfASecondUpToTen() {
        var slot = Self.running()
        var now = Self.t0
        for (run, delay) in [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10, 10].enumerated() {
            now += 1
            #expect(Self.spawns(slot.handle(.exited("exited with status 1", at: now))).isEmpty)
            #expect(slot.lastExit == "exited with status 1")
            #expect(slot.workerState(now: now) == "failed")
            #expect(slot.handle(.tick(now + delay - 0.01)).isEmpty, "restart \(run + 1) waits \(delay) s")
            #expect(Self.spawns(slot.handle(.tick(now + delay))) == [Self.launch()])
            now += delay
            _ = slot.handle(.spawned(pid: 200 + Int32(run), startTicks: 9, at: now))
            #expect(slot.restarts == run + 1)
        }
    }

    @Test func backoffStartsOverOnceAWorkerRanThirtySeconds() {
        var slot = Self.running()
        var now = Self.t0
        for _ in 1...3 {
            now += 1
            _ = slot.handle(.exited("killed by signal 11", at: now))
            now += 5
            _ = slot.handle(.tick(now))
            _ = slot.handle(.spawned(pid: 300, startTicks: 9, at: now))
        }
        #expect(slot.failuresInRow == 3)
        now += 30
        _ = slot.handle(.exited("killed by signal 11", at: now))
        #expect(slot.failuresInRow == 1)
        #expect(slot.phase == .backingOff(Self.launch(), until: now + 0.1))
    }

    @Test func aSpawnThatFailsIsRetriedWithBackoff() {
        var slot = SlotState(settings: .init())
        _ = slot.handle(.assigned(Self.assignment(), binaryReady: true, at: Self.t0))
        _ = slot.handle(.spawnFailed("cannot start /x: not an executable file", at: Self.t0))
        #expect(slot.lastExit == "cannot start /x: not an executable file")
        #expect(slot.phase == .backingOff(Self.launch(), until: Self.t0 + 0.1))
        #expect(Self.spawns(slot.handle(.tick(Self.t0 + 0.1))) == [Self.launch()])
        _ = slot.handle(.spawnFailed("again", at: Self.t0 + 0.1))
        #expect(slot.failuresInRow == 2)
        #expect(slot.handle(.tick(Self.t0 + 0.29)).isEmpty, "0.2 s after the second failure")
        #expect(Self.spawns(slot.handle(.tick(Self.t0 + 0.31))) == [Self.launch()])
    }

    @Test func aWorkerSilentPastTheHeartbeatTimeoutIsKilledAndRestarted() {
        var slot = Self.running()
        _ = slot.handle(.heartbeat(at: Self.t0 + 5))
        #expect(slot.workerState(now: Self.t0 + 6) == "running")
        #expect(slot.handle(.tick(Self.t0 + 15)).isEmpty, "10 s since the last heartbeat")
        #expect(slot.workerState(now: Self.t0 + 15) == "stale")
        #expect(Self.signals(slot.handle(.tick(Self.t0 + 15.1))) == [SIGKILL])
        #expect(slot.handle(.tick(Self.t0 + 16)).isEmpty, "killed once")
        _ = slot.handle(.exited("killed by signal 9", at: Self.t0 + 16))
        #expect(Self.spawns(slot.handle(.tick(Self.t0 + 16.11))) == [Self.launch()])
        #expect(slot.restarts == 1)
    }

    @Test func aWorkerThatNeverHeartbeatsIsKilledTheTimeoutAfterItsStart() {
        var slot = Self.running()
        #expect(slot.handle(.tick(Self.t0 + 10)).isEmpty)
        #expect(Self.signals(slot.handle(.tick(Self.t0 + 10.05))) == [SIGKILL])
    }

    @Test func timeTheSupervisorItselfDidNotRunIsNotCountedAsSilence() {
        var slot = Self.running()
        _ = slot.handle(.tick(Self.t0 + 1))
        // Paused for 20 s between two ticks: the worker could not reach it.
        #expect(slot.handle(.tick(Self.t0 + 21)).isEmpty)
        for second in stride(from: 21.5, through: 30, by: 0.5) {
            #expect(slot.handle(.tick(Self.t0 + second)).isEmpty, "\(second)")
        }
        #expect(Self.signals(slot.handle(.tick(Self.t0 + 30.5))) == [SIGKILL], "silent over 10 s while it ran")
    }

    @Test func reassignmentToANewEpochStopsTheOldProcessThenStartsTheNewOne() {
        var slot = Self.running()
        let next = Self.assignment(epoch: 2)
        let stop = slot.handle(.assigned(next, binaryReady: true, at: Self.t0 + 60))
        #expect(stop == [.removeStateFile(workerId: "wc-1-6701"), .signal(pid: 100, signal: SIGTERM)])
        #expect(slot.workerState(now: Self.t0 + 60) == "starting")
        #expect(slot.handle(.tick(Self.t0 + 61)).isEmpty, "the new worker waits for the old one")
        let start = slot.handle(.exited("exited with status 0", at: Self.t0 + 61))
        #expect(Self.spawns(start) == [next.launch])
        #expect(!start.contains(.removeFiles(Self.launch())), "the same worker id keeps its directory")
        _ = slot.handle(.spawned(pid: 101, startTicks: 8, at: Self.t0 + 61))
        #expect(slot.assignedProcess?.launch == next.launch)
        #expect(slot.restarts == 0, "a new assignment is not a restart")
    }

    @Test func reassignmentToAnotherTopologyCleansTheOldWorkersFiles() {
        var slot = Self.running()
        let other = Self.assignment("other-3")
        _ = slot.handle(.assigned(other, binaryReady: true, at: Self.t0 + 60))
        let start = slot.handle(.exited("exited with status 0", at: Self.t0 + 61))
        #expect(start.contains(.removeFiles(Self.launch())))
        #expect(Self.spawns(start) == [other.launch])
    }

    @Test func unassignmentStopsTheWorkerAndThenRemovesItsFiles() {
        var slot = Self.running()
        let stop = slot.handle(.unassigned(at: Self.t0 + 60))
        #expect(stop == [.removeStateFile(workerId: "wc-1-6701"), .signal(pid: 100, signal: SIGTERM)])
        #expect(slot.assignment == nil)
        let gone = slot.handle(.exited("exited with status 0", at: Self.t0 + 61))
        #expect(gone.contains(.removeFiles(Self.launch())))
        #expect(Self.spawns(gone).isEmpty)
        #expect(slot.phase == .empty)
        #expect(slot.handle(.tick(Self.t0 + 100)).isEmpty)
    }

    @Test func unassignmentDuringBackoffCleansAtOnce() {
        var slot = Self.running()
        _ = slot.handle(.exited("killed by signal 9", at: Self.t0 + 1))
        let actions = slot.handle(.unassigned(at: Self.t0 + 1.05))
        #expect(actions == [.removeStateFile(workerId: "wc-1-6701"), .removeFiles(Self.launch())])
        #expect(slot.handle(.tick(Self.t0 + 2)).isEmpty, "no restart")
    }

    @Test func aWorkerIgnoringSIGTERMGetsSIGKILLAfterTheGrace() {
        var slot = Self.running()
        _ = slot.handle(.unassigned(at: Self.t0 + 60))
        #expect(slot.handle(.tick(Self.t0 + 64.9)).isEmpty)
        #expect(Self.signals(slot.handle(.tick(Self.t0 + 65))) == [SIGKILL])
        #expect(slot.handle(.tick(Self.t0 + 66)).isEmpty, "killed once")
        _ = slot.handle(.exited("killed by signal 9", at: Self.t0 + 66))
        #expect(slot.phase == .empty)
    }

    @Test func aRecordedWorkerStillRunningWithTheSameStartTicksIsAdoptedNotRestarted() {
        var slot = SlotState(settings: .init())
        let a = Self.assignment()
        let adopted = slot.handle(.recovered(a.launch, pid: 42, recordedTicks: 7, currentTicks: 7, at: Self.t0))
        #expect(Self.spawns(adopted).isEmpty && Self.signals(adopted).isEmpty)
        #expect(slot.process?.pid == 42 && slot.process?.child == false)
        #expect(slot.handle(.assigned(a, binaryReady: true, at: Self.t0 + 1)).isEmpty, "no duplicate")
        #expect(slot.assignedProcess?.pid == 42)
        #expect(slot.handle(.heartbeat(at: Self.t0 + 2)).isEmpty)
        #expect(slot.workerState(now: Self.t0 + 2) == "running")
        _ = slot.handle(.exited("exited", at: Self.t0 + 3))
        #expect(Self.spawns(slot.handle(.tick(Self.t0 + 3.11))) == [a.launch], "an adopted worker is restarted too")
    }

    @Test func aReusedOrVanishedPidIsNotAdopted() {
        var slot = SlotState(settings: .init())
        let launch = Self.launch()
        let reused = slot.handle(.recovered(launch, pid: 42, recordedTicks: 7, currentTicks: 8, at: Self.t0))
        #expect(reused == [.removeStateFile(workerId: launch.id)])
        #expect(slot.phase == .empty)
        let gone = slot.handle(.recovered(launch, pid: 42, recordedTicks: 7, currentTicks: nil, at: Self.t0))
        #expect(gone == [.removeStateFile(workerId: launch.id)])
        #expect(slot.handle(.assigned(Self.assignment(), binaryReady: true, at: Self.t0)) == [.spawn(launch)])
    }

    @Test func anAdoptedWorkerOfAnOlderEpochIsStoppedAndReplaced() {
        var slot = SlotState(settings: .init())
        _ = slot.handle(.recovered(Self.launch(), pid: 42, recordedTicks: 7, currentTicks: 7, at: Self.t0))
        let next = Self.assignment(epoch: 2)
        #expect(Self.signals(slot.handle(.assigned(next, binaryReady: true, at: Self.t0))) == [SIGTERM])
        #expect(Self.spawns(slot.handle(.exited("exited", at: Self.t0 + 1))) == [next.launch])
    }

    @Test func aFailedDownloadIsRetriedAfterFiveSecondsAndTheWorkerReportedNoBinary() {
        var slot = SlotState(settings: .init())
        let a = Self.assignment()
        #expect(slot.handle(.assigned(a, binaryReady: false, at: Self.t0)) == [.download])
        #expect(slot.phase == .waitingForBinary)
        #expect(slot.workerState(now: Self.t0) == "no-binary")
        #expect(slot.handle(.assigned(a, binaryReady: false, at: Self.t0 + 1)).isEmpty, "one download at a time")
        _ = slot.handle(.binaryFailed("digest mismatch", at: Self.t0 + 1))
        #expect(slot.downloadFailures == 1 && slot.downloadError == "digest mismatch")
        #expect(slot.handle(.assigned(a, binaryReady: false, at: Self.t0 + 5.9)).isEmpty)
        #expect(slot.handle(.assigned(a, binaryReady: false, at: Self.t0 + 6)) == [.download])
        #expect(slot.workerState(now: Self.t0 + 6) == "no-binary")
        #expect(slot.handle(.binaryDownloaded(at: Self.t0 + 7)) == [.spawn(a.launch)])
        #expect(slot.workerState(now: Self.t0 + 7) == "starting")
    }

    @Test func aBinaryAnotherSlotDownloadedStartsAWaitingWorker() {
        var slot = SlotState(settings: .init())
        let a = Self.assignment()
        _ = slot.handle(.assigned(a, binaryReady: false, at: Self.t0))
        _ = slot.handle(.binaryFailed("no nimbus", at: Self.t0))
        #expect(slot.handle(.assigned(a, binaryReady: true, at: Self.t0 + 1)) == [.spawn(a.launch)])
    }

    @Test func anUnassignedWorkerWaitingForItsBinaryIsCleaned() {
        var slot = SlotState(settings: .init())
        _ = slot.handle(.assigned(Self.assignment(), binaryReady: false, at: Self.t0))
        #expect(slot.handle(.unassigned(at: Self.t0 + 1)) == [.removeFiles(Self.launch())])
        #expect(slot.phase == .empty)
    }
}
