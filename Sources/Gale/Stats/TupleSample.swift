/// One tuple sampled by a worker while event sampling is on for its component (`gale debug`).
public struct TupleSample: Sendable, Equatable, Codable {
    /// Seconds since 1970 when it was sampled.
    public var time: Double
    /// The component that emitted it (a spout) or executed it (a bolt).
    public var component: String
    /// The task that did.
    public var task: Int
    /// Its stream.
    public var stream: String
    /// Its values, rendered and truncated to ``maxValuesLength`` characters.
    public var values: String

    /// Longest rendering of a sample's values, in characters (a longer one ends in `…`).
    public static let maxValuesLength = 200

    public init(time: Double, component: String, task: Int, stream: String, values: String) {
        self.time = time
        self.component = component
        self.task = task
        self.stream = stream
        self.values = values
    }

    /// `values` as a sample shows them: `[v1, v2, ...]`, strings quoted, bytes as their count,
    /// cut to `limit` characters.
    public static func render(_ values: [GaleValue], limit: Int = maxValuesLength) -> String {
        var text = "["
        for (i, value) in values.enumerated() {
            if i > 0 { text += ", " }
            render(value, into: &text)
            if text.count > limit { break }
        }
        text += "]"
        guard text.count > limit else { return text }
        return String(text.prefix(max(0, limit - 1))) + "…"
    }

    private static func render(_ value: GaleValue, into text: inout String) {
        switch value {
        case .null: text += "null"
        case .bool(let b): text += b ? "true" : "false"
        case .int(let i): text += String(i)
        case .double(let d): text += String(d)
        case .string(let s):
            text += "\""
            // Enough of a long string to fill a sample.
            text += s.count > maxValuesLength ? String(s.prefix(maxValuesLength)) : s
            text += "\""
        case .bytes(let b): text += "<\(b.count) bytes>"
        case .list(let items):
            text += "["
            for (i, item) in items.enumerated() {
                if i > 0 { text += ", " }
                render(item, into: &text)
                if text.count > maxValuesLength { break }
            }
            text += "]"
        case .map(let entries):
            text += "{"
            for (i, (key, item)) in entries.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { text += ", " }
                text += "\"\(key)\": "
                render(item, into: &text)
                if text.count > maxValuesLength { break }
            }
            text += "}"
        }
    }
}
