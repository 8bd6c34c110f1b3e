/// Reassembles chunked payloads per partition, within a memory budget, from records in offset order.
///
/// Give it every record the consumer returns, in offset order per partition, with the value of its
/// `gale-chunk` record header (``ChunkHeader/recordHeaderKey``). It answers with
/// ``ChunkAssemblyEvent``s: values to emit together with the offsets they span, failed payloads
/// (corrupt, inconsistent, incomplete or over budget, each a ``ChunkingError`` naming partition,
/// offsets and payload id), and offsets to skip. Every offset comes back exactly once, so the spout
/// can commit a payload's offsets only when the whole payload is acked and never stalls on a dropped one.
///
/// - Chunks of different payloads may interleave on a partition (several producers, or retries).
/// - An identical duplicate of a chunk (a producer retry) is skipped, also after its payload completed
///   (as long as the payload is among the last ``Configuration/rememberedPayloadsPerPartition``).
/// - A payload whose next chunk does not come within ``Configuration/maxOffsetGap`` offsets or
///   ``Configuration/timeout``, or that is the oldest of too many open payloads, fails as ``ChunkingError/Code/missingChunk``.
/// - A payload larger than the budget, or that would push the bytes held past it, fails as
///   ``ChunkingError/Code/budgetExceeded`` without being buffered; its later chunks are skipped. A
///   spout avoids the second case where it can by asking ``mustWaitForMemory(partition:chunkHeader:)``
///   first and holding the partition back until memory frees.
///
/// A payload's buffer is allocated once, at its total length, when its first chunk arrives; each
/// chunk body is checksummed and copied into place once, and the payload checksum is derived from
/// the chunk checksums without reading the payload again.
///
/// - Important: Not thread-safe; a spout keeps one per task and calls it on its serial queue. A
///   spout that pauses a partition for too many uncommitted offsets must not do so while the
///   partition has open payloads (``openPayloads(partition:)``), or their remaining chunks would
///   never be fetched before the timeout.
public struct ChunkAssembler: Sendable {
    /// Limits of the assembler.
    public struct Configuration: Sendable {
        /// The most payload bytes held across all partitions.
        public var memoryBudget: Int
        /// The most offsets between two chunks of one payload on its partition.
        public var maxOffsetGap: Int64
        /// The longest time between two chunks of one payload.
        public var timeout: Duration
        /// The most payloads open at once on one partition; opening one more fails the oldest.
        public var maxOpenPayloadsPerPartition: Int
        /// How many finished payloads per partition are remembered, to skip their late or duplicate chunks.
        public var rememberedPayloadsPerPartition: Int

        /// Limits with defaults suited to payloads up to a few hundred megabytes.
        ///
        /// - Parameters:
        ///   - memoryBudget: The most payload bytes held across all partitions.
        ///   - maxOffsetGap: The most offsets between two chunks of one payload (default 10,000).
        ///   - timeout: The longest time between two chunks of one payload (default 120 s).
        ///   - maxOpenPayloadsPerPartition: The most payloads open at once on a partition (default 16).
        ///   - rememberedPayloadsPerPartition: Finished payload ids remembered per partition (default 256).
        public init(
            memoryBudget: Int,
            maxOffsetGap: Int64 = 10_000,
            timeout: Duration = .seconds(120),
            maxOpenPayloadsPerPartition: Int = 16,
            rememberedPayloadsPerPartition: Int = 256
        ) {
            self.memoryBudget = memoryBudget
            self.maxOffsetGap = maxOffsetGap
            self.timeout = timeout
            self.maxOpenPayloadsPerPartition = max(1, maxOpenPayloadsPerPartition)
            self.rememberedPayloadsPerPartition = max(0, rememberedPayloadsPerPartition)
        }
    }

    /// The assembler's limits.
    public let configuration: Configuration
    /// Payload bytes currently held (buffers of open payloads), across all partitions.
    public private(set) var bytesInProgress = 0

