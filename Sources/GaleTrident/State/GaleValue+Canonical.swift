import Foundation
package import Gale

/// The canonical binary encoding of a ``GaleValue``, used for the keys and values of durable states.
///
/// Equal values encode to equal bytes, so an encoded ``StateKey`` serves as an SQLite primary key:
///
/// - map entries are written in ascending order of their keys' UTF-8 bytes;
/// - strings (and map keys) are written in Unicode normal form C, since canonically equivalent
///   strings are equal in Swift;
/// - `-0.0` is written as `0.0` and every NaN as `Double.nan` (so `-0.0` decodes as `0.0`).
///
/// Layout: one tag byte, then the payload. Lengths and counts are unsigned LEB128 varints in their
/// shortest form; fixed-width numbers are big-endian.
///
/// | tag    | value                                                              |
/// |--------|--------------------------------------------------------------------|
/// | `0x00` | null                                                               |
/// | `0x01` | false                                                              |
/// | `0x02` | true                                                               |
/// | `0x03` | int: 8 bytes, two's complement                                     |
/// | `0x04` | double: 8 bytes, IEEE 754 bit pattern                              |
/// | `0x05` | string: byte count, UTF-8 bytes                                    |
/// | `0x06` | bytes: byte count, bytes                                           |
/// | `0x07` | list: element count, elements                                      |
/// | `0x08` | map: entry count, then per entry: key byte count, key UTF-8, value |
///
/// Decoding checks every bound and rejects what the encoder never writes (unknown tags, trailing
/// bytes, invalid UTF-8, unsorted or repeated map keys, overlong varints, nesting deeper than
/// ``canonicalMaximumDepth``) with ``StateError/corrupt(_:)``.
extension GaleValue {
    /// The deepest nesting of lists and maps that decodes; a scalar at the top level has depth 0.
    ///
    /// The limit keeps the recursive decoder's stack bounded whatever bytes it is given.
    package static let canonicalMaximumDepth = 256

    /// The value's canonical encoding.
    ///
    /// Values nested deeper than ``canonicalMaximumDepth`` encode but do not decode: durable states
    /// write through ``depthCheckedCanonicalBytes()`` instead.
    package var canonicalBytes: [UInt8] {
        var bytes: [UInt8] = []
        _ = CanonicalWriter.append(self, to: &bytes, depth: 0)
        return bytes
    }

    /// The value's canonical encoding, refused when it would not decode.
    ///
    /// - Throws: ``StateError/storage(_:)`` when the value nests lists and maps deeper than
    ///   ``canonicalMaximumDepth``.
    package func depthCheckedCanonicalBytes() throws(StateError) -> [UInt8] {
        var bytes: [UInt8] = []
        try appendDepthCheckedCanonicalBytes(to: &bytes)
        return bytes
    }

    /// Appends ``depthCheckedCanonicalBytes()`` to `bytes` (many values encoded into one buffer,
    /// without an array each).
    ///
    /// - Throws: As ``depthCheckedCanonicalBytes()``; `bytes` may then hold part of the value.
    package func appendDepthCheckedCanonicalBytes(to bytes: inout [UInt8]) throws(StateError) {
        guard CanonicalWriter.append(self, to: &bytes, depth: 0) else {
            throw .storage(
                "a \(typeName) value nests lists and maps deeper than \(Self.canonicalMaximumDepth) levels"
                    + " and cannot be stored"
            )
        }
    }

    /// Decodes a value from its canonical encoding.
    ///
    /// - Parameter canonicalBytes: Exactly one encoded value, with nothing after it.
    /// - Throws: ``StateError/corrupt(_:)`` naming the offset and the problem, for any input the
    ///   encoder would not have written. It never traps on malformed input.
    package init(canonicalBytes: [UInt8]) throws(StateError) {
        var reader = CanonicalReader(bytes: canonicalBytes)
        let value = try reader.readValue(depth: 0)
        guard reader.offset == canonicalBytes.count else {
            throw .corrupt(
                "canonical value: \(canonicalBytes.count - reader.offset) trailing bytes after the value"
                    + " at offset \(reader.offset)"
            )
        }
        self = value
    }
}

// MARK: - Tags

