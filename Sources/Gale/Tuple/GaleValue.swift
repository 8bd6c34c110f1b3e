import Foundation

/// A value carried by a ``Tuple``.
///
/// Tuples hold an ordered list of `GaleValue`s. The cases cover what crosses a process boundary
/// without user code: a user type travels as ``bytes(_:)`` in an encoding it chooses.
public enum GaleValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case list([GaleValue])
    case map([String: GaleValue])
}

// MARK: - Accessors

extension GaleValue {
    /// The string, or `nil` when the value is not a string.
    @inlinable public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer, or `nil` when the value is not an integer.
    @inlinable public var intValue: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }

    /// The double (integers convert), or `nil` for other values.
    @inlinable public var doubleValue: Double? {
        switch self {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }

    /// The boolean, or `nil` when the value is not a boolean.
    @inlinable public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The bytes, or `nil` when the value is not bytes.
    @inlinable public var bytesValue: [UInt8]? {
        if case .bytes(let b) = self { return b }
        return nil
    }

    /// The list, or `nil` when the value is not a list.
    @inlinable public var listValue: [GaleValue]? {
        if case .list(let l) = self { return l }
        return nil
    }

    /// The map, or `nil` when the value is not a map.
    @inlinable public var mapValue: [String: GaleValue]? {
        if case .map(let m) = self { return m }
        return nil
    }

    /// `true` for ``null``.
    @inlinable public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The name of the value's type, for logs and errors (never the value itself).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .int: "int"
        case .double: "double"
        case .string: "string"
        case .bytes: "bytes"
        case .list: "list"
        case .map: "map"
        }
    }
}

// MARK: - Literals

extension GaleValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: GaleValue...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, GaleValue)...) {
        self = .map(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

// MARK: - Stable hashing

extension GaleValue {
    /// Folds the value into a 64-bit FNV-1a hash that is the same in every process.
    ///
    /// Swift's `Hasher` is seeded per process, so it cannot route a key to the same task from
    /// two workers; fields grouping uses this hash instead.
    @inlinable
    public func stableHash(into hash: inout UInt64) {
        switch self {
        case .null:
            GaleValue.mix(0, into: &hash)
        case .bool(let b):
            GaleValue.mix(b ? 1 : 2, into: &hash)
        case .int(let i):
            GaleValue.mix(3, into: &hash)
            GaleValue.mix64(UInt64(bitPattern: i), into: &hash)
        case .double(let d):
            GaleValue.mix(4, into: &hash)
            // 0.0 == -0.0, so both hash as 0.0.
            GaleValue.mix64(d == 0 ? 0 : d.bitPattern, into: &hash)
        case .string(let s):
            GaleValue.mix(5, into: &hash)
            GaleValue.mixString(s, into: &hash)
        case .bytes(let bytes):
            GaleValue.mix(6, into: &hash)
            for byte in bytes { GaleValue.mix(byte, into: &hash) }
        case .list(let list):
            GaleValue.mix(7, into: &hash)
            for element in list { element.stableHash(into: &hash) }
        case .map(let map):
            GaleValue.mix(8, into: &hash)
            for key in map.keys.sorted() {
                GaleValue.mix(5, into: &hash)
                GaleValue.mixString(key, into: &hash)
                map[key, default: .null].stableHash(into: &hash)
            }
        }
    }

    /// The FNV-1a offset basis.
    public static let hashSeed: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The hash fields grouping routes a tuple by: ``stableHash(into:)`` of the values at
    /// `indices`, in order, from ``hashSeed``. Its remainder by the number of target tasks picks
    /// the task (in task id order).
    @inlinable
    public static func fieldsHash(of values: [GaleValue], at indices: [Int]) -> UInt64 {
        var hash = hashSeed
        for index in indices { values[index].stableHash(into: &hash) }
        return hash
    }

    /// ``fieldsHash(of:at:)`` of all of `values` (the grouping fields' values alone, in order).
    @inlinable
    public static func fieldsHash(of values: [GaleValue]) -> UInt64 {
        var hash = hashSeed
        for value in values { value.stableHash(into: &hash) }
        return hash
    }

    @inlinable
    static func mix(_ byte: UInt8, into hash: inout UInt64) {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    /// Mixes a string's UTF-8 bytes; non-ASCII text is first put in Unicode normal form C, since
    /// canonically equivalent strings are equal in Swift and must hash alike.
    @usableFromInline
    static func mixString(_ string: String, into hash: inout UInt64) {
        var copy = string
        var h = hash
        let ascii = copy.withUTF8 { buffer in
            for byte in buffer {
                if byte >= 0x80 { return false }
                mix(byte, into: &h)
            }
            return true
        }
        if ascii {
            hash = h
            return
        }
        for byte in string.precomposedStringWithCanonicalMapping.utf8 { mix(byte, into: &hash) }
    }

    @inlinable
    static func mix64(_ value: UInt64, into hash: inout UInt64) {
        var v = value
        for _ in 0..<8 {
            mix(UInt8(truncatingIfNeeded: v), into: &hash)
            v >>= 8
        }
    }
}

// MARK: - Description

extension GaleValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): String(b)
        case .int(let i): String(i)
        case .double(let d): String(d)
        case .string(let s): s
        case .bytes(let b): "<\(b.count) bytes>"
        case .list(let l): "[" + l.map(\.description).joined(separator: ", ") + "]"
        case .map(let m):
            "{" + m.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}
