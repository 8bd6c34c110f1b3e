/// Reads Prometheus text exposition (format 0.0.4) as a worker's registry writes it: the user
/// metrics a heartbeat carries (``Gale/WorkerMetrics/user``). The text comes from a process
/// running user code, so the reader trusts nothing: a line it cannot read is skipped (and
/// counted), a sample is taken only under the `# TYPE` line of its family, and the input is
/// read once, line by line.
package enum ExpositionParser {
    /// One family as read: its type and help, and its samples.
    package struct Family: Sendable, Equatable {
        package var name: String
        package var kind: MetricFamilies.Kind
        package var help: String
        package var samples: [Sample]
    }

    /// One sample line: the series name's suffix after the family name (`""`, `_bucket`,
    /// `_sum`, `_count`), its labels and value.
    package struct Sample: Sendable, Equatable {
        package var suffix: String
        package var labels: [Label]
        package var value: Double
    }

    package struct Label: Sendable, Equatable {
        package var name: String
        package var value: String
    }

    /// The families of `text` in order, and how many lines were skipped.
    package static func parse(_ text: String) -> (families: [Family], skipped: Int) {
        var families: [Family] = []
        var helps: [String: String] = [:]
        var skipped = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine[...]
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
                guard parts.count >= 3, parts[0] == "#" else { continue }  // a comment
                let name = String(parts[2])
                if parts[1] == "HELP" {
                    helps[name] = parts.count > 3 ? unescapeHelp(parts[3]) : ""
                } else if parts[1] == "TYPE" {
                    let kind: MetricFamilies.Kind? =
                        switch parts.count > 3 ? parts[3] : "" {
                        case "counter": .counter
                        case "gauge": .gauge
                        case "histogram": .histogram
                        default: nil
                        }
                    guard let kind else {
                        skipped += 1
                        continue
                    }
                    families.append(Family(name: name, kind: kind, help: helps[name] ?? "", samples: []))
                }
                continue
            }
            guard var family = families.last, let sample = parseSample(line, family: family) else {
                skipped += 1
                continue
            }
            family.samples.append(sample)
            families[families.count - 1] = family
        }
        // A HELP line after its TYPE line.
        for i in families.indices where families[i].help.isEmpty {
            families[i].help = helps[families[i].name] ?? ""
        }
        return (families, skipped)
    }

    /// A sample line of `family`: `name[{labels}] value [timestamp]`.
    static func parseSample(_ line: Substring, family: Family) -> Sample? {
        let bytes = Array(line.utf8)
        var i = 0
        while i < bytes.count, bytes[i] != UInt8(ascii: "{"), bytes[i] != UInt8(ascii: " ") { i += 1 }
        let name = String(decoding: bytes[0..<i], as: UTF8.self)
        let suffixes = family.kind == .histogram ? ["_bucket", "_sum", "_count"] : [""]
        guard let suffix = suffixes.first(where: { name == family.name + $0 }) else { return nil }
        var labels: [Label] = []
        if i < bytes.count, bytes[i] == UInt8(ascii: "{") {
            i += 1
            while true {
                while i < bytes.count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: ",") { i += 1 }
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    break
                }
                let start = i
                while i < bytes.count, bytes[i] != UInt8(ascii: "="), bytes[i] != UInt8(ascii: " ") { i += 1 }
                let labelName = String(decoding: bytes[start..<i], as: UTF8.self)
                guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "="), bytes[i + 1] == UInt8(ascii: "\"") else {
                    return nil
                }
                i += 2
                var value: [UInt8] = []
                var closed = false
                while i < bytes.count {
                    let c = bytes[i]
                    if c == UInt8(ascii: "\\") {
                        guard i + 1 < bytes.count else { return nil }
                        let next = bytes[i + 1]
                        value.append(next == UInt8(ascii: "n") ? UInt8(ascii: "\n") : next)
                        i += 2
                        continue
                    }
                    i += 1
                    if c == UInt8(ascii: "\"") {
                        closed = true
                        break
                    }
                    value.append(c)
                }
                guard closed else { return nil }
                labels.append(Label(name: labelName, value: String(decoding: value, as: UTF8.self)))
            }
        }
        let rest = String(decoding: bytes[i...], as: UTF8.self).split(separator: " ")
        guard (1...2).contains(rest.count), let value = parseNumber(rest[0]) else { return nil }
        return Sample(suffix: suffix, labels: labels, value: value)
    }

    /// A sample value: a decimal or `NaN`, `+Inf`, `-Inf`.
    static func parseNumber(_ text: Substring) -> Double? {
        switch text {
        case "+Inf", "Inf": .infinity
        case "-Inf": -.infinity
        case "NaN", "nan": .nan
        default: Double(text)
        }
    }

    static func unescapeHelp(_ text: Substring) -> String {
        var out = ""
        var escaped = false
        for c in text {
            if escaped {
                out.append(c == "n" ? "\n" : c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }
}
