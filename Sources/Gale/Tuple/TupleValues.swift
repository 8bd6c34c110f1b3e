/// The values of a ``Tuple``: a single value is kept inline, so a one-value tuple (a word, a
/// record) carries no array to allocate, share between threads and free; other counts keep
/// their array.
@usableFromInline
package enum TupleValues: Sendable {
    case one(GaleValue)
    case many([GaleValue])

    /// `values`, its one value taken out of the array when it has exactly one.
    @inlinable @inline(__always)
    package init(_ values: consuming [GaleValue]) {
        if values.count == 1 {
            self = .one(values[0])
        } else {
            self = .many(values)
        }
    }

    /// The number of values.
    @inlinable
    package var count: Int {
        @inline(__always) get {
            switch self {
            case .one: 1
            case .many(let values): values.count
            }
        }
    }

    /// The value at `index`. Precondition: `index < count`.
    @inlinable
    package subscript(index: Int) -> GaleValue {
        @inline(__always) get {
            switch self {
            case .one(let value):
                precondition(index == 0, "index \(index) out of range of 1 value")
                return value
            case .many(let values): return values[index]
            }
        }
    }

    /// The value at `index`, or `nil` when `index` is out of range. (`GaleValue` is
    /// `ExpressibleByNilLiteral`: the misses are spelled `.none`, not `nil`, which would be
    /// ``GaleValue/null``.)
    @inlinable
    package func at(_ index: Int) -> GaleValue? {
        switch self {
        case .one(let value):
            if index == 0 { return .some(value) }
        case .many(let values):
            if index >= 0 && index < values.count { return .some(values[index]) }
        }
        return .none
    }

    /// The values as an array (a new one for a single value).
    @inlinable
    package var array: [GaleValue] {
        switch self {
        case .one(let value): [value]
        case .many(let values): values
        }
    }
}
