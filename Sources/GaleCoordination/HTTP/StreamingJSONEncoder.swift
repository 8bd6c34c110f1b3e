import Foundation

/// Encodes a value as JSON bytes written as the value encodes itself, with no tree of boxed
/// values in between: Foundation's `JSONEncoder` spent two thirds of a 500-component status
/// answer's time building and then writing such a tree.
///
/// The output means what `JSONEncoder`'s (default strategies) means: objects keep the order in
/// which their keys were encoded (a synthesized `Codable` conformance encodes in declaration
/// order, so the output is deterministic), a `Double` is written as `JSONEncoder` writes it
/// (`1` for 1.0), `/` is not escaped, `Date`, `Data` and `URL` are written as `JSONEncoder`
/// writes them by default (seconds since 2001, base64, the absolute string), and a value that
/// encodes nothing is `{}`. A non-finite `Double` or `Float` throws `EncodingError.invalidValue`,
/// as it does there.
public struct StreamingJSONEncoder: Sendable {
    public init() {}

    /// `value` as UTF-8 JSON.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let writer = JSONStreamWriter()
        try writer.encodeValue(value)
        writer.closeAll()
        return writer.out
    }
}

/// The encoder handed to every value: one per top-level encode, holding the bytes written and
/// the containers still open.
///
/// Containers close lazily: writing an element at a container's level first closes every
/// container opened above it (a nested container, or what the previous element's value opened),
/// and a value's containers are closed when its `encode(to:)` returns.
final class JSONStreamWriter: Encoder {
    enum Kind {
        /// A value being encoded: written as `{}` if it wrote nothing.
        case value
        case object
        case array
    }

    struct Level {
        var kind: Kind
        /// `out.count` when the level was opened.
        var start: Int
        var first = true
    }

    var out: [UInt8] = []
    var levels: [Level] = []
    let codingPath: [any CodingKey] = []
    let userInfo: [CodingUserInfoKey: Any] = [:]

    init() {
        out.reserveCapacity(4_096)
    }

    // MARK: - Levels

