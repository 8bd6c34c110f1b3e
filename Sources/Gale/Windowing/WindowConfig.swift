/// How much a window holds, or how often it slides: a number of tuples or a span of time.
public enum WindowMeasure: Sendable, Hashable, CustomStringConvertible {
    /// A number of tuples.
    case count(Int)
    /// A span of time (processing time, or event time when the window reads a timestamp field).
    case duration(Duration)

    /// The span in milliseconds (`nil` for a count).
    var milliseconds: Int64? {
        guard case .duration(let d) = self else { return nil }
        return d.inMilliseconds
    }

    /// The count (`nil` for a duration).
    var tuples: Int? {
        guard case .count(let n) = self else { return nil }
        return n
    }

    public var description: String {
        switch self {
        case .count(let n): "\(n) tuples"
        case .duration(let d): "\(d)"
        }
    }
}

/// The window of a ``WindowedBolt``: its length and sliding interval, and where its time comes
/// from (Storm's `BaseWindowedBolt.withWindow`, `withTumblingWindow`, `withTimestampField`,
/// `withLag`, `withWatermarkInterval` and `withLateTupleStream`).
///
/// ```swift
/// // The last 30 tuples, every 10 tuples.
/// WindowConfig.sliding(length: .count(30), every: .count(10))
/// // Minute windows by the tuples' own "ts" field (milliseconds since 1970), 5 s of disorder
/// // allowed, tuples behind the watermark on the stream "late".
/// WindowConfig.tumbling(.duration(.seconds(60)))
///     .eventTime(field: "ts", lag: .seconds(5))
///     .lateTuples(stream: "late")
/// ```
///
/// Duration windows are aligned to multiples of their sliding interval since 1970 and hold the
/// tuples whose time `t` has `end - length <= t < end`; a window is evaluated once time reaches its
/// end. Count-slid windows are evaluated at every `n`-th tuple.
public struct WindowConfig: Sendable, Hashable, CustomStringConvertible {
    /// How much a window holds.
    public var length: WindowMeasure
    /// How far the window moves between two evaluations.
    public var slide: WindowMeasure
    /// The input field holding each tuple's event time in milliseconds since 1970 (an `.int`);
    /// `nil` for processing time (the time the tuple reaches the bolt).
    public var timestampField: String?
    /// Event time only: how far behind the newest timestamp seen the watermark stays, so tuples
    /// up to this late still reach their windows.
    public var lag: Duration = .zero
    /// Event time only: how often the watermark moves.
    public var watermarkInterval: Duration = .seconds(1)
    /// Event time only: the stream tuples behind the watermark go to (fields `tuple`, the late
    /// tuple's values as a list, `component` and `stream`); `nil` drops them (each is logged
    /// and acked).
    public var lateTupleStream: String?
    /// Where each task keeps its windows' tuples: memory (the default), or a durable store for
    /// windows larger than memory that also survive the task.
    public var store: WindowStoreFactory = .memory

    /// A window of `length` evaluated every `every`.
    public static func sliding(length: WindowMeasure, every: WindowMeasure) -> WindowConfig {
        WindowConfig(length: length, slide: every)
    }

    /// Back-to-back windows of `length`: each tuple is in exactly one window.
    public static func tumbling(_ length: WindowMeasure) -> WindowConfig {
        WindowConfig(length: length, slide: length)
    }

    /// Creates a window of `length` sliding by `slide`.
    public init(length: WindowMeasure, slide: WindowMeasure) {
        self.length = length
        self.slide = slide
    }

    /// This window in event time, read from `field`, with the watermark `lag` behind the newest
    /// timestamp and moved every `watermarkInterval`.
    public func eventTime(field: String, lag: Duration = .zero, watermarkInterval: Duration = .seconds(1)) -> Self {
        var copy = self
        copy.timestampField = field
        copy.lag = lag
        copy.watermarkInterval = watermarkInterval
        return copy
    }

    /// This window with tuples behind the watermark sent on `stream`.
    public func lateTuples(stream: String) -> Self {
        var copy = self
        copy.lateTupleStream = stream
        return copy
    }

    /// This window with its tuples kept by `store` (for example GaleTrident's
    /// `WindowStoreFactory.sqlite(directory:)`): windows larger than memory, kept across restarts
    /// of the task, and each tuple acked once the store holds it durably.
    public func stored(in store: WindowStoreFactory) -> Self {
        var copy = self
        copy.store = store
        return copy
    }

    /// Whether the window runs on the tuples' own timestamps.
    public var isEventTime: Bool { timestampField != nil }

    /// The longest a tuple waits in this bolt before it is acked: with the memory store (duration
    /// windows only; `nil` for count windows), its last window's evaluation, so length and
    /// sliding interval; with a durable store, the next commit (at most a second). In event time
    /// add the lag and the watermark interval. The topology's message timeout must be longer.
    public var longestHold: Duration? {
        var hold: Duration
        if store.isDurable {
            hold = .seconds(1)
        } else {
            guard case .duration(let length) = length, case .duration(let slide) = slide else { return nil }
            hold = length + slide
        }
        if isEventTime { hold += lag + watermarkInterval }
        return hold
    }

    /// The most tuples a window needs in flight at once (count windows in memory; `nil`
    /// otherwise).
    public var countHeld: Int? {
        guard !store.isDurable, case .count(let length) = length else { return nil }
        if case .count(let slide) = slide { return length + slide }
        return length
    }

    /// The problem with this window, if any: non-positive lengths or intervals, a negative lag,
    /// a late stream without event time.
    public func problem() -> String? {
        for (name, measure) in [("length", length), ("sliding interval", slide)] {
            switch measure {
            case .count(let n) where n <= 0: return "the window's \(name) must be at least one tuple, not \(n)"
            case .duration(let d) where d <= .zero: return "the window's \(name) must be positive, not \(d)"
            case .duration(let d) where d < .milliseconds(1):
                return "the window's \(name) must be at least 1 ms, not \(d)"
            default: continue
            }
        }
        if lag < .zero { return "the lag must not be negative, not \(lag)" }
        if watermarkInterval <= .zero { return "the watermark interval must be positive, not \(watermarkInterval)" }
        if let field = timestampField, field.isEmpty { return "the timestamp field's name is empty" }
        if lateTupleStream != nil && !isEventTime {
            return "a late-tuple stream needs event time (a timestamp field): in processing time no tuple is late"
        }
        return nil
    }

    public var description: String {
        var text = length == slide ? "tumbling \(length)" : "\(length) every \(slide)"
        if let field = timestampField { text += ", event time from [\(field)], lag \(lag)" }
        if let stream = lateTupleStream { text += ", late tuples on [\(stream)]" }
        if store != .memory { text += ", stored in \(store)" }
        return text
    }
}
