/// A value ready to emit: a record that was not chunked, or a payload reassembled and verified.
public struct AssembledPayload: Sendable {
    /// The partition it was read from.
    public var partition: Int32
    /// The payload id, or `nil` for a record that was not chunked.
    public var payloadID: PayloadID?
    /// The value, byte-identical to what was encoded.
    public var value: [UInt8]
    /// Every offset that belongs to the value, ascending (one for a record that was not chunked).
    ///
    /// Duplicate chunks are not listed: they are reported as ``ChunkAssemblyEvent/skipped(partition:offset:reason:)``.
    public var offsets: [Int64]
    /// The first offset of the value.
    public var firstOffset: Int64
    /// The last offset of the value.
    public var lastOffset: Int64
}

/// What the ``ChunkAssembler`` made of the records given to it.
///
/// Every offset given to the assembler comes back exactly once: in a payload, in a failure or as
/// skipped. An offset of a payload still incomplete comes back later, when the payload completes or fails.
public enum ChunkAssemblyEvent: Sendable {
    /// A value to emit. Commit its ``AssembledPayload/offsets`` only when the emitted tuple is acked.
    case payload(AssembledPayload)
    /// A payload that is dropped; dead-letter or drop it, log the error, and count its offsets as done.
    case failed(ChunkingError)
    /// An offset that carries nothing to emit: count it as done now.
    case skipped(partition: Int32, offset: Int64, reason: SkipReason)

    /// Why an offset is skipped.
    public enum SkipReason: Hashable, Sendable {
        /// An identical copy of a chunk already received (a producer retry).
        case duplicateChunk(PayloadID, index: Int)
        /// A chunk of a payload already failed or rejected.
        case failedPayload(PayloadID)
    }
}