    private var partitions: [Int32: PartitionState] = [:]

    /// An assembler with no open payloads.
    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The number of payloads waiting for chunks on `partition`.
    public func openPayloads(partition: Int32) -> Int {
        partitions[partition]?.open.count ?? 0
    }

    /// The number of payloads waiting for chunks, across all partitions.
    public var openPayloadCount: Int {
        var count = 0
        for state in partitions.values { count += state.open.count }
        return count
    }

    /// Whether the record carrying `chunkHeader` opens a payload that fits the budget alone but not
    /// now, beside the payloads other partitions hold, on a partition with no open payload of its own.
    ///
    /// A spout then holds the record back (and everything after it on the partition) and pauses the
    /// partition until ``bytesInProgress`` drops, instead of giving it to ``add(partition:offset:value:chunkHeader:now:)``,
    /// which would reject the payload. The other partitions' payloads complete or time out, so the
    /// wait ends. A payload larger than the budget, or one that meets open payloads of its own
    /// partition (whose remaining chunks come after it), is not waited for: `add` rejects it.
    public func mustWaitForMemory(partition: Int32, chunkHeader: [UInt8]) -> Bool {
        guard let header = try? ChunkHeader(decoding: chunkHeader) else { return false }
        let total = header.totalLength
        let budget = configuration.memoryBudget
        guard total <= budget, bytesInProgress + total > budget else { return false }
        if let state = partitions[partition] {
            guard state.open.isEmpty, state.finished[header.payloadID] == nil else { return false }
        }
        return true
    }

    /// Forgets a partition (revoked by a rebalance): drops its open payloads and releases their memory.
    ///
    /// Their offsets were never committed, so the partition's next owner reads them again.
    public mutating func removePartition(_ partition: Int32) {
        guard let state = partitions.removeValue(forKey: partition) else { return }
        for payload in state.open.values { bytesInProgress -= payload.header.totalLength }
    }

    /// Fails the payloads whose next chunk has not come within the timeout.
    ///
    /// Call it periodically (for example from the spout's `nextTuple` when idle).
    public mutating func expire(now: ContinuousClock.Instant) -> [ChunkAssemblyEvent] {
        var events: [ChunkAssemblyEvent] = []
        for partition in Array(partitions.keys) {
            guard var state = partitions.removeValue(forKey: partition) else { continue }
            failStale(&state, partition: partition, offset: nil, now: now, into: &events)
            partitions[partition] = state
        }
        return events
    }

