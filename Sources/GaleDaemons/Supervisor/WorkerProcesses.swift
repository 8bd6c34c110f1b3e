import CGaleProcess
import Dispatch
package import Foundation
import Gale
public import Logging
import Synchronization

/// The user and group a worker runs as when they are not its supervisor's (``WorkerIsolation``).
public struct WorkerIdentity: Sendable, Codable, Equatable {
    /// The user's name, for messages.
    public var user: String
    public var uid: UInt32
    /// Its topology's group (``TopologyGroups``); the worker has no supplementary groups.
    public var gid: UInt32

    public init(user: String, uid: UInt32, gid: UInt32) {
        self.user = user
        self.uid = uid
        self.gid = gid
    }
}

/// How to start one worker process.
public struct WorkerLaunch: Sendable, Codable, Equatable {
    /// Unique per slot, e.g. `wordcount-1-6701`.
    public var id: String
    public var executable: String
    public var arguments: [String]
    /// Added to the supervisor's environment.
    public var environment: [String: String]
    public var workingDirectory: String
    /// stdout and stderr are appended here.
    public var logFile: String
    /// Who the worker runs as; `nil`: the supervisor's user.
    public var identity: WorkerIdentity?
    /// The worker's own directory (its launch specs and working directory), removed when the
    /// worker leaves its slot; `nil`: ``workingDirectory``.
    public var directory: String?

    public init(
        id: String,
        executable: String,
        arguments: [String],
        environment: [String: String],
        workingDirectory: String,
        logFile: String,
        identity: WorkerIdentity? = nil,
        directory: String? = nil
    ) {
        self.id = id
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.logFile = logFile
        self.identity = identity
        self.directory = directory
    }
}

/// Drives one ``SlotState`` per worker port and does what they ask: spawns, signals and reaps
/// worker processes, and records them on disk so that a restarted supervisor adopts the workers
/// still running instead of starting duplicates. Every event is applied, and its actions taken,
/// on one serial queue; ``tick()`` (the supervisor's `worker-processes` service, every 50 ms)
/// feeds the processes' exits and the clock.
public final class WorkerProcessManager: Sendable {
    private struct StateFile: Codable {
        var launch: WorkerLaunch
        var pid: Int32
        var startTicks: UInt64
        var slot: Int?
    }

    let stateDirectory: String
    let logger: Logger
    let settings: SlotState.Settings
    private let slots = Mutex<[Int: SlotState]>([:])
    private let queue = DispatchQueue(label: "gale.supervisor.processes")

    public init(
        stateDirectory: String,
        logger: Logger,
        backoff: RestartBackoff = .init(),
        terminationGrace: Duration = .seconds(5),
        heartbeatTimeout: Double = 10
    ) {
        self.stateDirectory = stateDirectory
        self.logger = logger
        self.settings = SlotState.Settings(
            backoff: backoff,
            heartbeatTimeout: heartbeatTimeout,
            terminationGrace: terminationGrace.inSeconds
        )
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
    }