private enum CanonicalTag {
    static let null: UInt8 = 0x00
    static let `false`: UInt8 = 0x01
    static let `true`: UInt8 = 0x02
    static let int: UInt8 = 0x03
    static let double: UInt8 = 0x04
    static let string: UInt8 = 0x05
    static let bytes: UInt8 = 0x06
    static let list: UInt8 = 0x07
    static let map: UInt8 = 0x08
}

// MARK: - Writing

private enum CanonicalWriter {
    /// Appends `value`; returns `false` when some part of it lies deeper than the decodable depth
    /// (the bytes are complete either way).
    static func append(_ value: GaleValue, to bytes: inout [UInt8], depth: Int) -> Bool {
        switch value {
        case .null:
            bytes.append(CanonicalTag.null)
            return true
        case .bool(let flag):
            bytes.append(flag ? CanonicalTag.true : CanonicalTag.false)
            return true
        case .int(let int):
            bytes.append(CanonicalTag.int)
            appendFixed(UInt64(bitPattern: int), to: &bytes)
            return true
        case .double(let double):
            bytes.append(CanonicalTag.double)
            appendFixed(canonicalBitPattern(double), to: &bytes)
            return true
        case .string(let string):
            bytes.append(CanonicalTag.string)
            // ASCII (normalized already) straight from the string's storage.
            var copy = string
            let ascii = copy.withUTF8 { utf8 in
                guard !utf8.contains(where: { $0 >= 0x80 }) else { return false }
                appendVarint(UInt64(utf8.count), to: &bytes)
                bytes.append(contentsOf: utf8)
                return true
            }
            if !ascii { appendLengthPrefixed(normalizedUTF8(string), to: &bytes) }
            return true
        case .bytes(let raw):
            bytes.append(CanonicalTag.bytes)
            appendLengthPrefixed(raw, to: &bytes)
            return true
        case .list(let list):
            bytes.append(CanonicalTag.list)
            appendVarint(UInt64(list.count), to: &bytes)
            var withinDepth = depth < GaleValue.canonicalMaximumDepth
            for element in list {
                withinDepth = append(element, to: &bytes, depth: depth + 1) && withinDepth
            }
            return withinDepth
        case .map(let map):
            bytes.append(CanonicalTag.map)
            appendVarint(UInt64(map.count), to: &bytes)
            let entries = map.map { (key: normalizedUTF8($0.key), value: $0.value) }
                .sorted { $0.key.lexicographicallyPrecedes($1.key) }
            var withinDepth = depth < GaleValue.canonicalMaximumDepth
            for entry in entries {
                appendLengthPrefixed(entry.key, to: &bytes)
                withinDepth = append(entry.value, to: &bytes, depth: depth + 1) && withinDepth
            }
            return withinDepth
        }
    }

    /// `0.0` for both zeros (they are equal), one pattern for every NaN, the bit pattern otherwise.
    static func canonicalBitPattern(_ double: Double) -> UInt64 {
        if double.isNaN { return Double.nan.bitPattern }
        if double == 0 { return 0 }
        return double.bitPattern
    }

    /// The string's UTF-8 bytes in normal form C (ASCII strings are already normalized).
    static func normalizedUTF8(_ string: String) -> [UInt8] {
        let utf8 = Array(string.utf8)
        guard utf8.contains(where: { $0 >= 0x80 }) else { return utf8 }
        return Array(string.precomposedStringWithCanonicalMapping.utf8)
    }

    static func appendFixed(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    static func appendLengthPrefixed(_ payload: [UInt8], to bytes: inout [UInt8]) {
        appendVarint(UInt64(payload.count), to: &bytes)
        bytes.append(contentsOf: payload)
    }

    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }
}

// MARK: - Reading

