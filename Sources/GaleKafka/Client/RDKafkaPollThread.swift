internal import CRdKafka
import Dispatch
import Foundation
import Synchronization

/// A dedicated thread that serves a client's main queue with `rd_kafka_poll`: delivery reports
/// and error events run their callbacks on it.
///
/// The thread's closure holds the client and the loop's own state, never this object nor its
/// owner, so no reference cycle keeps the owner alive. ``stop()`` ends the loop within one poll
/// interval and waits for it, except when called on the poll thread itself (from a callback that
/// drops the last reference to the owner), where it only asks the loop to end.
final class RDKafkaPollThread: Sendable {
    /// The state the loop shares with ``stop()``.
    private final class LoopState: Sendable {
        let stopRequested = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
    }

    private let state = LoopState()
    nonisolated(unsafe) private let thread: Thread

    /// Starts polling `client` every `interval` until ``stop()``.
    init(client: RDKafkaClient, name: String, interval: Duration = .milliseconds(100)) {
        let interval = interval.timeoutMilliseconds
        let state = self.state
        thread = Thread {
            while !state.stopRequested.load(ordering: .acquiring) {
                rd_kafka_poll(client.handle, interval)
            }
            state.finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Ends the loop; waits for it unless called on the poll thread. Idempotent.
    func stop() {
        let alreadyStopped = state.stopRequested.exchange(true, ordering: .acquiringAndReleasing)
        guard !alreadyStopped, Thread.current !== thread else { return }
        state.finished.wait()
    }
}
