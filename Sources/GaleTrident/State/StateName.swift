/// A validated state name and the identifier that stores it.
///
/// A name may be any short text with at least one ASCII letter or digit; every character outside
/// `[A-Za-z0-9_]` becomes `_` in ``sanitized``. Names that sanitize alike (`"word-count"` and
/// `"word_count"`) name the same state.
package struct StateName: Hashable, Sendable {
    /// The longest name accepted, in characters.
    package static let maximumLength = 64

    /// The name as given.
    package let name: String
    /// The name with every character outside `[A-Za-z0-9_]` replaced by `_`.
    package let sanitized: String

    /// The SQLite table holding this state's entries.
    package var tableName: String { "gale_state_" + sanitized }

    /// Validates and sanitizes `name`.
    ///
    /// - Throws: ``StateError/invalidName(name:reason:)`` when the name is empty, longer than
    ///   ``maximumLength``, holds a control character, or has no ASCII letter or digit.
    package init(_ name: String) throws(StateError) {
        guard !name.isEmpty else {
            throw .invalidName(name: name, reason: "the name is empty")
        }
        guard name.count <= Self.maximumLength else {
            throw .invalidName(
                name: name,
                reason: "the name has \(name.count) characters, more than \(Self.maximumLength)"
            )
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidName(name: name, reason: "the name holds a control character")
        }
        let sanitized = String(name.map { Self.isIdentifierCharacter($0) ? $0 : "_" })
        guard sanitized.contains(where: { $0 != "_" }) else {
            throw .invalidName(name: name, reason: "the name has no ASCII letter or digit")
        }
        self.name = name
        self.sanitized = sanitized
    }

    private static func isIdentifierCharacter(_ character: Character) -> Bool {
        guard character.isASCII, let ascii = character.asciiValue else { return false }
        switch ascii {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}
