package import Foundation

/// Restart delays: `initial`, doubling up to `max`; reset once a worker ran `resetAfter`.
public struct RestartBackoff: Sendable, Equatable {
    public var initial: Double = 0.1
    public var max: Double = 10
    public var resetAfter: Double = 30

    public init() {}

    /// The delay before restart number `failures` (1-based) in a row.
    public func delay(afterFailures failures: Int) -> Double {
        Swift.min(max, initial * pow(2, Double(Swift.max(0, failures - 1))))
    }
}

/// One worker slot (a port) of a supervisor as a pure state machine: which worker is assigned
/// to it, whether its binary is there, and what its process is doing. It takes events (the
/// assignment read from ZooKeeper, download results, spawns, exits, heartbeats, clock ticks,
/// processes recorded by a previous supervisor) and returns the actions to take;
/// ``WorkerProcessManager`` drives it and does the I/O. Time is always passed in.
///
/// A slot goes `empty` → (`waitingForBinary` →) `launching` → `running` → `stopping` → `empty`
/// (cleaned). A worker that exits or cannot be spawned waits in `backingOff` and is started again;
/// one silent for longer than the heartbeat timeout is killed (and so restarted). A new
/// assignment (another epoch or topology) stops the running process first and starts the new
/// worker once it is gone, so two workers never hold the port at once.
package struct SlotState: Sendable, Equatable {
    /// The fixed settings of every slot.
    package struct Settings: Sendable, Equatable {
        package var backoff: RestartBackoff
        /// A running worker without a heartbeat (or start) this long is killed.
        package var heartbeatTimeout: Double
        /// Seconds between SIGTERM and SIGKILL when stopping a worker.
        package var terminationGrace: Double
        /// Seconds after a failed download before the next one.
        package var downloadRetry: Double
        /// Ticks further apart than this mean the supervisor itself did not run (paused,
        /// suspended): the gap does not count as its workers' silence.
        package var maxTickGap: Double

        package init(
            backoff: RestartBackoff = .init(),
            heartbeatTimeout: Double = 10,
            terminationGrace: Double = 5,
            downloadRetry: Double = 5,
            maxTickGap: Double = 1
        ) {
            self.backoff = backoff
            self.heartbeatTimeout = heartbeatTimeout
            self.terminationGrace = terminationGrace
            self.downloadRetry = downloadRetry
            self.maxTickGap = maxTickGap
        }
    }

    /// The worker assigned to the slot.
    package struct Assignment: Sendable, Equatable {
        package var launch: WorkerLaunch
        package var epoch: Int

        package init(launch: WorkerLaunch, epoch: Int) {
            self.launch = launch
            self.epoch = epoch
        }
    }

    /// A worker process of the slot.
    package struct Process: Sendable, Equatable {
        package var launch: WorkerLaunch
        package var pid: Int32
        /// Its start time in clock ticks (`/proc/<pid>/stat`), which a reused pid does not share.
        package var startTicks: UInt64
        package var startedAt: Date
        /// Started by this supervisor (reaped with `waitpid`), not adopted.
        package var child: Bool
        /// Its start, its last heartbeat, or the last time it was killed for silence.
        package var lastSign: Date
    }

    package enum Phase: Sendable, Equatable {
        /// Nothing assigned, nothing running.
        case empty
        /// Assigned, nothing running, the binary not downloaded yet.
        case waitingForBinary
        /// A spawn was asked for; ``Event/spawned(pid:startTicks:at:)`` or
        /// ``Event/spawnFailed(_:at:)`` follows.
        case launching(WorkerLaunch)
        case running(Process)
        /// The worker exited or could not start; it starts again at `until`.
        case backingOff(WorkerLaunch, until: Date)
        /// SIGTERM was sent; SIGKILL follows at `deadline` unless it exits first.
        case stopping(Process, deadline: Date, killed: Bool)
    }

    package enum Event: Sendable, Equatable {
        /// The slot's assignment as just read (again); `binaryReady` when its binary is on disk.
        case assigned(Assignment, binaryReady: Bool, at: Date)
        /// Nothing is assigned to the slot any more.
        case unassigned(at: Date)
        case binaryDownloaded(at: Date)
        case binaryFailed(String, at: Date)
        case spawned(pid: Int32, startTicks: UInt64, at: Date)
        case spawnFailed(String, at: Date)
        /// The process (running or stopping) is gone; how, e.g. `killed by signal 9`.
        case exited(String, at: Date)
        /// The assigned worker heartbeated.
        case heartbeat(at: Date)
        case tick(Date)
        /// A previous supervisor recorded `pid` with `recordedTicks` running `launch`;
        /// `currentTicks` is that pid's start time now (`nil`: no such process).
        case recovered(WorkerLaunch, pid: Int32, recordedTicks: UInt64, currentTicks: UInt64?, at: Date)
    }

    package enum Action: Sendable, Equatable {
        /// Download the assigned worker's binary, then report ``Event/binaryDownloaded(at:)`` or
        /// ``Event/binaryFailed(_:at:)``.
        case download
        /// Start the worker, then report ``Event/spawned(pid:startTicks:at:)`` or ``Event/spawnFailed(_:at:)``.
        case spawn(WorkerLaunch)
        /// Send `signal` to the process and its process group.
        case signal(pid: Int32, signal: Int32)
        /// Record the process, for a supervisor started later to adopt.
        case writeStateFile(WorkerLaunch, pid: Int32, startTicks: UInt64)
        case removeStateFile(workerId: String)
        /// Remove the files of a worker no longer in the slot (its directory).
        case removeFiles(WorkerLaunch)
        /// Log what happened to the worker.
        case log(workerId: String, message: String, warning: Bool)
    }

    package let settings: Settings
    package private(set) var phase: Phase = .empty
    package private(set) var assignment: Assignment?
    /// Whether the assigned worker's binary is on disk.
    package private(set) var binaryReady = false
    /// Failed downloads in a row, and the last one's reason.
    package private(set) var downloadFailures = 0
    package private(set) var downloadError: String?
    private var nextDownload = Date.distantPast
    /// Restarts of the assigned worker (not counting its first start).
    package private(set) var restarts = 0
    /// Failed runs or spawns in a row, which set the backoff delay.
    package private(set) var failuresInRow = 0
    package private(set) var lastExit: String?
    /// When the assigned worker last heartbeated.
    package private(set) var lastHeartbeat: Date?
    private var lastTick: Date?

    package init(settings: Settings) {
        self.settings = settings
    }

    /// The slot's process, running or stopping.
    package var process: Process? {
        switch phase {
        case .running(let p), .stopping(let p, _, _): p
        default: nil
        }
    }

    /// The assigned worker's process, when it is the one running.
    package var assignedProcess: Process? {
        guard case .running(let p) = phase, p.launch == assignment?.launch else { return nil }
        return p
    }

    /// The assigned worker's state for reports: `no-binary`, `running` (a heartbeat in the last
    /// 4 s), `stale` (an older one), `starting` (its process runs or is about to), `failed`.
    package func workerState(now: Date) -> String {
        if case .waitingForBinary = phase { return "no-binary" }
        if let beat = lastHeartbeat { return now.timeIntervalSince(beat) <= 4 ? "running" : "stale" }
        switch phase {
        case .launching, .running, .stopping: return "starting"
        case .empty, .waitingForBinary, .backingOff: return "failed"
        }
    }

    package mutating func handle(_ event: Event) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .assigned(let new, let ready, let now):
            assign(new, binaryReady: ready, now: now, into: &actions)
        case .unassigned(let now):
            unassign(now: now, into: &actions)
        case .binaryDownloaded:
            binaryReady = true
            (downloadFailures, downloadError) = (0, nil)
            if case .waitingForBinary = phase { start(into: &actions) }
        case .binaryFailed(let reason, let now):
            guard assignment != nil, !binaryReady else { break }
            downloadFailures += 1
            downloadError = reason
            nextDownload = now.addingTimeInterval(settings.downloadRetry)
        case .spawned(let pid, let ticks, let now):
            guard case .launching(let launch) = phase else { break }
            phase = .running(
                Process(launch: launch, pid: pid, startTicks: ticks, startedAt: now, child: true, lastSign: now)
            )
            actions.append(.writeStateFile(launch, pid: pid, startTicks: ticks))
            actions.append(.log(workerId: launch.id, message: "started (pid \(pid))", warning: false))
            if assignment.map({ $0.launch != launch }) ?? false, case .running(let p) = phase {
                stop(p, now: now, into: &actions)
            }
        case .spawnFailed(let reason, let now):
            guard case .launching(let launch) = phase else { break }
            failuresInRow += 1
            lastExit = reason
            phase = .backingOff(
                launch,
                until: now.addingTimeInterval(settings.backoff.delay(afterFailures: failuresInRow))
            )
            actions.append(.log(workerId: launch.id, message: reason, warning: true))
        case .exited(let how, let now):
            exited(how, now: now, into: &actions)
        case .heartbeat(let now):
            guard assignment != nil else { break }
            lastHeartbeat = max(lastHeartbeat ?? now, now)
            if case .running(var p) = phase, p.launch == assignment?.launch {
                p.lastSign = max(p.lastSign, now)
                phase = .running(p)
            }
        case .tick(let now):
            tick(now, into: &actions)
        case .recovered(let launch, let pid, let recorded, let current, let now):
            guard case .empty = phase, current == recorded else {
                actions.append(.removeStateFile(workerId: launch.id))
                break
            }
            phase = .running(
                Process(launch: launch, pid: pid, startTicks: recorded, startedAt: now, child: false, lastSign: now)
            )
            actions.append(.log(workerId: launch.id, message: "adopted (pid \(pid))", warning: false))
        }
        return actions
    }

    private mutating func assign(_ new: Assignment, binaryReady ready: Bool, now: Date, into actions: inout [Action]) {
        if assignment?.launch != new.launch {
            assignment = new
            binaryReady = ready
            (downloadFailures, downloadError, nextDownload) = (0, nil, .distantPast)
            (restarts, failuresInRow, lastExit, lastHeartbeat) = (0, 0, nil, nil)
            switch phase {
            case .empty, .waitingForBinary:
                start(into: &actions)
            case .running(let p):
                // Adopted before the first assignment was read: keep it when it is this worker.
                if p.launch != new.launch { stop(p, now: now, into: &actions) }
            case .backingOff(let old, _):
                actions.append(.removeStateFile(workerId: old.id))
                if old.id != new.launch.id { actions.append(.removeFiles(old)) }
                start(into: &actions)
            case .launching, .stopping:
                break
            }
        } else {
            assignment = new
            if ready && !binaryReady {
                binaryReady = true
                if case .waitingForBinary = phase { start(into: &actions) }
            }
        }
        if !binaryReady, nextDownload <= now {
            // One download at a time: the next waits for this one's result.
            nextDownload = .distantFuture
            actions.append(.download)
        }
    }

    private mutating func unassign(now: Date, into actions: inout [Action]) {
        let old = assignment
        assignment = nil
        (binaryReady, downloadFailures, downloadError, nextDownload) = (false, 0, nil, .distantPast)
        (restarts, failuresInRow, lastExit, lastHeartbeat) = (0, 0, nil, nil)
        switch phase {
        case .running(let p):
            stop(p, now: now, into: &actions)
        case .backingOff(let launch, _):
            phase = .empty
            actions.append(.removeStateFile(workerId: launch.id))
            actions.append(.removeFiles(launch))
        case .waitingForBinary:
            phase = .empty
            if let old { actions.append(.removeFiles(old.launch)) }
        case .empty, .launching, .stopping:
            break
        }
    }

    /// Starts the assigned worker, or waits for its binary.
    private mutating func start(into actions: inout [Action]) {
        guard let assignment else {
            phase = .empty
            return
        }
        guard binaryReady else {
            phase = .waitingForBinary
            return
        }
        phase = .launching(assignment.launch)
        actions.append(.spawn(assignment.launch))
    }

    /// SIGTERM now, SIGKILL after the grace; the state file goes at once (the process is no
    /// longer the slot's to adopt).
    private mutating func stop(_ p: Process, now: Date, into actions: inout [Action]) {
        phase = .stopping(p, deadline: now.addingTimeInterval(settings.terminationGrace), killed: false)
        actions.append(.removeStateFile(workerId: p.launch.id))
        actions.append(.signal(pid: p.pid, signal: SIGTERM))
    }

    private mutating func exited(_ how: String, now: Date, into actions: inout [Action]) {
        switch phase {
        case .running(let p):
            let ran = now.timeIntervalSince(p.startedAt)
            failuresInRow = ran >= settings.backoff.resetAfter ? 1 : failuresInRow + 1
            lastExit = how
            let delay = settings.backoff.delay(afterFailures: failuresInRow)
            phase = .backingOff(p.launch, until: now.addingTimeInterval(delay))
            actions.append(.log(workerId: p.launch.id, message: how, warning: true))
        case .stopping(let p, _, _):
            actions.append(.log(workerId: p.launch.id, message: "stopped (pid \(p.pid))", warning: false))
            if assignment?.launch.id != p.launch.id { actions.append(.removeFiles(p.launch)) }
            start(into: &actions)
        default:
            break
        }
    }

    private mutating func tick(_ now: Date, into actions: inout [Action]) {
        defer { lastTick = now }
        switch phase {
        case .running(var p):
            if let last = lastTick, now.timeIntervalSince(last) > settings.maxTickGap {
                p.lastSign += now.timeIntervalSince(last)
                phase = .running(p)
            }
            guard now.timeIntervalSince(p.lastSign) > settings.heartbeatTimeout else { return }
            p.lastSign = now
            phase = .running(p)
            actions.append(.signal(pid: p.pid, signal: SIGKILL))
            actions.append(
                .log(
                    workerId: p.launch.id,
                    message: "(pid \(p.pid)) sent no heartbeat for \(settings.heartbeatTimeout) s: killing it",
                    warning: true
                )
            )
        case .backingOff(let launch, let until):
            guard now >= until else { return }
            restarts += 1
            phase = .launching(launch)
            actions.append(.spawn(launch))
        case .stopping(let p, let deadline, false):
            guard now >= deadline else { return }
            phase = .stopping(p, deadline: deadline, killed: true)
            actions.append(.signal(pid: p.pid, signal: SIGKILL))
            actions.append(
                .log(
                    workerId: p.launch.id,
                    message: "(pid \(p.pid)) ignored SIGTERM for \(settings.terminationGrace) s: killing it",
                    warning: true
                )
            )
        default:
            break
        }
    }
}