/// A bounds-checked cursor over encoded bytes.
private struct CanonicalReader {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - offset }

    mutating func readValue(depth: Int) throws(StateError) -> GaleValue {
        let tagOffset = offset
        let tag = try readByte(what: "tag")
        switch tag {
        case CanonicalTag.null:
            return .null
        case CanonicalTag.false:
            return .bool(false)
        case CanonicalTag.true:
            return .bool(true)
        case CanonicalTag.int:
            return .int(Int64(bitPattern: try readFixed(what: "int")))
        case CanonicalTag.double:
            return .double(Double(bitPattern: try readFixed(what: "double")))
        case CanonicalTag.string:
            return .string(try readString(what: "string"))
        case CanonicalTag.bytes:
            let count = try readLength(what: "bytes length", minimumElementSize: 1)
            return .bytes(try readBytes(count, what: "bytes"))
        case CanonicalTag.list:
            try checkDepth(depth, at: tagOffset)
            let count = try readLength(what: "list count", minimumElementSize: 1)
            var list: [GaleValue] = []
            list.reserveCapacity(count)
            for _ in 0..<count {
                list.append(try readValue(depth: depth + 1))
            }
            return .list(list)
        case CanonicalTag.map:
            try checkDepth(depth, at: tagOffset)
            // An entry takes at least two bytes: an empty key's length and a null.
            let count = try readLength(what: "map count", minimumElementSize: 2)
            var map: [String: GaleValue] = [:]
            map.reserveCapacity(count)
            var previousKey: [UInt8]?
            for _ in 0..<count {
                let keyOffset = offset
                let keyLength = try readLength(what: "map key length", minimumElementSize: 1)
                let keyBytes = try readBytes(keyLength, what: "map key")
                if let previousKey, !previousKey.lexicographicallyPrecedes(keyBytes) {
                    throw .corrupt("canonical value: map key at offset \(keyOffset) is not after the previous key")
                }
                previousKey = keyBytes
                let key = try decodeUTF8(keyBytes, what: "map key", at: keyOffset)
                let value = try readValue(depth: depth + 1)
                guard map.updateValue(value, forKey: key) == nil else {
                    throw .corrupt("canonical value: map key at offset \(keyOffset) repeats an equal key")
                }
            }
            return .map(map)
        default:
            throw .corrupt("canonical value: unknown tag 0x\(String(tag, radix: 16)) at offset \(tagOffset)")
        }
    }

    func checkDepth(_ depth: Int, at tagOffset: Int) throws(StateError) {
        guard depth < GaleValue.canonicalMaximumDepth else {
            throw .corrupt(
                "canonical value: nesting deeper than \(GaleValue.canonicalMaximumDepth) levels at offset \(tagOffset)"
            )
        }
    }

    mutating func readByte(what: String) throws(StateError) -> UInt8 {
        guard offset < bytes.count else {
            throw .corrupt("canonical value: truncated: \(what) expected at offset \(offset)")
        }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readFixed(what: String) throws(StateError) -> UInt64 {
        guard remaining >= 8 else {
            throw .corrupt("canonical value: truncated: 8-byte \(what) expected at offset \(offset), \(remaining) left")
        }
        var value: UInt64 = 0
        for byte in bytes[offset..<(offset + 8)] {
            value = value << 8 | UInt64(byte)
        }
        offset += 8
        return value
    }

    mutating func readBytes(_ count: Int, what: String) throws(StateError) -> [UInt8] {
        guard count <= remaining else {
            throw .corrupt(
                "canonical value: truncated: \(count) bytes of \(what) expected at offset \(offset), \(remaining) left"
            )
        }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func readString(what: String) throws(StateError) -> String {
        let start = offset
        let count = try readLength(what: "\(what) length", minimumElementSize: 1)
        return try decodeUTF8(try readBytes(count, what: what), what: what, at: start)
    }

    func decodeUTF8(_ utf8: [UInt8], what: String, at start: Int) throws(StateError) -> String {
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw .corrupt("canonical value: \(what) at offset \(start) is not valid UTF-8")
        }
        return string
    }

    /// Reads a length or count whose elements take at least `minimumElementSize` bytes each, and
    /// refuses one that the remaining bytes cannot hold (so no huge allocation follows).
    mutating func readLength(what: String, minimumElementSize: Int) throws(StateError) -> Int {
        let start = offset
        let value = try readVarint(what: what)
        guard value <= UInt64(remaining / minimumElementSize) else {
            throw .corrupt(
                "canonical value: \(what) \(value) at offset \(start) exceeds the \(remaining) bytes left"
            )
        }
        return Int(value)
    }

    /// Reads an unsigned LEB128 varint in its shortest form.
    mutating func readVarint(what: String) throws(StateError) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte(what: what)
            let payload = UInt64(byte & 0x7F)
            guard shift < 64, shift < 63 || payload <= 1 else {
                throw .corrupt("canonical value: \(what) at offset \(start) overflows 64 bits")
            }
            value |= payload << shift
            if byte & 0x80 == 0 {
                guard byte != 0 || shift == 0 else {
                    throw .corrupt("canonical value: \(what) at offset \(start) is not in its shortest form")
                }
                return value
            }
            shift += 7
        }
    }
}
