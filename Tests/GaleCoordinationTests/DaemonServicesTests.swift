import Dispatch
import Foundation
import GaleCoordination
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct DaemonServicesTests {
    /// More blocked jobs than the cooperative pool has threads: if the executor ran them on that
    /// pool, the task that releases them would never run and the waits would time out.
    @Test func blockingJobsOnTheExecutorLeaveTheCooperativePoolFree() async throws {
        let executor = BlockingExecutor(label: "gale.test.blocking", lanes: 8)
        let blocked = ProcessInfo.processInfo.activeProcessorCount + 2
        let release = DispatchSemaphore(value: 0)
        let arrived = Box(0)
        let released = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<blocked {
                group.addTask(executorPreference: executor) {
                    arrived.update { $0 += 1 }
                    // A synchronous wait, as a ZooKeeper call makes. Its limit only ends a deadlock
                    // (jobs on the cooperative pool) before the suite's time limit; on a loaded
                    // machine the releasing task may wait many seconds for a thread.
                    return release.wait(timeout: .now() + 45) == .success
                }
            }
            group.addTask(executorPreference: globalConcurrentExecutor) {
                while arrived.value < blocked { await Task.yield() }
                for _ in 0..<blocked { release.signal() }
                return true
            }
            var all: [Bool] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(released.count == blocked + 1)
        #expect(released.allSatisfy { $0 }, "every blocked job was released by the task on the cooperative pool")
    }

    @Test func aWakeBeforeTheWaitEndsItAtOnceAndIsRememberedOnlyOnce() async {
        let signal = WakeSignal()
        signal.wake()
        signal.wake()
        // An hour-long wait returns: the wake was remembered.
        await signal.wait(upTo: .seconds(3600))
        let second = Task { await signal.wait(upTo: .seconds(3600)) }
        // The second wait is pending until the next wake (the two earlier wakes counted once).
        try? await Task.sleep(for: .milliseconds(50))
        signal.wake()
        await second.value
    }

    @Test func aWaitEndsAtItsIntervalWithoutAWake() async {
        await WakeSignal().wait(upTo: .milliseconds(10))
    }

    @Test func aCancelledWaitReturns() async {
        let signal = WakeSignal()
        let task = Task { await signal.wait(upTo: .seconds(3600)) }
        task.cancel()
        await task.value
    }

    /// A pass that finishes the service shuts the group down: the periodic service's own
    /// shutdown step runs, then the resources stop in reverse order of the list.
    @Test func aFinishedPassShutsTheGroupDownInReverseOrder() async throws {
        let events = Box<[String]>([])
        let passes = Box(0)
        let services: [any Service] = [
            ResourceService(
                "first",
                start: { events.update { $0.append("start first") } },
                stop: { events.update { $0.append("stop first") } }
            ),
            ResourceService(
                "second",
                start: { events.update { $0.append("start second") } },
                stop: { events.update { $0.append("stop second") } }
            ),
            PeriodicService("loop", every: .milliseconds(1)) {
                let n = passes.update {
                    $0 += 1
                    return $0
                }
                return n == 3 ? .finish : .again
            } onShutdown: {
                events.update { $0.append("loop done after \(passes.value) passes") }
            },
        ]
        let runner = DaemonRunner(logger: Logger(label: "test"), executor: BlockingExecutor(label: "gale.test.runner"))
        try await runner.run(services, signals: false)
        let seen = events.value
        #expect(Set(seen.prefix(2)) == ["start first", "start second"])
        #expect(Array(seen.dropFirst(2)) == ["loop done after 3 passes", "stop second", "stop first"])
    }

    /// A wake runs the next pass long before the interval is up.
    @Test func aWakeRunsThePassBeforeTheInterval() async throws {
        let signal = WakeSignal()
        let passes = Box(0)
        let services: [any Service] = [
            PeriodicService("loop", every: .seconds(3600), wake: signal) {
                passes.update {
                    $0 += 1
                    return $0
                } == 3 ? .finish : .again
            },
            PeriodicService("waker", every: .milliseconds(5)) { signal.wake() },
        ]
        let runner = DaemonRunner(logger: Logger(label: "test"), executor: BlockingExecutor(label: "gale.test.wake"))
        try await runner.run(services, signals: false)
        let count = passes.value
        #expect(count == 3)
    }

    /// Graceful shutdown lets the running pass finish: a cancelled group would cut it short.
    @Test func shutdownLetsTheRunningPassFinish() async throws {
        let finished = Box(false)
        let started = Box(false)
        let services: [any Service] = [
            PeriodicService(
                "slow",
                every: .seconds(3600),
                body: {
                    started.update { $0 = true }
                    // Blocks its thread as a ZooKeeper call does; on the executor, not the pool.
                    usleep(200_000)
                    finished.update { $0 = true }
                }
            ),
            PeriodicService("ender", every: .milliseconds(1)) {
                started.value ? .finish : .again
            },
        ]
        let runner = DaemonRunner(logger: Logger(label: "test"), executor: BlockingExecutor(label: "gale.test.slow"))
        try await runner.run(services, signals: false)
        let done = finished.value
        #expect(done)
    }
}

/// A value shared between test tasks.
private final class Box<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value { mutex.withLock { $0 } }
    @discardableResult func update<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