    /// Takes one record, the next in offset order on its partition.
    ///
    /// - Parameters:
    ///   - partition: The record's partition.
    ///   - offset: The record's offset.
    ///   - value: The record's value.
    ///   - chunkHeader: The value of the record's `gale-chunk` header, or `nil` when it has none.
    ///   - now: The current time, for ``Configuration/timeout``.
    /// - Returns: What became of this record and of payloads it completed or timed out, in order.
    public mutating func add(
        partition: Int32,
        offset: Int64,
        value: [UInt8],
        chunkHeader: [UInt8]?,
        now: ContinuousClock.Instant
    ) -> [ChunkAssemblyEvent] {
        var events: [ChunkAssemblyEvent] = []
        var state = partitions.removeValue(forKey: partition) ?? PartitionState()
        defer { partitions[partition] = state }
        failStale(&state, partition: partition, offset: offset, now: now, into: &events)

        guard let chunkHeader else {
            let payload = AssembledPayload(
                partition: partition,
                payloadID: nil,
                value: value,
                offsets: [offset],
                firstOffset: offset,
                lastOffset: offset
            )
            events.append(.payload(payload))
            return events
        }
        let header: ChunkHeader
        do {
            header = try ChunkHeader(decoding: chunkHeader)
        } catch {
            events.append(
                .failed(
                    ChunkingError(
                        code: .malformedHeader,
                        partition: partition,
                        payloadID: nil,
                        offsets: [offset],
                        detail: error.description
                    )
                )
            )
            return events
        }
        let id = header.payloadID
        var open = state.open.removeValue(forKey: id)

        // The chunk's own integrity: its length and its checksum over body and header.
        let bodyChecksum = CRC32C.checksum(value)
        let problem: (ChunkingError.Code, String)?
        if value.count != header.expectedBodyLength {
            problem = (
                .inconsistentChunk,
                "chunk \(header.index) of \(header.count) has \(value.count) bytes, expected \(header.expectedBodyLength)"
            )
        } else if header.expectedChunkChecksum(bodyChecksum: bodyChecksum) != header.chunkChecksum {
            problem = (.checksumMismatch, "chunk \(header.index) of \(header.count) does not match its checksum")
        } else if let first = open?.header,
            first.count != header.count || first.chunkSize != header.chunkSize
                || first.totalLength != header.totalLength || first.payloadChecksum != header.payloadChecksum
        {
            problem = (
                .inconsistentChunk,
                "chunk \(header.index) announces \(header.count) chunks of \(header.chunkSize) bytes, "
                    + "\(header.totalLength) bytes in all, but earlier chunks announced \(first.count) chunks of "
                    + "\(first.chunkSize) bytes, \(first.totalLength) bytes in all"
            )
        } else {
            problem = nil
        }
        if let (code, detail) = problem {
            if let open {
                events.append(
                    .failed(fail(open, in: &state, partition: partition, code: code, detail: detail, extra: offset))
                )
            } else {
                state.remember(id, as: .failed, limit: configuration.rememberedPayloadsPerPartition)
                events.append(
                    .failed(
                        ChunkingError(
                            code: code,
                            partition: partition,
                            payloadID: id,
                            offsets: [offset],
                            detail: detail
                        )
                    )
                )
            }
            return events
        }

        // A chunk of a payload already finished: a late duplicate, or a chunk of a dropped payload.
        if open == nil, let finished = state.finished[id] {
            switch finished {
            case .failed:
                events.append(.skipped(partition: partition, offset: offset, reason: .failedPayload(id)))
            case .completed(let chunkChecksums):
                if header.index < chunkChecksums.count, chunkChecksums[header.index] == header.chunkChecksum {
                    events.append(
                        .skipped(partition: partition, offset: offset, reason: .duplicateChunk(id, index: header.index))
                    )
                } else {
                    let detail = "chunk \(header.index) arrived again after the payload completed, with other contents"
                    events.append(
                        .failed(
                            ChunkingError(
                                code: .conflictingDuplicate,
                                partition: partition,
                                payloadID: id,
                                offsets: [offset],
                                detail: detail
                            )
                        )
                    )
                }
            }
            return events
        }

        // `take()` leaves the payload's buffer uniquely referenced, so storing a chunk does not copy it.
        if var payload = open.take() {
            guard !payload.received[header.index] else {
                if payload.chunkChecksums[header.index] == header.chunkChecksum {
                    state.open[id] = payload
                    events.append(
                        .skipped(partition: partition, offset: offset, reason: .duplicateChunk(id, index: header.index))
                    )
                } else {
                    let detail = "chunk \(header.index) arrived twice with different contents"
                    events.append(
                        .failed(
                            fail(
                                payload,
                                in: &state,
                                partition: partition,
                                code: .conflictingDuplicate,
                                detail: detail,
                                extra: offset
                            )
                        )
                    )
                }
                return events
            }
            payload.store(header, body: value, bodyChecksum: bodyChecksum, offset: offset, now: now)
            open = payload
        } else {
            // The first chunk of a new payload: make room, check the budget, allocate.
            if state.open.count >= configuration.maxOpenPayloadsPerPartition,
                let oldest = state.open.values.min(by: { $0.firstOffset < $1.firstOffset })
            {
                let detail =
                    "\(state.open.count) payloads were open on the partition when another began; "
                    + "received \(oldest.receivedCount) of \(oldest.header.count) chunks"
                events.append(
                    .failed(
                        fail(oldest, in: &state, partition: partition, code: .missingChunk, detail: detail, extra: nil)
                    )
                )
            }
            let total = header.totalLength
            let budget = configuration.memoryBudget
            if total > budget || bytesInProgress + total > budget {
                let detail =
                    total > budget
                    ? "payload of \(total) bytes is larger than the budget of \(budget) bytes"
                    : "payload of \(total) bytes does not fit: \(bytesInProgress) of \(budget) bytes are in use"
                state.remember(id, as: .failed, limit: configuration.rememberedPayloadsPerPartition)
                events.append(
                    .failed(
                        ChunkingError(
                            code: .budgetExceeded,
                            partition: partition,
                            payloadID: id,
                            offsets: [offset],
                            detail: detail
                        )
                    )
                )
                return events
            }
            bytesInProgress += total
            var payload = OpenPayload(header: header, firstOffset: offset, now: now)
            payload.store(header, body: value, bodyChecksum: bodyChecksum, offset: offset, now: now)
            open = payload
        }

        guard let payload = open else { return events }
        guard payload.receivedCount == payload.header.count else {
            state.open[id] = payload
            return events
        }

        // Complete: verify the whole payload's checksum, derived from the chunks' checksums.
        var checksum = payload.bodyChecksums[0]
        for index in 1..<payload.header.count {
            let length =
                index == payload.header.count - 1 ? payload.header.expectedLastLength : payload.header.chunkSize
            checksum = CRC32C.combine(checksum, payload.bodyChecksums[index], secondLength: length)
        }
        guard checksum == payload.header.payloadChecksum else {
            let detail = "the reassembled payload does not match its checksum"
            events.append(
                .failed(
                    fail(payload, in: &state, partition: partition, code: .checksumMismatch, detail: detail, extra: nil)
                )
            )
            return events
        }
        bytesInProgress -= payload.header.totalLength
        state.remember(id, as: .completed(payload.chunkChecksums), limit: configuration.rememberedPayloadsPerPartition)
        let offsets = payload.offsets.sorted()
        events.append(
            .payload(
                AssembledPayload(
                    partition: partition,
                    payloadID: id,
                    value: payload.buffer,
                    offsets: offsets,
                    firstOffset: offsets.first ?? offset,
                    lastOffset: offsets.last ?? offset
                )
            )
        )
        return events
    }

