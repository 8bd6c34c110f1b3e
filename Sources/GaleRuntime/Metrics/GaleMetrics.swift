package import CoreMetrics
public import Gale
package import Logging
public import Prometheus
import Synchronization

/// The process's metrics system: swift-metrics bootstrapped once with swift-prometheus's factory
/// over ``registry``, where the components' ``ComponentMetrics`` and every swift-metrics series
/// of the process (a component's own `Counter(label:dimensions:)` included) end up. A worker
/// sends the registry's exposition text to its supervisor with each heartbeat
/// (``WorkerMetrics/user``).
public enum GaleMetrics {
    /// The registry the bootstrapped factory creates its metrics in.
    public static let registry = PrometheusCollectorRegistry()

    private static let bootstrapped = Mutex(false)

    /// Bootstraps `MetricsSystem` with a `PrometheusMetricsFactory` over ``registry``, once per
    /// process (later calls do nothing). A topology binary's `worker` and `local` commands call
    /// it; nothing else in the process may bootstrap swift-metrics (it may be bootstrapped only
    /// once).
    public static func bootstrap() {
        bootstrapped.withLock { done in
            guard !done else { return }
            done = true
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        }
    }

    /// The registry's exposition text, cut after the last whole line within `limit` bytes;
    /// `nil` when it is empty.
    public static func exposition(limit: Int = WorkerMetrics.userTextLimit) -> String? {
        cut(registry.emitToBuffer(), limit: limit)
    }

    /// `bytes` as text, cut after the last line end within `limit` bytes; `nil` when empty.
    static func cut(_ bytes: [UInt8], limit: Int) -> String? {
        guard !bytes.isEmpty else { return nil }
        guard bytes.count > limit else { return String(decoding: bytes, as: UTF8.self) }
        let head = bytes[..<max(0, limit)]
        guard let end = head.lastIndex(of: UInt8(ascii: "\n")) else { return nil }
        return String(decoding: bytes[...end], as: UTF8.self)
    }
}

/// ``MetricsBackend`` over swift-metrics: the components' metrics become swift-metrics
/// `Counter`, `Gauge`, `Timer` and `Recorder` objects of `factory` (by default whatever
/// `MetricsSystem` was bootstrapped with). A name that is not a valid Prometheus name, starts
/// with `gale_`, ends like a histogram's series, or was taken by another kind of metric in this
/// process gives `nil` (a metric that does nothing), logged once per name.
package final class SwiftMetricsBackend: MetricsBackend {
    enum Kind: String {
        case counter, gauge, timer, histogram
    }

    /// The backend every task of the process uses (the bootstrapped system's factory).
    package static let shared = SwiftMetricsBackend(factory: nil, logger: Logger(label: "gale.metrics"))

    private let factory: (any MetricsFactory)?
    private let logger: Logger
    private let kinds = Mutex<[String: Kind]>([:])
    private let refused = Mutex<Set<String>>([])

    /// - Parameter factory: where to create the metrics; `nil`: `MetricsSystem.factory` at the time.
    package init(factory: (any MetricsFactory)?, logger: Logger) {
        self.factory = factory
        self.logger = logger
    }

    /// Why `name` cannot name a component's metric, or `nil` when it can.
    package static func problem(with name: String) -> String? {
        let bytes = Array(name.utf8)
        guard let first = bytes.first else { return "the name is empty" }
        func letter(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || c == 58 }
        guard letter(first), bytes.allSatisfy({ letter($0) || ($0 >= 48 && $0 <= 57) }) else {
            return "a metric name has letters, digits, '_' and ':' only and does not start with a digit"
        }
        if name.hasPrefix("gale_") { return "names starting with gale_ are Gale's own series" }
        if ["_bucket", "_sum", "_count"].contains(where: { name.hasSuffix($0) }) {
            return "a name ending with _bucket, _sum or _count would clash with a histogram's series"
        }
        return nil
    }

    /// Whether `name` may be a metric of `kind` (claiming it for `kind`); logs a refusal once.
    private func claim(_ name: String, _ kind: Kind) -> Bool {
        var reason = Self.problem(with: name)
        if reason == nil {
            let taken = kinds.withLock { kinds -> Kind? in
                if let existing = kinds[name], existing != kind { return existing }
                kinds[name] = kind
                return nil
            }
            if let taken { reason = "the name is a \(taken.rawValue) already" }
        }
        guard let reason else { return true }
        if refused.withLock({ $0.insert("\(kind.rawValue) \(name)").inserted }) {
            logger.error("metric \(name) (\(kind.rawValue)) does nothing: \(reason)")
        }
        return false
    }

    private var currentFactory: any MetricsFactory { factory ?? MetricsSystem.factory }

    package func makeCounter(name: String, labels: [(String, String)]) -> (any MetricCounterHandle)? {
        guard claim(name, .counter) else { return nil }
        return CounterHandle(counter: CoreMetrics.Counter(label: name, dimensions: labels, factory: currentFactory))
    }

    package func makeGauge(name: String, labels: [(String, String)]) -> (any MetricGaugeHandle)? {
        guard claim(name, .gauge) else { return nil }
        return GaugeHandle(gauge: CoreMetrics.Gauge(label: name, dimensions: labels, factory: currentFactory))
    }

    package func makeTimer(name: String, labels: [(String, String)]) -> (any MetricTimerHandle)? {
        guard claim(name, .timer) else { return nil }
        return TimerHandle(timer: CoreMetrics.Timer(label: name, dimensions: labels, factory: currentFactory))
    }

    package func makeHistogram(name: String, labels: [(String, String)]) -> (any MetricHistogramHandle)? {
        guard claim(name, .histogram) else { return nil }
        return HistogramHandle(
            recorder: Recorder(label: name, dimensions: labels, aggregate: true, factory: currentFactory)
        )
    }

    private struct CounterHandle: MetricCounterHandle {
        let counter: CoreMetrics.Counter
        func increment(by amount: Int64) { counter.increment(by: amount) }
    }

    private struct GaugeHandle: MetricGaugeHandle {
        let gauge: CoreMetrics.Gauge
        func set(_ value: Double) { gauge.record(value) }
    }

    private struct TimerHandle: MetricTimerHandle {
        let timer: CoreMetrics.Timer
        func record(nanoseconds: Int64) { timer.recordNanoseconds(nanoseconds) }
    }

    private struct HistogramHandle: MetricHistogramHandle {
        let recorder: Recorder
        func record(_ value: Double) { recorder.record(value) }
    }
}
