public import Gale

/// Aggregates by combining one value per tuple: `combine(initial(t1), initial(t2))`, with
/// ``zero`` for no tuple. Partial results combine in any order, so a batch is combined per task
/// and per key before it meets the stored value (``GroupedStream/persistentAggregate(_:_:_:_:output:kind:)``).
///
/// Threading: `Sendable`; called on the serial queues of the tasks that aggregate.
public protocol CombinerAggregator: Sendable {
    /// The value one tuple contributes.
    func initial(_ tuple: TridentTuple) throws -> GaleValue
    /// Two partial results combined.
    func combine(_ a: GaleValue, _ b: GaleValue) throws -> GaleValue
    /// The result for no tuple.
    var zero: GaleValue { get }
}

/// Aggregates by folding the tuples one by one into a value that starts at ``initial``.
///
/// Threading: `Sendable`; called on the serial queues of the tasks that aggregate.
public protocol ReducerAggregator: Sendable {
    /// The value before any tuple.
    var initial: GaleValue { get }
    /// `state` with `tuple` folded in.
    func reduce(_ state: GaleValue, _ tuple: TridentTuple) throws -> GaleValue
}

/// The general aggregator: a state per batch (and per group), fed tuple by tuple, that emits
/// any number of value lists when the batch is complete.
///
/// Threading: `Sendable`; called on the serial queues of the tasks that aggregate.
public protocol Aggregator: Sendable {
    /// The state of a new batch (or group).
    func begin() -> GaleValue
    /// Folds `tuple` into `state`.
    func aggregate(_ state: inout GaleValue, _ tuple: TridentTuple) throws
    /// Emits the results of a complete batch (or group).
    func complete(_ state: GaleValue, emit: (_ values: [GaleValue]) -> Void) throws
}

/// A ``CombinerAggregator`` used as an ``Aggregator``: one value per batch (or group).
public struct CombinerAsAggregator: Aggregator {
    /// The combiner.
    public let combiner: any CombinerAggregator

    /// The aggregator of `combiner`.
    public init(_ combiner: any CombinerAggregator) { self.combiner = combiner }

    public func begin() -> GaleValue { combiner.zero }
    public func aggregate(_ state: inout GaleValue, _ tuple: TridentTuple) throws {
        state = try combiner.combine(state, try combiner.initial(tuple))
    }
    public func complete(_ state: GaleValue, emit: (_ values: [GaleValue]) -> Void) { emit([state]) }
}

/// A ``ReducerAggregator`` used as an ``Aggregator``: one value per batch (or group).
public struct ReducerAsAggregator: Aggregator {
    /// The reducer.
    public let reducer: any ReducerAggregator

    /// The aggregator of `reducer`.
    public init(_ reducer: any ReducerAggregator) { self.reducer = reducer }

    public func begin() -> GaleValue { reducer.initial }
    public func aggregate(_ state: inout GaleValue, _ tuple: TridentTuple) throws {
        state = try reducer.reduce(state, tuple)
    }
    public func complete(_ state: GaleValue, emit: (_ values: [GaleValue]) -> Void) { emit([state]) }
}

/// The error of an aggregator given a value it cannot aggregate.
public struct AggregationError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}

/// Counts tuples.
public struct Count: CombinerAggregator {
    public init() {}
    public func initial(_ tuple: TridentTuple) -> GaleValue { .int(1) }
    public func combine(_ a: GaleValue, _ b: GaleValue) -> GaleValue { .int((a.intValue ?? 0) &+ (b.intValue ?? 0)) }
    public var zero: GaleValue { .int(0) }
}

/// Sums the first input field (integers stay integers; a double makes the sum a double).
public struct Sum: CombinerAggregator {
    public init() {}
    public func initial(_ tuple: TridentTuple) throws -> GaleValue {
        let value = tuple.values.first ?? .null
        guard value.doubleValue != nil else {
            throw AggregationError(description: "Sum: field [\(tuple.fields.first ?? "?")] is not a number")
        }
        return value
    }
    public func combine(_ a: GaleValue, _ b: GaleValue) -> GaleValue {
        if case .int(let x) = a, case .int(let y) = b { return .int(x &+ y) }
        return .double((a.doubleValue ?? 0) + (b.doubleValue ?? 0))
    }
    public var zero: GaleValue { .int(0) }
}

/// The smallest number of the first input field (`.null` for no tuple).
public struct Min: CombinerAggregator {
    public init() {}
    public func initial(_ tuple: TridentTuple) throws -> GaleValue {
        let value = tuple.values.first ?? .null
        guard value.doubleValue != nil else {
            throw AggregationError(description: "Min: field [\(tuple.fields.first ?? "?")] is not a number")
        }
        return value
    }
    public func combine(_ a: GaleValue, _ b: GaleValue) -> GaleValue {
        guard let x = a.doubleValue else { return b }
        guard let y = b.doubleValue else { return a }
        return y < x ? b : a
    }
    public var zero: GaleValue { .null }
}

/// The largest number of the first input field (`.null` for no tuple).
public struct Max: CombinerAggregator {
    public init() {}
    public func initial(_ tuple: TridentTuple) throws -> GaleValue {
        let value = tuple.values.first ?? .null
        guard value.doubleValue != nil else {
            throw AggregationError(description: "Max: field [\(tuple.fields.first ?? "?")] is not a number")
        }
        return value
    }
    public func combine(_ a: GaleValue, _ b: GaleValue) -> GaleValue {
        guard let x = a.doubleValue else { return b }
        guard let y = b.doubleValue else { return a }
        return y > x ? b : a
    }
    public var zero: GaleValue { .null }
}