    /// Closes every level above `count` levels.
    @inline(__always)
    func close(downTo count: Int) {
        while levels.count > count {
            let level = levels.removeLast()
            switch level.kind {
            case .object: out.append(UInt8(ascii: "}"))
            case .array: out.append(UInt8(ascii: "]"))
            case .value: if out.count == level.start { out.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "}")]) }
            }
        }
    }

    func closeAll() { close(downTo: 0) }

    /// Before an element of the container at `level`: closes what is open above it and writes
    /// the comma.
    @inline(__always)
    func beginElement(at level: Int) {
        if levels.count > level + 1 { close(downTo: level + 1) }
        if levels[level].first {
            levels[level].first = false
        } else {
            out.append(UInt8(ascii: ","))
        }
    }

    /// Opens a container. With `reuse` (the value asks its encoder again), the container the
    /// current value already opened is reused, as `JSONEncoder` does: a type and its
    /// superclass writing one object.
    func open(_ kind: Kind, reuse: Bool = false) -> Int {
        if reuse, let top = levels.last, top.kind == kind, levels.count >= 2,
            levels[levels.count - 2].kind == .value, levels[levels.count - 2].start == top.start - 1
        {
            return levels.count - 1
        }
        out.append(kind == .object ? UInt8(ascii: "{") : UInt8(ascii: "["))
        levels.append(Level(kind: kind, start: out.count))
        return levels.count - 1
    }

    // MARK: - Encoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedWriter<Key>(writer: self, level: open(.object, reuse: true)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedWriter(writer: self, level: open(.array, reuse: true))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleWriter(writer: self)
    }

    // MARK: - Values

    /// Encodes `value` at the current position, closing whatever it opened.
    func encodeValue<T: Encodable>(_ value: T) throws {
        if T.self == String.self, let s = value as? String { return string(s) }
        if T.self == Double.self, let d = value as? Double { return try double(d) }
        if T.self == Int.self, let i = value as? Int { return integer(i) }
        if T.self == Bool.self, let b = value as? Bool { return bool(b) }
        if T.self == Date.self, let date = value as? Date { return try double(date.timeIntervalSinceReferenceDate) }
        if T.self == Data.self, let data = value as? Data { return string(data.base64EncodedString()) }
        if T.self == URL.self, let url = value as? URL { return string(url.absoluteString) }
        let mark = levels.count
        levels.append(Level(kind: .value, start: out.count))
        try value.encode(to: self)
        close(downTo: mark)
    }

    func null() {
        out.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")])
    }

    func bool(_ b: Bool) {
        if b {
            out.append(contentsOf: [UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "u"), UInt8(ascii: "e")])
        } else {
            out.append(contentsOf: [
                UInt8(ascii: "f"), UInt8(ascii: "a"), UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "e"),
            ])
        }
    }

    @inline(__always)
    func integer<I: BinaryInteger>(_ value: I) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            unsigned(UInt64(value.magnitude))
        } else {
            unsigned(UInt64(value))
        }
    }

    func unsigned(_ value: UInt64) {
        if value < 10 {
            out.append(UInt8(ascii: "0") &+ UInt8(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var n = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while n > 0 {
                buffer[23 - count] = UInt8(ascii: "0") &+ UInt8(n % 10)
                n /= 10
                count += 1
            }
            out.append(contentsOf: buffer[(24 - count)...])
        }
    }

    func double(_ value: Double) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(codingPath: [], debugDescription: "\(value) is not a JSON number")
            )
        }
        if value == value.rounded(.towardZero), abs(value) < 1e15 {
            // A whole number: its digits, as JSONEncoder writes it ("1", not "1.0").
            integer(Int64(value))
            return
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        out.append(contentsOf: text.utf8)
    }

    func float(_ value: Float) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(codingPath: [], debugDescription: "\(value) is not a JSON number")
            )
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        out.append(contentsOf: text.utf8)
    }

    /// `s` quoted, with `"`, `\` and control characters escaped.
    func string(_ s: String) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var clean = 0
            for (i, byte) in bytes.enumerated()
            where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[clean..<i]))
                clean = i + 1
                out.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [
                        UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)],
                        hex[Int(byte & 15)],
                    ])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[clean...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    @inline(__always)
    func key(_ key: some CodingKey) {
        string(key.stringValue)
        out.append(UInt8(ascii: ":"))
    }
}

private struct KeyedWriter<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: JSONStreamWriter
    let level: Int
    var codingPath: [any CodingKey] { [] }

    @inline(__always)
    private func begin(_ key: Key) {
        writer.beginElement(at: level)
        writer.key(key)
    }

    mutating func encodeNil(forKey key: Key) throws {
        begin(key)
        writer.null()
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        begin(key)
        writer.bool(value)
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        begin(key)
        writer.string(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        begin(key)
        try writer.double(value)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        begin(key)
        try writer.float(value)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        begin(key)
        writer.integer(value)
    }
    mutating func encode(_ value: Int8, forKey key: Key) throws {
        begin(key)
        writer.integer(value)
    }
    mutating func encode(_ value: Int16, forKey key: Key) throws {
        begin(key)
        writer.integer(value)
    }
    mutating func encode(_ value: Int32, forKey key: Key) throws {
        begin(key)
        writer.integer(value)
    }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        begin(key)
        writer.integer(value)
    }
    mutating func encode(_ value: UInt, forKey key: Key) throws {
        begin(key)
        writer.integer(value)
    }
    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        begin(key)
        writer.integer(value)
    }
    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        begin(key)
        writer.integer(value)
    }
    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        begin(key)
        writer.integer(value)
    }
    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        begin(key)
        writer.integer(value)
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        begin(key)
        try writer.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        begin(key)
        return KeyedEncodingContainer(KeyedWriter<NestedKey>(writer: writer, level: writer.open(.object)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        begin(key)
        return UnkeyedWriter(writer: writer, level: writer.open(.array))
    }

    mutating func superEncoder() -> any Encoder {
        writer.beginElement(at: level)
        writer.string("super")
        writer.out.append(UInt8(ascii: ":"))
        writer.levels.append(JSONStreamWriter.Level(kind: .value, start: writer.out.count))
        return writer
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        begin(key)
        writer.levels.append(JSONStreamWriter.Level(kind: .value, start: writer.out.count))
        return writer
    }
}

