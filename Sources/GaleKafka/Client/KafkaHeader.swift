/// A record header: a name and an optional value.
public struct KafkaHeader: Hashable, Sendable {
    /// The header's name.
    public var name: String
    /// The header's value; `nil` for a header without value.
    public var value: [UInt8]?

    /// Creates a header.
    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}
