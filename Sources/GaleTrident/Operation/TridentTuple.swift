public import Gale

/// The values an operation sees: its input fields, by name or position.
public struct TridentTuple: Sendable {
    /// The field names, in order.
    public let fields: [String]
    /// The values, one per field.
    public let values: [GaleValue]

    /// A tuple of `values` named by `fields`.
    public init(fields: [String], values: [GaleValue]) {
        self.fields = fields
        self.values = values
    }

    /// The value at `index`.
    public subscript(index: Int) -> GaleValue { values[index] }

    /// The value of field `name`, or `.null` when the tuple has no such field.
    public subscript(name: String) -> GaleValue {
        guard let index = fields.firstIndex(of: name) else { return .null }
        return values[index]
    }
}
