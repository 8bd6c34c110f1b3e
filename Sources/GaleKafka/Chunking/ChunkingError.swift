/// A chunked payload that cannot be delivered, with the partition, offsets and payload id at fault.
///
/// The payload is never delivered in part or corrupt: the ``ChunkAssembler`` drops what it holds of
/// it, and the caller dead-letters or drops it (logging this error) and then counts ``offsets`` as
/// done so that commits move on.
public struct ChunkingError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, an extensible set.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name, as printed.
        public let name: String

        /// The `gale-chunk` record header is not a valid chunk header.
        public static let malformedHeader = Code(name: "malformed chunk header")
        /// A chunk's body does not match its checksum, or the payload does not match its own.
        public static let checksumMismatch = Code(name: "checksum mismatch")
        /// A chunk contradicts the other chunks of its payload (count, size, length, body length).
        public static let inconsistentChunk = Code(name: "inconsistent chunk")
        /// A chunk arrived twice with different contents.
        public static let conflictingDuplicate = Code(name: "conflicting duplicate chunk")
        /// A chunk never arrived: too many offsets or too much time passed, or too many payloads were open.
        public static let missingChunk = Code(name: "missing chunk")
        /// The payload does not fit in the assembler's memory budget.
        public static let budgetExceeded = Code(name: "memory budget exceeded")

        public var description: String { name }
    }

    /// What went wrong.
    public var code: Code
    /// The partition the payload was read from.
    public var partition: Int32
    /// The payload, or `nil` when the chunk header could not be read.
    public var payloadID: PayloadID?
    /// Every offset of the payload read so far, ascending: the caller counts them as done.
    public var offsets: [Int64]
    /// The specifics: which index, which lengths, which checksums.
    public var detail: String
    /// Where the error was raised.
    public var file: String
    /// Where the error was raised.
    public var line: Int

    /// An error naming its payload and offsets.
    public init(
        code: Code,
        partition: Int32,
        payloadID: PayloadID?,
        offsets: [Int64],
        detail: String,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.partition = partition
        self.payloadID = payloadID
        self.offsets = offsets
        self.detail = detail
        self.file = file
        self.line = line
    }

    public var description: String {
        let payload = payloadID.map { "chunked payload [\($0)]" } ?? "chunk"
        let span: String
        if let first = offsets.first, let last = offsets.last {
            span = first == last ? "offset \(first)" : "offsets \(first)...\(last) (\(offsets.count) records)"
        } else {
            span = "no offsets"
        }
        return "\(payload) on partition [\(partition)] at \(span): \(code): \(detail)"
    }
}
