import Logging
import NIOCore
import Synchronization

/// What the transport's connection handlers share: the worker's identity, the wire tables, the
/// local tasks' sinks, backpressure and the counters.
///
/// Threading: immutable after ``attach(localSinks:backpressure:)``, which runs before the
/// listener opens; the counters are atomic and ``inbound`` is guarded by its mutex.
final class TransportCore: @unchecked Sendable {
    let options: TransportOptions
    let sources: WireSources
    let logger: Logger
    let counters = TransportCounters()
    /// This worker's handshake (its address's port is filled in once the listener is bound).
    private(set) var handshake: Handshake
    /// The assignment's secret: every handshake this worker sends carries a proof of it, and
    /// every peer's must (``WorkerLayout/secret``); `nil` when the assignment has none.
    let secret: [UInt8]?
    /// Sinks of the tasks this worker runs, by task id; `nil` for every other task.
    private(set) var localSinks: [(any EnvelopeSink)?] = []
    private(set) var backpressure: Backpressure?
    /// Open inbound connections (closed on shutdown) and how many of them wait for their hello.
    private let inbound = Mutex<InboundConnections>(.init())
    private let closed = Atomic<Bool>(false)
    /// Bytes the inbound connections hold in unfinished frames, at most
    /// ``TransportOptions/unfinishedFrameBudgetBytes``.
    private let unfinishedBytes = Atomic<Int>(0)

    init(
        options: TransportOptions,
        sources: WireSources,
        handshake: Handshake,
        secret: [UInt8]? = nil,
        logger: Logger
    ) {
        self.options = options
        self.sources = sources
        self.handshake = handshake
        self.secret = secret
        self.logger = logger
    }

    func attach(localSinks: [(any EnvelopeSink)?], backpressure: Backpressure) {
        self.localSinks = localSinks
        self.backpressure = backpressure
    }

    func setBoundPort(_ port: Int) {
        handshake.address.port = port
    }

    var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// What ``register(_:)`` decided about an accepted connection.
    enum Registration {
        /// Registered, and counted as waiting for its handshake until ``handshakeCompleted()`` or
        /// ``unregister(_:awaitingHandshake:)``.
        case accepted
        /// The transport is closing: close the connection.
        case closing
        /// ``TransportOptions/maxPendingHandshakes`` connections (`pending`) already wait for
        /// their handshake: close this one.
        case tooManyPendingHandshakes(pending: Int)
    }

    /// Registers an accepted connection, as waiting for its handshake, unless the transport is
    /// closing or too many connections wait already.
    func register(_ channel: any Channel) -> Registration {
        inbound.withLock { state in
            guard !isClosed else { return .closing }
            guard state.pendingHandshakes < options.maxPendingHandshakes else {
                return .tooManyPendingHandshakes(pending: state.pendingHandshakes)
            }
            state.pendingHandshakes += 1
            state.channels[ObjectIdentifier(channel)] = channel
            return .accepted
        }
    }

    /// A registered connection's hello was accepted: it no longer counts as waiting.
    func handshakeCompleted() {
        inbound.withLock { $0.pendingHandshakes -= 1 }
    }

    /// Forgets a closed connection; `awaitingHandshake` when it was registered and had not
    /// completed its handshake.
    func unregister(_ channel: any Channel, awaitingHandshake: Bool) {
        inbound.withLock { state in
            state.channels.removeValue(forKey: ObjectIdentifier(channel))
            if awaitingHandshake { state.pendingHandshakes -= 1 }
        }
    }

    /// Accepted connections waiting for their hello now.
    var pendingHandshakes: Int { inbound.withLock { $0.pendingHandshakes } }

    /// Bytes the inbound connections hold in unfinished frames now.
    var unfinishedFrameBytes: Int { unfinishedBytes.load(ordering: .relaxed) }

    /// Charges `bytes` more held in unfinished frames, unless that takes the total past
    /// ``TransportOptions/unfinishedFrameBudgetBytes``.
    /// - Returns: `nil` when charged; otherwise the total it would have made (nothing is charged).
    func chargeUnfinishedFrames(_ bytes: Int) -> Int? {
        let budget = options.unfinishedFrameBudgetBytes
        var current = unfinishedBytes.load(ordering: .relaxed)
        while true {
            let total = current + bytes
            guard total <= budget else { return total }
            let (exchanged, original) = unfinishedBytes.compareExchange(
                expected: current,
                desired: total,
                ordering: .relaxed
            )
            if exchanged { return nil }
            current = original
        }
    }

    /// Gives back `bytes` charged by ``chargeUnfinishedFrames(_:)``.
    func releaseUnfinishedFrames(_ bytes: Int) {
        unfinishedBytes.subtract(bytes, ordering: .relaxed)
    }

    /// Marks the transport closed. - Returns: the open inbound connections, to close.
    func close() -> [any Channel] {
        inbound.withLock { state in
            closed.store(true, ordering: .releasing)
            defer { state.channels.removeAll() }
            return Array(state.channels.values)
        }
    }

    /// Hands a decoded batch to the local task, or drops it (counted) when the task is not here.
    @inline(__always)
    func deliverLocally(_ batch: ContiguousArray<Envelope>, to task: Int, from peer: String) {
        guard task >= 0, task < localSinks.count, let sink = localSinks[task] else {
            counters.envelopesDropped.add(UInt64(batch.count), ordering: .relaxed)
            logger.warning(
                "batch for a task this worker does not run: dropped",
                metadata: ["task": "\(task)", "peer": "\(peer)", "envelopes": "\(batch.count)"]
            )
            return
        }
        counters.envelopesReceived.add(UInt64(batch.count), ordering: .relaxed)
        sink.deliver(batch, to: task)
    }

    /// Renders bytes as a `ByteBuffer` of `allocator`.
    func buffer(_ bytes: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        return buffer
    }
}

/// The open inbound connections of a ``TransportCore``.
private struct InboundConnections {
    var channels: [ObjectIdentifier: any Channel] = [:]
    /// Registered connections whose hello has not been accepted yet.
    var pendingHandshakes = 0
}
