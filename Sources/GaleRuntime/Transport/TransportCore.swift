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
    /// Sinks of the tasks this worker runs, by task id; `nil` for every other task.
    private(set) var localSinks: [(any EnvelopeSink)?] = []
    private(set) var backpressure: Backpressure?
    /// Open inbound connections, closed on shutdown.
    private let inbound = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let closed = Atomic<Bool>(false)

    init(options: TransportOptions, sources: WireSources, handshake: Handshake, logger: Logger) {
        self.options = options
        self.sources = sources
        self.handshake = handshake
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

    /// Registers an accepted connection. - Returns: `false` when the transport is closing.
    func register(_ channel: any Channel) -> Bool {
        inbound.withLock { channels in
            guard !isClosed else { return false }
            channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func unregister(_ channel: any Channel) {
        _ = inbound.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Marks the transport closed. - Returns: the open inbound connections, to close.
    func close() -> [any Channel] {
        inbound.withLock { channels in
            closed.store(true, ordering: .releasing)
            defer { channels.removeAll() }
            return Array(channels.values)
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
