import CPosixSpawn
import Dispatch
import Foundation
import Gale
public import Logging
import Synchronization

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

    public init(
        id: String,
        executable: String,
        arguments: [String],
        environment: [String: String],
        workingDirectory: String,
        logFile: String
    ) {
        self.id = id
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.logFile = logFile
    }
}

/// One managed worker as the manager sees it.
public struct WorkerStatus: Sendable, Codable, Equatable {
    public var id: String
    public var pid: Int32
    /// Unix seconds when the current process started.
    public var startedAt: Double
    public var restarts: Int
    public var lastExit: String?
    public var running: Bool
}

/// Starts, watches and restarts worker processes; remembers them on disk so that a restarted
/// supervisor adopts the workers still running instead of starting duplicates.
public final class WorkerProcessManager: Sendable {
    private struct Managed {
        var launch: WorkerLaunch
        var pid: pid_t = 0
        var startTicks: UInt64 = 0
        var startedAt = Date()
        var isChild = true
        var restarts = 0
        var failuresInRow = 0
        var lastExit: String?
        var restartAt: Date?
    }

    private struct StateFile: Codable {
        var launch: WorkerLaunch
        var pid: Int32
        var startTicks: UInt64
    }

    let stateDirectory: String
    let logger: Logger
    let backoff: RestartBackoff
    let grace: Double
    private let workers = Mutex<[String: Managed]>([:])
    private let exitHandlers = Mutex<[@Sendable (String, String) -> Void]>([])
    private let timer = TimerSlot()
    private let queue = DispatchQueue(label: "gale.supervisor.processes")

