/// A task's own metrics (Storm's metrics v2): counters, gauges, timers and histograms that the
/// task registers by name from its `prepare` or `open` and updates as it works.
///
/// ```swift
/// final class Counter: Bolt {
///     var words = MetricCounter.disabled
///     func prepare(context: TopologyContext) throws {
///         words = context.metrics.counter("wordcount_words_total")
///     }
///     func execute(_ tuple: Tuple, collector: OutputCollector) throws {
///         words.increment()
///         ...
///     }
/// }
/// ```
///
/// Every series carries the labels `topology`, `component` and `task` (and the ones given), and
/// in a cluster shows on the `/metrics` page of the supervisor that runs the task, labelled with
/// the worker (`HOST:PORT`) and its process id as well (docs/metrics.md). In a cluster worker
/// and a local run the runtime backs them with swift-metrics over a Prometheus registry; a
/// component may also use swift-metrics itself (`Counter(label:dimensions:)`): those series are
/// exported the same way. Without a runtime (a component tested on its own) every metric does
/// nothing.
///
/// Names: letters, digits, `_` and `:`, not starting with a digit, not starting with `gale_`
/// (Gale's own series) and not ending with `_bucket`, `_sum` or `_count`; one name is one kind
/// of metric in a worker. A name that breaks these rules gives a metric that does nothing, and
/// the worker logs why once. Name counters `..._total`.
public struct ComponentMetrics: Sendable {
    let backend: (any MetricsBackend)?
    /// `topology`, `component` and `task`.
    public let labels: [(String, String)]

    /// Metrics of task `taskId` of `componentId` in `topologyName`, created by `backend`
    /// (`nil`: every metric does nothing).
    public init(backend: (any MetricsBackend)?, topologyName: String, componentId: String, taskId: Int) {
        self.backend = backend
        self.labels = [("topology", topologyName), ("component", componentId), ("task", String(taskId))]
    }

    /// Metrics that do nothing.
    public static let disabled = ComponentMetrics(backend: nil, topologyName: "", componentId: "", taskId: 0)

    /// The labels of a series: the task's, then `extra` sorted by name (an extra label named
    /// like one of the task's is left out).
    func labels(_ extra: [String: String]) -> [(String, String)] {
        let own = Set(labels.map(\.0))
        return labels + extra.filter { !own.contains($0.key) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// A counter: a count that only goes up (tuples seen, errors, bytes written).
    public func counter(_ name: String, labels: [String: String] = [:]) -> MetricCounter {
        MetricCounter(handle: backend?.makeCounter(name: name, labels: self.labels(labels)))
    }

    /// A gauge: a value set now and then (a cache's size, a lag).
    public func gauge(_ name: String, labels: [String: String] = [:]) -> MetricGauge {
        MetricGauge(handle: backend?.makeGauge(name: name, labels: self.labels(labels)))
    }

    /// A timer: durations, exported as a histogram in seconds.
    public func timer(_ name: String, labels: [String: String] = [:]) -> MetricTimer {
        MetricTimer(handle: backend?.makeTimer(name: name, labels: self.labels(labels)))
    }

    /// A histogram of values (sizes, counts per batch).
    public func histogram(_ name: String, labels: [String: String] = [:]) -> MetricHistogram {
        MetricHistogram(handle: backend?.makeHistogram(name: name, labels: self.labels(labels)))
    }
}

/// A count that only goes up. Cheap to copy; safe to use from any thread.
public struct MetricCounter: Sendable {
    let handle: (any MetricCounterHandle)?

    /// A counter that does nothing (a placeholder until `prepare` or `open` sets the real one).
    public static let disabled = MetricCounter(handle: nil)

    /// Adds `amount` (a negative amount is ignored).
    public func increment(by amount: Int64 = 1) {
        guard amount > 0 else { return }
        handle?.increment(by: amount)
    }
}

/// A value that goes up and down. Cheap to copy; safe to use from any thread.
public struct MetricGauge: Sendable {
    let handle: (any MetricGaugeHandle)?

    /// A gauge that does nothing.
    public static let disabled = MetricGauge(handle: nil)

    /// Sets the value (a value that is not finite is ignored).
    public func set(_ value: Double) {
        guard value.isFinite else { return }
        handle?.set(value)
    }
}

/// Durations, exported as a histogram in seconds. Cheap to copy; safe to use from any thread.
public struct MetricTimer: Sendable {
    let handle: (any MetricTimerHandle)?

    /// A timer that does nothing.
    public static let disabled = MetricTimer(handle: nil)

    /// Records one duration (a negative one counts as zero).
    public func record(_ duration: Duration) {
        guard let handle else { return }
        let (seconds, attoseconds) = duration.components
        let (nanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflowAgain) = nanos.addingReportingOverflow(attoseconds / 1_000_000_000)
        handle.record(nanoseconds: overflow || overflowAgain ? (seconds < 0 ? 0 : Int64.max) : max(0, total))
    }

    /// Runs `body` and records how long it took.
    public func time<T>(_ body: () throws -> T) rethrows -> T {
        guard handle != nil else { return try body() }
        let clock = ContinuousClock()
        let start = clock.now
        defer { record(clock.now - start) }
        return try body()
    }
}

/// A distribution of values. Cheap to copy; safe to use from any thread.
public struct MetricHistogram: Sendable {
    let handle: (any MetricHistogramHandle)?

    /// A histogram that does nothing.
    public static let disabled = MetricHistogram(handle: nil)

    /// Records one value (a value that is not finite is ignored).
    public func record(_ value: Double) {
        guard value.isFinite else { return }
        handle?.record(value)
    }
}

/// Where ``ComponentMetrics`` creates its metrics: the runtime supplies one. Each method returns
/// `nil` for a metric it refuses (a bad name, a name taken by another kind).
public protocol MetricsBackend: Sendable {
    func makeCounter(name: String, labels: [(String, String)]) -> (any MetricCounterHandle)?
    func makeGauge(name: String, labels: [(String, String)]) -> (any MetricGaugeHandle)?
    func makeTimer(name: String, labels: [(String, String)]) -> (any MetricTimerHandle)?
    func makeHistogram(name: String, labels: [(String, String)]) -> (any MetricHistogramHandle)?
}

/// A counter of a ``MetricsBackend``.
public protocol MetricCounterHandle: Sendable {
    func increment(by amount: Int64)
}

/// A gauge of a ``MetricsBackend``.
public protocol MetricGaugeHandle: Sendable {
    func set(_ value: Double)
}

/// A timer of a ``MetricsBackend``.
public protocol MetricTimerHandle: Sendable {
    func record(nanoseconds: Int64)
}

/// A histogram of a ``MetricsBackend``.
public protocol MetricHistogramHandle: Sendable {
    func record(_ value: Double)
}