private struct UnkeyedWriter: UnkeyedEncodingContainer {
    let writer: JSONStreamWriter
    let level: Int
    private(set) var count = 0
    var codingPath: [any CodingKey] { [] }

    init(writer: JSONStreamWriter, level: Int) {
        self.writer = writer
        self.level = level
    }

    @inline(__always)
    private mutating func begin() {
        writer.beginElement(at: level)
        count += 1
    }

    mutating func encodeNil() throws {
        begin()
        writer.null()
    }
    mutating func encode(_ value: Bool) throws {
        begin()
        writer.bool(value)
    }
    mutating func encode(_ value: String) throws {
        begin()
        writer.string(value)
    }
    mutating func encode(_ value: Double) throws {
        begin()
        try writer.double(value)
    }
    mutating func encode(_ value: Float) throws {
        begin()
        try writer.float(value)
    }
    mutating func encode(_ value: Int) throws {
        begin()
        writer.integer(value)
    }
    mutating func encode(_ value: Int8) throws {
        begin()
        writer.integer(value)
    }
    mutating func encode(_ value: Int16) throws {
        begin()
        writer.integer(value)
    }
    mutating func encode(_ value: Int32) throws {
        begin()
        writer.integer(value)
    }
    mutating func encode(_ value: Int64) throws {
        begin()
        writer.integer(value)
    }
    mutating func encode(_ value: UInt) throws {
        begin()
        writer.integer(value)
    }
    mutating func encode(_ value: UInt8) throws {
        begin()
        writer.integer(value)
    }
    mutating func encode(_ value: UInt16) throws {
        begin()
        writer.integer(value)
    }
    mutating func encode(_ value: UInt32) throws {
        begin()
        writer.integer(value)
    }
    mutating func encode(_ value: UInt64) throws {
        begin()
        writer.integer(value)
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        begin()
        try writer.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        begin()
        return KeyedEncodingContainer(KeyedWriter<NestedKey>(writer: writer, level: writer.open(.object)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        begin()
        return UnkeyedWriter(writer: writer, level: writer.open(.array))
    }

    mutating func superEncoder() -> any Encoder {
        begin()
        writer.levels.append(JSONStreamWriter.Level(kind: .value, start: writer.out.count))
        return writer
    }
}

private struct SingleWriter: SingleValueEncodingContainer {
    let writer: JSONStreamWriter
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { writer.null() }
    mutating func encode(_ value: Bool) throws { writer.bool(value) }
    mutating func encode(_ value: String) throws { writer.string(value) }
    mutating func encode(_ value: Double) throws { try writer.double(value) }
    mutating func encode(_ value: Float) throws { try writer.float(value) }
    mutating func encode(_ value: Int) throws { writer.integer(value) }
    mutating func encode(_ value: Int8) throws { writer.integer(value) }
    mutating func encode(_ value: Int16) throws { writer.integer(value) }
    mutating func encode(_ value: Int32) throws { writer.integer(value) }
    mutating func encode(_ value: Int64) throws { writer.integer(value) }
    mutating func encode(_ value: UInt) throws { writer.integer(value) }
    mutating func encode(_ value: UInt8) throws { writer.integer(value) }
    mutating func encode(_ value: UInt16) throws { writer.integer(value) }
    mutating func encode(_ value: UInt32) throws { writer.integer(value) }
    mutating func encode(_ value: UInt64) throws { writer.integer(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try writer.encodeValue(value) }
}