    // MARK: - Failing payloads

    /// Fails the open payloads of a partition whose next chunk is overdue in offsets or time.
    private mutating func failStale(
        _ state: inout PartitionState,
        partition: Int32,
        offset: Int64?,
        now: ContinuousClock.Instant,
        into events: inout [ChunkAssemblyEvent]
    ) {
        guard !state.open.isEmpty else { return }
        var stale: [OpenPayload] = []
        for payload in state.open.values {
            if let offset, offset - payload.lastOffset > configuration.maxOffsetGap {
                stale.append(payload)
            } else if now - payload.lastActivity > configuration.timeout {
                stale.append(payload)
            }
        }
        stale.sort { $0.firstOffset < $1.firstOffset }
        for payload in stale {
            let detail: String
            if let offset, offset - payload.lastOffset > configuration.maxOffsetGap {
                detail =
                    "received \(payload.receivedCount) of \(payload.header.count) chunks; offset \(offset) is more than "
                    + "\(configuration.maxOffsetGap) offsets past the last chunk"
            } else {
                detail =
                    "received \(payload.receivedCount) of \(payload.header.count) chunks; no chunk for more than "
                    + "\(configuration.timeout)"
            }
            state.open.removeValue(forKey: payload.header.payloadID)
            events.append(
                .failed(
                    fail(payload, in: &state, partition: partition, code: .missingChunk, detail: detail, extra: nil)
                )
            )
        }
    }

