/// The ordered field names of a stream.
///
/// A `Fields` value is immutable and cheap to copy; looking a name up is a dictionary lookup.
public struct Fields: Sendable, Hashable, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The field names, in order.
    public let names: [String]
    @usableFromInline let indexByName: [String: Int]

    /// Creates fields from their names, in order.
    public init(_ names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() where index[name] == nil {
            index[name] = i
        }
        self.indexByName = index
    }

    public init(arrayLiteral elements: String...) {
        self.init(elements)
    }

    /// The number of fields.
    @inlinable public var count: Int { names.count }

    /// The position of `name`, or `nil` when the stream has no such field.
    @inlinable public func index(of name: String) -> Int? { indexByName[name] }

    /// `true` when the stream declares `name`.
    public func contains(_ name: String) -> Bool { indexByName[name] != nil }

    /// The first name that appears twice, if any.
    public var firstDuplicate: String? {
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted { return name }
        return nil
    }

    public var description: String { "[" + names.joined(separator: ", ") + "]" }

    public static func == (lhs: Fields, rhs: Fields) -> Bool { lhs.names == rhs.names }
    public func hash(into hasher: inout Hasher) { hasher.combine(names) }
}
