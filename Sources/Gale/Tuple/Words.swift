/// The words of a string: its runs of characters between ASCII whitespace (space, tab, line feed,
/// carriage return, vertical tab, form feed), in order, without empty words.
///
/// The fast way to split text in a bolt. It scans the string's UTF-8 bytes once (no `Character`
/// iteration, no array of substrings), and each word of up to 15 UTF-8 bytes is a `String` stored
/// inline (no allocation); emitting it as `.string(word)` copies no text. Non-ASCII whitespace
/// (such as U+00A0) is part of a word, and every word is valid text: the string is split only
/// at ASCII bytes.
///
/// ```swift
/// for word in tuple.words(at: 0) {
///     collector.emit([.string(word)])
/// }
/// ```
public struct Words: Sequence, Sendable {
    @usableFromInline let text: String

    /// The words of `text`.
    @inlinable
    public init(_ text: String) {
        self.text = text
    }

    @inlinable
    public func makeIterator() -> Iterator {
        Iterator(text: text)
    }

    /// Iterates the words, from the first.
    public struct Iterator: IteratorProtocol {
        @usableFromInline var text: String
        /// The UTF-8 offset the next word is searched from.
        @usableFromInline var position = 0

        @inlinable
        init(text: String) {
            self.text = text
        }

        @inlinable
        public mutating func next() -> String? {
            var end = position
            let word: String?? = text.utf8.withContiguousStorageIfAvailable { bytes in
                let count = bytes.count
                var start = end
                while start < count && Words.isSpace(bytes[start]) { start += 1 }
                guard start < count else {
                    end = count
                    return nil
                }
                end = start + 1
                while end < count && !Words.isSpace(bytes[end]) { end += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
            }
            guard let word else { return nextWithoutContiguousStorage() }
            position = end
            return word
        }

        /// ``next()`` for a string whose UTF-8 is not stored contiguously (one bridged from
        /// another representation).
        @usableFromInline
        mutating func nextWithoutContiguousStorage() -> String? {
            let bytes = Array(text.utf8)
            var start = position
            while start < bytes.count && Words.isSpace(bytes[start]) { start += 1 }
            guard start < bytes.count else {
                position = bytes.count
                return nil
            }
            var end = start + 1
            while end < bytes.count && !Words.isSpace(bytes[end]) { end += 1 }
            position = end
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
    }

    /// `true` for the ASCII whitespace bytes words are split at.
    @inlinable @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }
}

extension String {
    /// The words of this string (``Words``): split at ASCII whitespace without `Character`
    /// iteration or an array of substrings.
    @inlinable public var words: Words { Words(self) }
}

extension Tuple {
    /// The words of the string at `index` (``Words``); no words when the value is not a string
    /// or `index` is out of range.
    @inlinable
    public func words(at index: Int) -> Words {
        Words(string(at: index) ?? "")
    }
}