    /// Drops an open payload, releases its memory and remembers it as failed.
    private mutating func fail(
        _ payload: OpenPayload,
        in state: inout PartitionState,
        partition: Int32,
        code: ChunkingError.Code,
        detail: String,
        extra offset: Int64?
    ) -> ChunkingError {
        let id = payload.header.payloadID
        state.open.removeValue(forKey: id)
        bytesInProgress -= payload.header.totalLength
        state.remember(id, as: .failed, limit: configuration.rememberedPayloadsPerPartition)
        var offsets = payload.offsets
        if let offset { offsets.append(offset) }
        offsets.sort()
        return ChunkingError(code: code, partition: partition, payloadID: id, offsets: offsets, detail: detail)
    }
}

// MARK: - Per-partition state

extension ChunkAssembler {
    /// A payload waiting for chunks.
    struct OpenPayload: Sendable {
        /// The first chunk's header; the others must agree on count, size, length and checksum.
        var header: ChunkHeader
        /// The payload, allocated at its full length; bytes are written before they are read.
        var buffer: [UInt8]
        var bodyChecksums: [UInt32]
        var chunkChecksums: [UInt32]
        var received: [Bool]
        var receivedCount = 0
        var offsets: [Int64] = []
        var firstOffset: Int64
        var lastOffset: Int64
        var lastActivity: ContinuousClock.Instant

        init(header: ChunkHeader, firstOffset: Int64, now: ContinuousClock.Instant) {
            self.header = header
            // UInt8 is trivial: every byte is overwritten by a chunk before the payload is delivered.
            self.buffer = [UInt8](unsafeUninitializedCapacity: header.totalLength) { _, count in
                count = header.totalLength
            }
            self.bodyChecksums = [UInt32](repeating: 0, count: header.count)
            self.chunkChecksums = [UInt32](repeating: 0, count: header.count)
            self.received = [Bool](repeating: false, count: header.count)
            self.firstOffset = firstOffset
            self.lastOffset = firstOffset
            self.lastActivity = now
        }

        /// Copies a verified chunk into place.
        mutating func store(
            _ chunk: ChunkHeader,
            body: [UInt8],
            bodyChecksum: UInt32,
            offset: Int64,
            now: ContinuousClock.Instant
        ) {
            let start = chunk.payloadOffset
            buffer.withUnsafeMutableBytes { destination in
                body.withUnsafeBytes { source in
                    UnsafeMutableRawBufferPointer(rebasing: destination[start..<start + source.count])
                        .copyMemory(from: source)
                }
            }
            bodyChecksums[chunk.index] = bodyChecksum
            chunkChecksums[chunk.index] = chunk.chunkChecksum
            received[chunk.index] = true
            receivedCount += 1
            offsets.append(offset)
            lastOffset = max(lastOffset, offset)
            lastActivity = now
        }
    }

    /// What is remembered of a finished payload.
    enum Finished: Sendable {
        /// Delivered: the chunk checksums, to recognise identical duplicates.
        case completed([UInt32])
        /// Failed or rejected: later chunks are skipped.
        case failed
    }

    /// One partition's open payloads and recently finished payload ids.
    struct PartitionState: Sendable {
        var open: [PayloadID: OpenPayload] = [:]
        var finished: [PayloadID: Finished] = [:]
        var finishedOrder: [PayloadID] = []

        mutating func remember(_ id: PayloadID, as outcome: Finished, limit: Int) {
            if finished.updateValue(outcome, forKey: id) == nil {
                finishedOrder.append(id)
            }
            if finishedOrder.count > limit {
                let excess = finishedOrder.count - limit
                for old in finishedOrder.prefix(excess) { finished.removeValue(forKey: old) }
                finishedOrder.removeFirst(excess)
            }
        }
    }
}

extension ChunkHeader {
    /// The body length of the last chunk.
    var expectedLastLength: Int { totalLength - chunkSize * (count - 1) }
}
