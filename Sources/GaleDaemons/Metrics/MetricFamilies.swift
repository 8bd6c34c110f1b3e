import Foundation
import Prometheus

/// The Prometheus metric families of one scrape, rendered as text exposition (format 0.0.4):
/// one `# HELP` and one `# TYPE` line per family, however many workers or tasks add series to
/// it.
///
/// Counters and gauges are rendered by swift-prometheus (a `PrometheusCollectorRegistry` made
/// for the scrape); histograms, whose bucket counts come ready-made from the workers (and
/// swift-prometheus records observations one at a time), by ``render()`` itself.
///
/// Input from workers is not trusted: a series whose family name or label names are not valid,
/// whose family exists with another type, whose series names would collide with another
/// family's (`X_count` beside a histogram `X`), whose labels repeat a name or another series'
/// set, or whose value is not finite (negative, for a counter) is left out and counted in
/// ``dropped``, never a crash (swift-prometheus stops the process on a type or help mismatch:
/// this type never hands it one).
package struct MetricFamilies: Sendable {
    package enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// One series of a histogram: cumulative counts per upper bound, sum and count.
    package struct Histogram: Sendable, Equatable {
        package var bounds: [Double]
        package var cumulative: [UInt64]
        package var sum: Double
        package var count: UInt64

        package init(bounds: [Double], cumulative: [UInt64], sum: Double, count: UInt64) {
            self.bounds = bounds
            self.cumulative = cumulative
            self.sum = sum
            self.count = count
        }
    }

    private enum Value: Sendable {
        case number(Double)
        case histogram(Histogram)
    }

    private struct Series: Sendable {
        var labels: [(String, String)]
        var value: Value
    }

    private struct Family: Sendable {
        var kind: Kind
        var help: String
        var series: [Series] = []
        var labelSets: Set<[String]> = []
    }

    private var families: [String: Family] = [:]
    /// Every series name a family renders (a histogram's `_bucket`, `_sum`, `_count`), to the
    /// family.
    private var seriesNames: [String: String] = [:]
    /// Series left out (see the type's discussion).
    package private(set) var dropped = 0

    package init() {}

    /// The names of the families, sorted.
    package var names: [String] { families.keys.sorted() }

    /// Adds a counter series; `false` (and counted in ``dropped``) when it is left out.
    @discardableResult
    package mutating func counter(
        _ name: String,
        _ help: String,
        _ labels: [(String, String)] = [],
        _ value: Double
    )
        -> Bool
    {
        guard value >= 0 else { return drop() }
        return add(name, .counter, help, labels, .number(value))
    }

    /// Adds a counter series from an unsigned count.
    @discardableResult
    package mutating func counter(
        _ name: String,
        _ help: String,
        _ labels: [(String, String)] = [],
        _ value: UInt64
    )
        -> Bool
    {
        counter(name, help, labels, Double(value))
    }

    /// Adds a gauge series; `false` (and counted in ``dropped``) when it is left out.
    @discardableResult
    package mutating func gauge(
        _ name: String,
        _ help: String,
        _ labels: [(String, String)] = [],
        _ value: Double
    )
        -> Bool
    {
        add(name, .gauge, help, labels, .number(value))
    }

    /// Adds a histogram series; `false` (and counted in ``dropped``) when it is left out (also
    /// when its bounds are not ascending, or its counts not cumulative up to `count`).
    @discardableResult
    package mutating func histogram(
        _ name: String,
        _ help: String,
        _ labels: [(String, String)] = [],
        _ histogram: Histogram
    ) -> Bool {
        let h = histogram
        guard h.bounds.count == h.cumulative.count, h.sum.isFinite,
            zip(h.bounds, h.bounds.dropFirst()).allSatisfy({ $0 < $1 }), h.bounds.allSatisfy(\.isFinite),
            zip(h.cumulative, h.cumulative.dropFirst()).allSatisfy({ $0 <= $1 }), (h.cumulative.last ?? 0) <= h.count
        else { return drop() }
        return add(name, .histogram, help, labels, .histogram(h))
    }

    private mutating func drop() -> Bool {
        dropped += 1
        return false
    }

    private mutating func add(
        _ name: String,
        _ kind: Kind,
        _ help: String,
        _ labels: [(String, String)],
        _ value: Value
    ) -> Bool {
        if case .number(let n) = value, !n.isFinite { return drop() }
        guard Self.isMetricName(name), labels.allSatisfy({ Self.isLabelName($0.0) }),
            Set(labels.map(\.0)).count == labels.count,
            kind != .histogram || !labels.contains(where: { $0.0 == "le" })
        else { return drop() }
        let own = kind == .histogram ? [name + "_bucket", name + "_sum", name + "_count", name] : [name]
        if var family = families[name] {
            guard family.kind == kind else { return drop() }
            // Either every series of a family has labels or its one series has none.
            guard !family.series.isEmpty, !labels.isEmpty, !family.series[0].labels.isEmpty else { return drop() }
            guard family.labelSets.insert(Self.key(labels)).inserted else { return drop() }
            family.series.append(Series(labels: labels, value: value))
            families[name] = family
            return true
        }
        guard own.allSatisfy({ seriesNames[$0] == nil }) else { return drop() }
        for series in own { seriesNames[series] = name }
        var family = Family(kind: kind, help: Self.cleanHelp(help))
        family.labelSets.insert(Self.key(labels))
        family.series.append(Series(labels: labels, value: value))
        families[name] = family
        return true
    }

    /// A label set's identity, whatever the order of its labels.
    private static func key(_ labels: [(String, String)]) -> [String] {
        labels.sorted { $0.0 < $1.0 }.flatMap { [$0.0, $0.1] }
    }

    /// The exposition text of every family.
    package func render() -> String {
        let registry = PrometheusCollectorRegistry()
        var histograms: [String] = []
        for name in names {
            guard let family = families[name] else { continue }
            let descriptor = MetricNameDescriptor(metricName: name, unitName: "", helpText: family.help)
            switch family.kind {
            case .counter:
                for series in family.series {
                    guard case .number(let value) = series.value else { continue }
                    let counter = registry.makeCounter(descriptor: descriptor, labels: series.labels)
                    if value == value.rounded(), value < 9.2e18 {
                        counter.increment(by: Int64(value))
                    } else {
                        counter.increment(by: value)
                    }
                }
            case .gauge:
                for series in family.series {
                    guard case .number(let value) = series.value else { continue }
                    registry.makeGauge(descriptor: descriptor, labels: series.labels).set(to: value)
                }
            case .histogram:
                histograms.append(Self.renderHistogram(name, family))
            }
        }
        return registry.emitToString() + histograms.joined()
    }

    private static func renderHistogram(_ name: String, _ family: Family) -> String {
        var text = ""
        if !family.help.isEmpty { text += "# HELP \(name) \(escapeHelp(family.help))\n" }
        text += "# TYPE \(name) histogram\n"
        for series in family.series {
            guard case .histogram(let h) = series.value else { continue }
            let labels = series.labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }
            func line(_ suffix: String, _ extra: [String], _ value: String) {
                let all = labels + extra
                text += name + suffix + (all.isEmpty ? "" : "{" + all.joined(separator: ",") + "}") + " " + value + "\n"
            }
            for (bound, count) in zip(h.bounds, h.cumulative) {
                line("_bucket", ["le=\"\(number(bound))\""], String(count))
            }
            line("_bucket", ["le=\"+Inf\""], String(h.count))
            line("_sum", [], number(h.sum))
            line("_count", [], String(h.count))
        }
        return text
    }

    /// A number as the exposition writes it.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for c in value.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func escapeHelp(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\")
    }

    /// Help text without control characters (swift-prometheus drops them too: both renderings
    /// agree).
    static func cleanHelp(_ help: String) -> String {
        String(
            String.UnicodeScalarView(
                help.unicodeScalars.filter { $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value) }
            )
        )
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    package static func isMetricName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, isLetter(first) || first == UInt8(ascii: ":") else { return false }
        return bytes.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: ":") }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved).
    package static func isLabelName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, isLetter(first), !name.hasPrefix("__") else { return false }
        return bytes.allSatisfy { isLetter($0) || isDigit($0) }
    }

    private static func isLetter(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || c == UInt8(ascii: "_")
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}
