/// An offset in a partition: an absolute position or one of Kafka's logical offsets.
///
/// Committed offsets follow Kafka's convention: the offset to commit is the offset of the *next*
/// record to read (last processed offset + 1).
public struct KafkaOffset: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The offset value; negative values are logical offsets.
    public var rawValue: Int64

    /// Creates an offset from its value.
    public init(rawValue: Int64) {
        self.rawValue = rawValue
    }

    /// Creates an absolute offset.
    public init(_ value: Int64) {
        self.rawValue = value
    }

    /// The partition's first available record, as the broker reports it (ListOffsets earliest).
    public static let beginning = KafkaOffset(-2)
    /// Offset 0, where Gale assigns a partition it reads from its first record, with
    /// `auto.offset.reset` `earliest`: a log that starts later (records deleted by retention)
    /// answers the fetch with OFFSET_OUT_OF_RANGE and the consumer resets to its real start.
    /// Unlike ``beginning`` it does not trust the broker's reported log start, which the test
    /// broker (Tansu 0.6) was seen to put after records it holds when the first two batches of a
    /// partition were written at once.
    public static let zero = KafkaOffset(0)
    /// The end of the partition: only records produced from now on.
    public static let end = KafkaOffset(-1)
    /// The group's committed offset (falling back to `auto.offset.reset`).
    public static let stored = KafkaOffset(-1000)
    /// No offset: returned for a partition without a committed offset; ignored where an offset
    /// does not apply (pause, resume).
    public static let invalid = KafkaOffset(-1001)

    /// Whether this is a logical offset (``beginning``, ``end``, ``stored``, ``invalid``).
    public var isLogical: Bool {
        rawValue < 0
    }

    public static func < (lhs: KafkaOffset, rhs: KafkaOffset) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public var description: String {
        switch self {
        case .beginning: "beginning"
        case .end: "end"
        case .stored: "stored"
        case .invalid: "invalid"
        default: "\(rawValue)"
        }
    }
}
