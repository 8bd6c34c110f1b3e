import Foundation
import Testing

@testable import Gale

@Suite struct WordsTests {
    /// What `split(separator:)` on ASCII whitespace gives, the reference `Words` must match.
    static func reference(_ text: String) -> [String] {
        text.utf8.split(whereSeparator: { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }).map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    @Test(arguments: [
        "the cow jumped over the moon",
        "",
        " ",
        "   leading and trailing   ",
        "one",
        "tabs\tand\nnewlines\r\nand\u{0B}vertical\u{0C}feeds",
        "a  b   c",
        "a word longer than fifteen bytes: internationalization",
    ])
    func splitsLikeSplittingOnASCIIWhitespace(_ text: String) {
        #expect(Array(text.words) == Self.reference(text))
    }

    @Test func nonASCIITextStaysWholeAndValid() {
        // U+00A0 (no-break space) is not ASCII whitespace: it stays inside its word; é, 🏻 and
        // a combining mark are never cut.
        let text = "caf\u{E9} na\u{0308}ive 👍🏻\u{00A0}ok \u{4E16}\u{754C}"
        let words = Array(text.words)
        #expect(words == ["café", "na\u{0308}ive", "👍🏻\u{00A0}ok", "世界"])
        #expect(words == Self.reference(text))
    }

    @Test func aStringNotStoredAsUTF8SplitsTheSame() {
        // An NSString-backed string on Linux converts; a Substring-made string is native. Both
        // must split alike, whichever path (contiguous UTF-8 or not) the iterator takes.
        let text = String(NSString(string: "bridged text splits too"))
        #expect(Array(text.words) == ["bridged", "text", "splits", "too"])
    }

    @Test func aTupleSplitsItsStringField() {
        let source = TupleSource.intern(component: "spout", stream: "default", fields: ["sentence", "n"])
        let tuple = Tuple(values: ["four score  and seven", 7], source: source, sourceTask: 0)
        #expect(Array(tuple.words(at: 0)) == ["four", "score", "and", "seven"])
        #expect(Array(tuple.words(at: 1)).isEmpty)
        #expect(Array(tuple.words(at: 5)).isEmpty)
    }

    @Test func wordsAreEqualAndHashLikeAnyString() {
        // A word made from bytes must be the same dictionary key as a literal.
        var counts: [String: Int] = [:]
        for word in "b a b a b".words { counts[word, default: 0] += 1 }
        #expect(counts == ["a": 2, "b": 3])
    }
}

@Suite struct FastRandomTests {
    @Test func aSeedFixesTheSequence() {
        var a = FastRandom(seed: 42)
        var b = FastRandom(seed: 42)
        var c = FastRandom(seed: 43)
        let first = (0..<100).map { _ in a.next() }
        #expect(first == (0..<100).map { _ in b.next() })
        #expect(first != (0..<100).map { _ in c.next() })
    }

    @Test func aZeroSeedStillGeneratesNumbers() {
        var random = FastRandom(seed: 0)
        let numbers = Set((0..<1_000).map { _ in random.next() })
        #expect(numbers.count == 1_000)
    }

    @Test func everyElementIsPickedAboutEvenly() {
        var random = FastRandom(seed: 7)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { counts[Int.random(in: 0..<10, using: &random)] += 1 }
        // Each bucket expects 10,000; a fair generator stays within 5 % (about 16 standard
        // deviations) with this fixed seed.
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })
    }

    @Test func unseededGeneratorsDiffer() {
        var a = FastRandom()
        var b = FastRandom()
        #expect((0..<4).map { _ in a.next() } != (0..<4).map { _ in b.next() })
    }
}
