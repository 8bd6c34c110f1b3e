/// How a stream's tuples are spread over the tasks of a subscribing bolt.
public enum Grouping: Sendable {
    /// Round-robin over the tasks in a random order: an even spread.
    case shuffle
    /// Tuples with equal values in `fields` go to the same task.
    case fields(Fields)
    /// Every task gets every tuple.
    case all
    /// The task with the lowest id gets every tuple.
    case global
    /// No preference (currently the same as shuffle).
    case none
    /// The emitter names the task with `emitDirect`; the stream must be declared direct.
    case direct
    /// Prefers tasks in the emitter's own worker process; shuffles among them.
    case localOrShuffle
    /// Each key goes to the less loaded of two candidate tasks: at most two tasks per key.
    case partialKey(Fields)
    /// A user grouping; `name` identifies it in descriptions, `factory` makes one per emitting task.
    case custom(name: String, factory: @Sendable () -> any CustomStreamGrouping)

    /// The grouping's name in topology descriptions.
    public var typeName: String {
        switch self {
        case .shuffle: "shuffle"
        case .fields: "fields"
        case .all: "all"
        case .global: "global"
        case .none: "none"
        case .direct: "direct"
        case .localOrShuffle: "local_or_shuffle"
        case .partialKey: "partial_key"
        case .custom: "custom"
        }
    }

    /// The fields the grouping reads, if any.
    public var groupingFields: Fields? {
        switch self {
        case .fields(let f), .partialKey(let f): f
        default: nil
        }
    }
}

/// A bolt's subscription to one stream of another component.
public struct Subscription: Sendable {
    /// The emitting component.
    public var component: String
    /// The stream of that component.
    public var stream: String
    /// How tuples are spread over the subscriber's tasks.
    public var grouping: Grouping
}
