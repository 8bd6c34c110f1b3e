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

    /// The loop's reference to the client, which it drops when it ends. Only the poll thread touches it.
    private final class ClientHolder: @unchecked Sendable {
        var client: RDKafkaClient?
        init(_ client: RDKafkaClient) { self.client = client }
    }

    private let state = LoopState()
    nonisolated(unsafe) private let thread: Thread

    /// Starts polling `client` every `interval` until ``stop()``.
    init(client: RDKafkaClient, name: String, interval: Duration = .milliseconds(100)) {
        let interval = interval.timeoutMilliseconds
        let state = self.state
        let holder = ClientHolder(client)
        thread = Thread {
            while !state.stopRequested.load(ordering: .acquiring), let client = holder.client {
                rd_kafka_poll(client.handle, interval)
            }
            // Drop the loop's reference before telling `stop()`: the Thread object (and this
            // closure) outlive the signal, and a client released with them would be destroyed
            // later, on this exiting thread, after its owner's deinit returned. Now the owner's
            // own reference is the last one (unless the owner is already gone: then the client
            // is destroyed here, after its last poll).
            holder.client = nil
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
