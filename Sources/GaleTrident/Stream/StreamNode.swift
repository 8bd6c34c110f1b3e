public import Gale

/// How a stream is spread over the tasks of the next bolt.
enum Partitioning: Sendable {
    case fields([String])
    case shuffle
    case global
}

/// How ``GroupedStream/persistentAggregate(_:_:_:_:output:kind:)`` folds a batch into the state.
enum StateUpdater: Sendable {
    /// Each tuple's value, `initial(tuple)`, is combined into the key's batch result.
    case combiner(any CombinerAggregator)
    /// Each tuple carries a partial result (combined upstream, before the repartitioning), which
    /// is combined into the key's batch result.
    case partials(any CombinerAggregator)
    case reducer(any ReducerAggregator)
}

/// One operation of the stream graph. Built on one thread by ``TridentTopology``, immutable
/// once the topology is built.
final class StreamNode: @unchecked Sendable {
    enum Operation {
        case spout(name: String, spout: any TridentSpout)
        case each(input: [Int], names: [String], function: any TridentFunction)
        case map(input: [Int], names: [String], body: @Sendable (TridentTuple) throws -> [GaleValue])
        case flatMap(input: [Int], names: [String], body: @Sendable (TridentTuple) throws -> [[GaleValue]])
        case filter(input: [Int], names: [String], predicate: @Sendable (TridentTuple) throws -> Bool)
        case project(indices: [Int])
        case partition(Partitioning)
        case merge
        /// Aggregates each task's share of a batch (all of it after `global()`): emits at finish.
        case aggregate(input: [Int], names: [String], aggregator: any Aggregator)
        /// Aggregates per group within each task (after partitioning by the keys): emits at finish.
        case groupAggregate(keys: [Int], input: [Int], names: [String], aggregator: any Aggregator)
        /// Folds each group of a batch into a state at commit.
        case persistentAggregate(
            state: String,
            factory: any StateFactory,
            kind: StateKind,
            keys: [Int],
            input: [Int],
            names: [String],
            updater: StateUpdater
        )
        /// Reads a state for each tuple (partitioned like the state).
        case stateQuery(state: String, factory: any StateFactory, kind: StateKind, keys: [Int])
        /// Hands each batch to a writer at commit.
        case sink(name: String, sink: any TridentSink)
    }

    let id: Int
    let operation: Operation
    let parents: [StreamNode]
    /// The fields of the tuples this node outputs.
    let fields: [String]
    /// The tasks of the bolt running this node, when set (``Stream/parallelismHint(_:)``).
    var parallelism: Int?
    /// Finish phase in which this aggregation emits (aggregations only; 0 otherwise).
    var level = 0

    init(id: Int, operation: Operation, parents: [StreamNode], fields: [String]) {
        self.id = id
        self.operation = operation
        self.parents = parents
        self.fields = fields
    }

    var isSpout: Bool {
        if case .spout = operation { return true }
        return false
    }

    var isAggregation: Bool {
        switch operation {
        case .aggregate, .groupAggregate: true
        default: false
        }
    }

    /// Whether this node begins a new bolt: a repartitioning, a merge, or the first operation
    /// after a spout.
    var startsSegment: Bool {
        switch operation {
        case .spout: return false
        case .partition, .merge: return true
        default: return parents.contains { $0.isSpout }
        }
    }

    /// The Gale stream on which this node's output leaves its bolt.
    var streamId: String { "s\(id)" }
}
