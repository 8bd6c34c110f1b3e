public import Gale

/// A stream grouped by key fields (``Stream/groupBy(_:)``).
public struct GroupedStream {
    /// The stream before it is partitioned by the keys (each aggregation partitions it).
    let stream: Stream
    let keys: [String]

    /// Aggregates each group of a batch; the results are the key fields followed by the `output`
    /// fields, once the batch is complete.
    public func aggregate(_ input: [String], _ aggregator: any Aggregator, output: [String]) -> Stream {
        let stream = stream.partitionBy(keys)
        let keyIndices = stream.indices(of: keys, operation: "groupBy(\(keys)).aggregate")
        let indices = stream.indices(of: input, operation: "groupBy(\(keys)).aggregate(\(input))")
        return stream.then(
            .groupAggregate(keys: keyIndices, input: indices, names: input, aggregator: aggregator),
            fields: keys + output
        )
    }

    /// ``aggregate(_:_:output:)-(_,any Aggregator,_)`` with a combiner.
    public func aggregate(_ input: [String], _ combiner: any CombinerAggregator, output: [String]) -> Stream {
        aggregate(input, CombinerAsAggregator(combiner), output: output)
    }

    /// Folds each group of every batch into the state `name` (one value per key, under the key
    /// fields' values), exactly once per batch: at commit, in txid order, in one transaction per
    /// task. `kind` must match the spout: `.transactional` for a transactional spout, `.opaque`
    /// for an opaque one.
    ///
    /// - Returns: The state, for ``Stream/stateQuery(_:keys:output:)``.
    public func persistentAggregate(
        _ name: String,
        _ factory: any StateFactory,
        _ input: [String],
        _ combiner: any CombinerAggregator,
        output: String,
        kind: StateKind = .transactional
    ) -> TridentState {
        // Partial aggregation first (as Storm Trident does for combiners): each task combines its
        // share of a batch per key, so one tuple per key and task crosses to the state's bolt at
        // the batch's finish instead of one per input tuple.
        let keyIndices = stream.indices(of: keys, operation: "persistentAggregate(\(name))")
        let indices = stream.indices(of: input, operation: "persistentAggregate(\(name))")
        let partial = stream.then(
            .groupAggregate(keys: keyIndices, input: indices, names: input, aggregator: CombinerAsAggregator(combiner)),
            fields: keys + ["$partial"]
        )
        return GroupedStream(stream: partial, keys: keys)
            .persistent(name, factory, ["$partial"], .partials(combiner), kind: kind)
    }

    /// ``persistentAggregate(_:_:_:_:output:kind:)-(_,_,_,any CombinerAggregator,_,_)`` with a
    /// reducer: the batch's tuples of a key are folded into its stored value one by one.
    public func persistentAggregate(
        _ name: String,
        _ factory: any StateFactory,
        _ input: [String],
        _ reducer: any ReducerAggregator,
        output: String,
        kind: StateKind = .transactional
    ) -> TridentState {
        persistent(name, factory, input, .reducer(reducer), kind: kind)
    }

    fileprivate func persistent(
        _ name: String,
        _ factory: any StateFactory,
        _ input: [String],
        _ updater: StateUpdater,
        kind: StateKind
    ) -> TridentState {
        let topology = stream.topology
        topology.claimStateName(name)
        let stream = stream.partitionBy(keys)
        let keyIndices = stream.indices(of: keys, operation: "persistentAggregate(\(name))")
        let indices = stream.indices(of: input, operation: "persistentAggregate(\(name))")
        let node = stream.then(
            .persistentAggregate(
                state: name,
                factory: factory,
                kind: kind,
                keys: keyIndices,
                input: indices,
                names: input,
                updater: updater
            ),
            fields: []
        ).node
        // The aggregation runs in the bolt that the grouping starts: its tasks are the state's partitions.
        return TridentState(name: name, factory: factory, kind: kind, keys: keys, partitioned: stream.node, node: node)
    }
}

/// A state written by ``GroupedStream/persistentAggregate(_:_:_:_:output:kind:)``, which
/// ``Stream/stateQuery(_:keys:output:)`` can read.
public struct TridentState {
    /// The state's name.
    public let name: String
    let factory: any StateFactory
    let kind: StateKind
    /// The key fields.
    public let keys: [String]
    /// The partitioning node whose bolt holds the state's partitions.
    let partitioned: StreamNode
    let node: StreamNode

    /// The number of partitions (tasks) of the state.
    var parallelism: Int { partitioned.parallelism ?? 1 }

    /// Runs the state's bolt with `tasks` tasks: the state's partitions.
    @discardableResult
    public func parallelismHint(_ tasks: Int) -> TridentState {
        partitioned.parallelism = max(1, tasks)
        return self
    }
}