    /// Takes over the workers recorded in the state directory that still run the same process;
    /// returns their ids.
    public func adopt() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: stateDirectory)) ?? []
        let now = Date()
        queue.sync {
            for file in files.sorted() where file.hasSuffix(".json") {
                let path = "\(stateDirectory)/\(file)"
                guard let data = FileManager.default.contents(atPath: path),
                    let state = try? JSONDecoder().decode(StateFile.self, from: data),
                    let slot = state.slot ?? state.launch.id.split(separator: "-").last.flatMap({ Int($0) })
                else {
                    try? FileManager.default.removeItem(atPath: path)
                    continue
                }
                let event = SlotState.Event.recovered(
                    state.launch,
                    pid: state.pid,
                    recordedTicks: state.startTicks,
                    currentTicks: Self.startTicks(of: state.pid),
                    at: now
                )
                _ = apply(slot, event)
            }
        }
        return slots.withLock { $0.values.compactMap { $0.process?.launch.id }.sorted() }
    }

    /// The launches of the worker processes running now (adopted ones included).
    public func runningLaunches() -> [WorkerLaunch] {
        slots.withLock { $0.values.compactMap { $0.process?.launch } }
    }

    /// Makes the slots run `assignments` (by port; `binaryReady` when the worker's binary is on
    /// disk) and stop every other worker. Returns the ports whose binary is to be downloaded
    /// (report the outcome with ``binaryDownloaded(_:)`` or ``binaryFailed(_:reason:)``).
    package func assign(_ assignments: [Int: (assignment: SlotState.Assignment, binaryReady: Bool)]) -> [Int] {
        let now = Date()
        return queue.sync {
            var downloads: [Int] = []
            let known = slots.withLock { Set($0.keys) }
            for port in known.union(assignments.keys).sorted() {
                let event: SlotState.Event =
                    if let wanted = assignments[port] {
                        .assigned(wanted.assignment, binaryReady: wanted.binaryReady, at: now)
                    } else {
                        .unassigned(at: now)
                    }
                if apply(port, event).contains(.download) { downloads.append(port) }
            }
            return downloads
        }
    }

    package func binaryDownloaded(_ ports: [Int]) {
        let now = Date()
        queue.sync { for port in ports { _ = apply(port, .binaryDownloaded(at: now)) } }
    }

    package func binaryFailed(_ ports: [Int], reason: String) {
        let now = Date()
        queue.sync { for port in ports { _ = apply(port, .binaryFailed(reason, at: now)) } }
    }

    /// Records a heartbeat of `workerId` in `epoch`; `false` when that is not the worker assigned
    /// to any slot.
    package func heartbeat(workerId: String, epoch: Int, at now: Date) -> Bool {
        slots.withLock { all in
            guard let port = all.first(where: { $0.value.assignment?.launch.id == workerId })?.key,
                all[port]?.assignment?.epoch == epoch
            else { return false }
            // A heartbeat asks for no action.
            _ = all[port]?.handle(.heartbeat(at: now))
            return true
        }
    }

    /// Every slot's state, by port.
    package func snapshot() -> [Int: SlotState] {
        slots.withLock { $0 }
    }

    /// Stops every worker and waits until they are gone (reaped).
    public func stopAll() async {
        let now = Date()
        queue.sync {
            for port in slots.withLock({ $0.keys.sorted() }) { _ = apply(port, .unassigned(at: now)) }
        }
        // Ticks itself: the exits are reaped here, and a worker that ignores SIGTERM gets
        // SIGKILL after the termination grace.
        while slots.withLock({ $0.values.contains { $0.process != nil } }) {
            try? await Task.sleep(for: .milliseconds(20))
            tick()
        }
    }

    /// Feeds the exits of the slots' processes (reaping them), then a clock tick, to every slot.
    public func tick() {
        queue.sync { poll() }
    }

    // MARK: - On the queue

    /// Applies `event` to the slot of `port` and takes the actions it returns, except downloads,
    /// which it returns.
    private func apply(_ port: Int, _ event: SlotState.Event) -> [SlotState.Action] {
        let actions = slots.withLock { all in
            var slot = all[port] ?? SlotState(settings: settings)
            defer { all[port] = slot }
            return slot.handle(event)
        }
        var left: [SlotState.Action] = []
        for action in actions {
            switch action {
            case .download:
                left.append(action)
            case .spawn(let launch):
                let event: SlotState.Event
                do {
                    let pid = try Self.spawn(launch)
                    event = .spawned(pid: pid, startTicks: Self.startTicks(of: pid) ?? 0, at: Date())
                } catch {
                    event = .spawnFailed("\(error)", at: Date())
                }
                left += apply(port, event)
            case .signal(let pid, let signal):
                kill(-pid, signal)
                kill(pid, signal)
            case .writeStateFile(let launch, let pid, let ticks):
                let state = StateFile(launch: launch, pid: pid, startTicks: ticks, slot: port)
                if let data = try? JSONEncoder().encode(state) {
                    try? data.write(to: URL(fileURLWithPath: "\(stateDirectory)/\(launch.id).json"), options: .atomic)
                }
            case .removeStateFile(let id):
                try? FileManager.default.removeItem(atPath: "\(stateDirectory)/\(id).json")
            case .removeFiles(let launch):
                // The worker may have written there: no link it left is followed.
                if let failure = WorkerFiles.removeTree(launch.directory ?? launch.workingDirectory) {
                    logger.warning("worker \(launch.id): \(failure)")
                }
            case .log(let id, let message, let warning):
                if warning {
                    logger.warning("worker \(id) \(message)")
                } else {
                    logger.info("worker \(id) \(message)")
                }
            }
        }
        return left
    }

    /// Feeds the exits of the slots' processes, then a tick, to every slot.
    private func poll() {
        let now = Date()
        let current = slots.withLock { $0.mapValues(\.process) }
        for (port, process) in current.sorted(by: { $0.key < $1.key }) {
            if let process, let gone = Self.ending(of: process) { _ = apply(port, .exited(gone, at: now)) }
            _ = apply(port, .tick(now))
        }
    }

    /// How `process` ended, or `nil` while it runs (a child is reaped).
    private static func ending(of process: SlotState.Process) -> String? {
        if process.child {
            var status: Int32 = 0
            guard waitpid(process.pid, &status, WNOHANG) == process.pid else { return nil }
            let signal = status & 0x7f
            return signal == 0 ? "exited with status \((status >> 8) & 0xff)" : "killed by signal \(signal)"
        }
        guard kill(process.pid, 0) != 0 || startTicks(of: process.pid) != process.startTicks else { return nil }
        return "exited"
    }

    // MARK: - Processes

    /// Field 22 of `/proc/<pid>/stat` (start time in clock ticks), or `nil` when gone.
    static func startTicks(of pid: pid_t) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3); starttime is field 22.
        guard fields.count > 19, fields[0] != "Z" else { return nil }
        return UInt64(fields[19])
    }

    /// Starts the worker (`gale_spawn`: fork, then exec) with a clean signal mask, default
    /// dispositions, its own process group, stdin from /dev/null, output appended to the log
    /// file (opened before any user switch, so it stays the supervisor's), and no other
    /// descriptor: every descriptor from 3 up is closed in the child, whatever its close-on-exec
    /// flag. The supervisor's heartbeat listener, its ZooKeeper connection (opened by the C client
    /// without close-on-exec) and any other socket would otherwise stay open in every worker, and
    /// a restarted supervisor could not bind its heartbeat port again while they run. With an
    /// ``WorkerLaunch/identity``, the child drops its supplementary groups and switches to that
    /// group and user before it enters the working directory and execs.
    package static func spawn(_ launch: WorkerLaunch) throws -> Int32 {
        let fm = FileManager.default
        guard fm.isExecutableFile(atPath: launch.executable) else {
            throw SpawnError(message: "cannot start \(launch.executable): not an executable file")
        }
        try fm.createDirectory(
            atPath: URL(fileURLWithPath: launch.logFile).deletingLastPathComponent().path,
            withIntermediateDirectories: true
        )
        var environment = ProcessInfo.processInfo.environment
        environment.merge(launch.environment) { $1 }
        let argv = ([launch.executable] + launch.arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var step: Int32 = 0
        var error: Int32 = 0
        let pid = launch.executable.withCString { path in
            launch.logFile.withCString { log in
                launch.workingDirectory.withCString { directory in
                    argv.withUnsafeBufferPointer { arguments in
                        envp.withUnsafeBufferPointer { variables in
                            var request = gale_spawn_request(
                                path: path,
                                argv: arguments.baseAddress,
                                envp: variables.baseAddress,
                                directory: directory,
                                log_file: log,
                                switch_user: launch.identity == nil ? 0 : 1,
                                uid: launch.identity?.uid ?? 0,
                                gid: launch.identity?.gid ?? 0
                            )
                            return gale_spawn(&request, &step, &error)
                        }
                    }
                }
            }
        }
        guard pid > 0 else { throw SpawnError(message: Self.failure(launch, step: step, error: error)) }
        return pid
    }

    /// What failed when `gale_spawn` started `launch`, in one line.
    static func failure(_ launch: WorkerLaunch, step: Int32, error: Int32) -> String {
        let reason = String(cString: strerror(error))
        let user = launch.identity.map { "user \($0.user) (uid \($0.uid))" } ?? "the supervisor's user"
        switch gale_spawn_step(rawValue: UInt32(step)) {
        case GALE_SPAWN_LOG:
            return "cannot open the log file \(launch.logFile): \(reason)"
        case GALE_SPAWN_GROUPS:
            return "cannot drop the supplementary groups to start the worker as \(user): \(reason)"
        case GALE_SPAWN_GID:
            return "cannot switch to group \(launch.identity?.gid ?? 0) to start the worker as \(user): \(reason)"
        case GALE_SPAWN_UID:
            return "cannot switch to \(user): \(reason)"
        case GALE_SPAWN_DIRECTORY:
            return "cannot enter the working directory \(launch.workingDirectory) as \(user): \(reason)"
        case GALE_SPAWN_EXEC:
            return "cannot start \(launch.executable) as \(user): \(reason)"
        default:
            return "cannot start \(launch.executable): a new process failed (step \(step)): \(reason)"
        }
    }
}

/// A worker process that could not be started.
struct SpawnError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