    public init(
        stateDirectory: String,
        logger: Logger,
        backoff: RestartBackoff = .init(),
        terminationGrace: Duration = .seconds(5)
    ) {
        self.stateDirectory = stateDirectory
        self.logger = logger
        self.backoff = backoff
        self.grace =
            terminationGrace.inSeconds
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(50), repeating: .milliseconds(50))
        timer.setEventHandler { [weak self] in self?.poll() }
        timer.resume()
        self.timer.set(timer)
    }

    /// Adds an exit handler (worker id, what happened).
    public func onExit(_ handler: @escaping @Sendable (_ id: String, _ description: String) -> Void) {
        exitHandlers.withLock { $0.append(handler) }
    }

    /// Takes over workers recorded in the state directory that still run the same process.
    public func adopt() -> [WorkerStatus] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: stateDirectory)) ?? []
        for file in files where file.hasSuffix(".json") {
            let path = "\(stateDirectory)/\(file)"
            guard let data = FileManager.default.contents(atPath: path),
                let state = try? JSONDecoder().decode(StateFile.self, from: data),
                Self.startTicks(of: state.pid) == state.startTicks
            else {
                try? FileManager.default.removeItem(atPath: path)
                continue
            }
            var managed = Managed(launch: state.launch)
            managed.pid = state.pid
            managed.startTicks = state.startTicks
            managed.isChild = false
            workers.withLock { $0[state.launch.id] = managed }
        }
        return statuses()
    }

    /// Makes the running set equal `desired`.
    public func ensure(_ desired: [WorkerLaunch]) {
        queue.sync {
            let wanted = Dictionary(desired.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let current = workers.withLock { $0 }
            for (id, managed) in current where wanted[id] != managed.launch {
                stop(id, managed)
            }
            for (id, launch) in wanted.sorted(by: { $0.key < $1.key }) where workers.withLock({ $0[id] == nil }) {
                var managed = Managed(launch: launch)
                start(&managed)
                workers.withLock { $0[id] = managed }
            }
        }
    }

    public func statuses() -> [WorkerStatus] {
        workers.withLock { all in
            all.values.sorted { $0.launch.id < $1.launch.id }.map { m in
                WorkerStatus(
                    id: m.launch.id,
                    pid: m.pid,
                    startedAt: m.startedAt.timeIntervalSince1970,
                    restarts: m.restarts,
                    lastExit: m.lastExit,
                    running: m.pid > 0
                )
            }
        }
    }

    /// Stops every worker and waits until they are gone.
    public func stopAll() async {
        queue.sync {
            for (id, managed) in workers.withLock({ $0 }) { stop(id, managed) }
        }
    }

    /// Stops watching; the workers keep running for the next supervisor to adopt.
    public func detach() {
        timer.cancel()
        queue.sync {}
    }

    // MARK: - On the queue

    private func start(_ managed: inout Managed) {
        let launch = managed.launch
        managed.restartAt = nil
        do {
            let pid = try Self.spawn(launch)
            managed.pid = pid
            managed.isChild = true
            managed.startedAt = Date()
            managed.startTicks = Self.startTicks(of: pid) ?? 0
            let state = StateFile(launch: launch, pid: pid, startTicks: managed.startTicks)
            if let data = try? JSONEncoder().encode(state) {
                try? data.write(to: URL(fileURLWithPath: "\(stateDirectory)/\(launch.id).json"), options: .atomic)
            }
            logger.info("started worker \(launch.id) (pid \(pid))")
        } catch {
            managed.pid = 0
            managed.failuresInRow += 1
            managed.lastExit = "\(error)"
            managed.restartAt = Date().addingTimeInterval(backoff.delay(afterFailures: managed.failuresInRow))
            report(launch.id, "\(error)")
        }
    }

    private func stop(_ id: String, _ managed: Managed) {
        workers.withLock { _ = $0.removeValue(forKey: id) }
        try? FileManager.default.removeItem(atPath: "\(stateDirectory)/\(id).json")
        guard managed.pid > 0 else { return }
        let pid = managed.pid
        kill(-pid, SIGTERM)
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while alive(pid, child: managed.isChild), Date() < deadline { usleep(20_000) }
        if alive(pid, child: managed.isChild) {
            logger.warning("worker \(id) (pid \(pid)) ignored SIGTERM for \(grace) s: killing it")
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            while alive(pid, child: managed.isChild) { usleep(10_000) }
        }
        logger.info("stopped worker \(id) (pid \(pid))")
    }

    /// `false` once the process is gone (reaped when it is our child).
    private func alive(_ pid: pid_t, child: Bool) -> Bool {
        if child {
            var status: Int32 = 0
            let rc = waitpid(pid, &status, WNOHANG)
            return rc == 0
        }
        return kill(pid, 0) == 0 && Self.startTicks(of: pid) != nil
    }

    private func poll() {
        let now = Date()
        var exits: [(String, String)] = []
        var toStart: [String] = []
        workers.withLock { all in
            for (id, var m) in all {
                if m.pid > 0 {
                    var gone: String?
                    if m.isChild {
                        var status: Int32 = 0
                        if waitpid(m.pid, &status, WNOHANG) == m.pid {
                            let signal = status & 0x7f
                            gone =
                                signal == 0
                                ? "exited with status \((status >> 8) & 0xff)" : "killed by signal \(signal)"
                        }
                    } else if kill(m.pid, 0) != 0 || Self.startTicks(of: m.pid) != m.startTicks {
                        gone = "exited"
                    }
                    if let gone {
                        let ran = now.timeIntervalSince(m.startedAt)
                        m.failuresInRow = ran >= backoff.resetAfter ? 1 : m.failuresInRow + 1
                        m.lastExit = gone
                        m.pid = 0
                        m.restartAt = now.addingTimeInterval(backoff.delay(afterFailures: m.failuresInRow))
                        exits.append((id, gone))
                    }
                }
                if m.pid == 0, let at = m.restartAt, at <= now { toStart.append(id) }
                all[id] = m
            }
        }
        for (id, what) in exits { report(id, what) }
        for id in toStart {
            guard var m = workers.withLock({ $0[id] }) else { continue }
            m.restarts += 1
            start(&m)
            workers.withLock { if $0[id] != nil { $0[id] = m } }
        }
    }

    private func report(_ id: String, _ what: String) {
        for handler in exitHandlers.withLock({ $0 }) { handler(id, what) }
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

    /// posix_spawn with a clean signal mask, default dispositions, its own process group, stdin
    /// from /dev/null, output appended to the log file, and no other descriptor: every descriptor
    /// from 3 up is closed in the child, whatever its close-on-exec flag. The supervisor's
    /// heartbeat listener, its ZooKeeper connection (opened by the C client without
    /// close-on-exec) and any other socket would otherwise stay open in every worker, and a
    /// restarted supervisor could not bind its heartbeat port again while they run.
    static func spawn(_ launch: WorkerLaunch) throws -> pid_t {
        let fm = FileManager.default
        guard fm.isExecutableFile(atPath: launch.executable) else {
            throw SpawnError(message: "cannot start \(launch.executable): not an executable file")
        }
        try fm.createDirectory(
            atPath: URL(fileURLWithPath: launch.logFile).deletingLastPathComponent().path,
            withIntermediateDirectories: true
        )
        try fm.createDirectory(atPath: launch.workingDirectory, withIntermediateDirectories: true)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, launch.logFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)
        )
        var environment = ProcessInfo.processInfo.environment
        environment.merge(launch.environment) { $1 }
        let argv = ([launch.executable] + launch.arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, launch.executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            throw SpawnError(message: "cannot start \(launch.executable): \(String(cString: strerror(rc)))")
        }
        return pid
    }
}

/// A worker process that could not be started.
struct SpawnError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A dispatch timer behind a lock (timer sources are not `Sendable`).
final class TimerSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var timer: (any DispatchSourceTimer)?

    func set(_ timer: any DispatchSourceTimer) { lock.withLock { self.timer = timer } }

    func cancel() {
        lock.withLock {
            timer?.cancel()
            timer = nil
        }
    }
}
