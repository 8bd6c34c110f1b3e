public import Gale

/// A stream of batches in a ``TridentTopology``; each operation returns a new stream.
///
/// Field names are checked as operations are added; the first mistake is thrown by
/// ``TridentTopology/build()`` as a ``TridentError`` naming the operation and the field.
public struct Stream {
    let topology: TridentTopology
    let node: StreamNode

    /// The fields of this stream's tuples.
    public var fields: [String] { node.fields }

    /// Positions of `names` in this stream's fields; records an error for unknown ones.
    func indices(of names: [String], operation: String) -> [Int] {
        var result: [Int] = []
        for name in names {
            if let index = node.fields.firstIndex(of: name) {
                result.append(index)
            } else {
                topology.record(.unknownField(field: name, operation: operation, available: node.fields))
                result.append(0)
            }
        }
        return result
    }

    func appending(_ output: [String], operation: String) -> [String] {
        for name in output where node.fields.contains(name) {
            topology.record(.duplicateField(field: name, operation: operation))
        }
        return node.fields + output
    }

    func then(_ operation: StreamNode.Operation, fields: [String]) -> Stream {
        Stream(topology: topology, node: topology.add(operation, parents: [node], fields: fields))
    }

    // MARK: - Per tuple

    /// Runs `function` on the `input` fields of each tuple; each list it emits is appended to the
    /// tuple as the `output` fields (a tuple it emits nothing for is dropped).
    public func each(_ input: [String], _ function: any TridentFunction, output: [String]) -> Stream {
        let indices = indices(of: input, operation: "each(\(input))")
        return then(
            .each(input: indices, names: input, function: function),
            fields: appending(output, operation: "each(\(input))")
        )
    }

    /// ``each(_:_:output:)`` with a closure.
    public func each(
        _ input: [String],
        output: [String],
        _ body: @escaping @Sendable (TridentTuple, (_ values: [GaleValue]) -> Void) throws -> Void
    ) -> Stream {
        each(input, FunctionClosure(body), output: output)
    }

    /// Replaces each tuple by `body`'s values for its `input` fields, named `output`.
    public func map(
        _ input: [String],
        output: [String],
        _ body: @escaping @Sendable (TridentTuple) throws -> [GaleValue]
    ) -> Stream {
        let indices = indices(of: input, operation: "map(\(input))")
        return then(.map(input: indices, names: input, body: body), fields: output)
    }

    /// Replaces each tuple by the value lists `body` returns for its `input` fields, named `output`.
    public func flatMap(
        _ input: [String],
        output: [String],
        _ body: @escaping @Sendable (TridentTuple) throws -> [[GaleValue]]
    ) -> Stream {
        let indices = indices(of: input, operation: "flatMap(\(input))")
        return then(.flatMap(input: indices, names: input, body: body), fields: output)
    }

    /// Keeps the tuples for which `predicate` of their `input` fields is true.
    public func filter(
        _ input: [String],
        _ predicate: @escaping @Sendable (TridentTuple) throws -> Bool
    ) -> Stream {
        let indices = indices(of: input, operation: "filter(\(input))")
        return then(.filter(input: indices, names: input, predicate: predicate), fields: node.fields)
    }

    /// Keeps only `fields`, in that order.
    public func project(_ fields: [String]) -> Stream {
        then(.project(indices: indices(of: fields, operation: "project(\(fields))")), fields: fields)
    }

    // MARK: - Partitioning

    /// Sends tuples with equal `fields` to the same task of the next bolt.
    public func partitionBy(_ fields: [String]) -> Stream {
        _ = indices(of: fields, operation: "partitionBy(\(fields))")
        return then(.partition(.fields(fields)), fields: node.fields)
    }

    /// Spreads tuples evenly over the tasks of the next bolt.
    public func shuffle() -> Stream { then(.partition(.shuffle), fields: node.fields) }

    /// Sends every tuple to one task of the next bolt.
    public func global() -> Stream { then(.partition(.global), fields: node.fields) }

    /// Runs the bolt of this stream's last operation with `tasks` tasks.
    public func parallelismHint(_ tasks: Int) -> Stream {
        node.parallelism = max(1, tasks)
        return self
    }

    // MARK: - Aggregation

    /// Aggregates each task's share of a batch; the results (the `output` fields) replace the
    /// tuples once the batch is complete.
    public func partitionAggregate(_ input: [String], _ aggregator: any Aggregator, output: [String]) -> Stream {
        let indices = indices(of: input, operation: "partitionAggregate(\(input))")
        return then(.aggregate(input: indices, names: input, aggregator: aggregator), fields: output)
    }

    /// ``partitionAggregate(_:_:output:)-(_,any Aggregator,_)`` with a combiner.
    public func partitionAggregate(
        _ input: [String],
        _ combiner: any CombinerAggregator,
        output: [String]
    ) -> Stream {
        partitionAggregate(input, CombinerAsAggregator(combiner), output: output)
    }

    /// Aggregates the whole batch in one task; the results (the `output` fields) replace the
    /// tuples once the batch is complete.
    public func aggregate(_ input: [String], _ aggregator: any Aggregator, output: [String]) -> Stream {
        global().partitionAggregate(input, aggregator, output: output)
    }

    /// ``aggregate(_:_:output:)-(_,any Aggregator,_)`` with a combiner.
    public func aggregate(_ input: [String], _ combiner: any CombinerAggregator, output: [String]) -> Stream {
        aggregate(input, CombinerAsAggregator(combiner), output: output)
    }

    /// Groups the tuples by `fields` for ``GroupedStream/aggregate(_:_:output:)`` or
    /// ``GroupedStream/persistentAggregate(_:_:_:_:output:kind:)``.
    public func groupBy(_ fields: [String]) -> GroupedStream {
        _ = indices(of: fields, operation: "groupBy(\(fields))")
        return GroupedStream(stream: self, keys: fields)
    }

    // MARK: - Sinks

    /// Hands each batch of this stream's tuples to `sink` at commit, in txid order (see
    /// ``BatchWriter``). `name` must be unique in the topology and stable across its versions.
    public func sink(_ name: String, _ sink: any TridentSink) {
        topology.claimStateName("sink:\(name)")
        _ = then(.sink(name: name, sink: sink), fields: [])
    }

    // MARK: - State

    /// Looks up each tuple's `keys` fields in `state` and appends the stored value (`.null` when
    /// there is none) as the `output` field. Runs partitioned like the state.
    public func stateQuery(_ state: TridentState, keys: [String], output: String) -> Stream {
        let routed = partitionBy(keys).parallelismHint(state.parallelism)
        let indices = routed.indices(of: keys, operation: "stateQuery(\(state.name))")
        return routed.then(
            .stateQuery(state: state.name, factory: state.factory, kind: state.kind, keys: indices),
            fields: routed.appending([output], operation: "stateQuery(\(state.name))")
        )
    }
}
