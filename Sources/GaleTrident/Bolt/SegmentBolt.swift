public import Gale
import Logging

/// Runs one ``SegmentPlan`` of a transactional topology.
///
/// Data tuples carry `[txid, attempt, fields...]`; each goes through the plan's operations, and
/// what leaves the bolt is emitted anchored to it. Aggregations keep per-batch state
/// (``BatchState``), emit on the finish tuple of their level, and persistent aggregations apply
/// the batch to their ``MapState`` on the commit tuple (in txid order, by the coordinator's
/// design). Tuples of an older attempt of a batch than the one held are acked and dropped; a newer
/// attempt starts the batch's state afresh.
///
/// A commit can reach a task late, after its batch failed elsewhere and started again (tuples of
/// different senders interleave): it then finds no state of its attempt and applies nothing, or
/// applies its attempt's complete share, which the state's txid check keeps from counting twice
/// when the new attempt commits. So a commit never drops a newer attempt's state.
///
/// Threading: like every bolt, all of it runs on its task's serial queue.
final class SegmentBolt: Bolt {
    private let plan: SegmentPlan
    private var logger = Logger(label: "gale.trident.bolt")
    private var collector: (any OutputCollector)?
    private var batches: [Int64: BatchState] = [:]
    /// Opened states, by node id (persistent aggregations and state queries).
    private var states: [Int: MapState] = [:]
    /// The batch state a bolt that keeps nothing per batch passes around (never written).
    private let scratch = BatchState(attempt: 0)
    /// Writers of the sinks, by node id.
    private var writers: [Int: any BatchWriter] = [:]
    /// The tuple that outputs are anchored to while it is processed.
    private var anchor: Tuple?
    private var txid: Int64 = 0
    private var attempt: Int64 = 0

    private let topologyName: String
    private let config: TridentConfig
    private let upstreamStreams: [Int: [String]]

    init(plan: SegmentPlan, topologyName: String, config: TridentConfig, upstreamStreams: [Int: [String]]) {
        self.plan = plan
        self.topologyName = topologyName
        self.config = config
        self.upstreamStreams = upstreamStreams
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        for node in plan.nodes where plan.exported.contains(node.id) {
            declarer.declareStream(node.streamId, fields: Fields(["$txid", "$attempt"] + node.fields))
        }
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
        logger[metadataKey: "component"] = "\(context.componentId)"
        logger[metadataKey: "task"] = "\(context.taskIndex)"
        let partitions = max(1, context.componentTasks.count)
        for node in plan.nodes {
            switch node.operation {
            case .persistentAggregate(let state, let factory, let kind, _, _, _, _),
                .stateQuery(let state, let factory, let kind, _):
                let backing = try factory.makeBackingMap(
                    stateName: state,
                    partition: context.taskIndex,
                    partitions: partitions
                )
                states[node.id] = MapState(kind: kind, backing: backing)
            case .sink(let name, let sink):
                let store = try config.storeFactory.makeStore(topology: topologyName, settings: context.config.custom)
                writers[node.id] = try sink.makeWriter(
                    context: SinkContext(
                        topologyName: topologyName,
                        sinkName: name,
                        taskIndex: context.taskIndex,
                        tasks: partitions,
                        fields: node.parents.first?.fields ?? [],
                        upstreamStreams: upstreamStreams[node.id] ?? [],
                        store: store,
                        settings: context.config.custom
                    )
                )
            default:
                break
            }
        }
    }

    func execute(_ tuple: Tuple) {
        guard let collector, tuple.values.count >= 2, let txid = tuple.values[0].intValue,
            let attempt = tuple.values[1].intValue
        else {
            collector?.ack(tuple)
            return
        }
        self.txid = txid
        self.attempt = attempt
        anchor = tuple
        defer { anchor = nil }
        do {
            switch tuple.sourceStreamId {
            case MasterBatchCoordinator.finishStream:
                try finish(level: Int(tuple.values.count > 2 ? tuple.values[2].intValue ?? 0 : 0))
            case MasterBatchCoordinator.commitStream:
                try commit()
            default:
                guard let batch = batch(txid: txid, attempt: attempt) else { break }
                try feed(plan.entry, Array(tuple.values.dropFirst(2)), batch)
            }
            collector.ack(tuple)
        } catch {
            logger.warning("batch \(txid): \(error)")
            collector.reportError(error)
            collector.fail(tuple)
        }
    }

    /// The state of `txid` for `attempt`: `nil` for a stale attempt, fresh for a newer one (and
    /// ``scratch`` in a bolt that keeps nothing per batch).
    private func batch(txid: Int64, attempt: Int64) -> BatchState? {
        guard plan.keepsBatches else { return scratch }
        if let held = batches[txid] {
            if held.attempt == attempt { return held }
            if held.attempt > attempt { return nil }
        }
        let fresh = BatchState(attempt: attempt)
        batches[txid] = fresh
        return fresh
    }

    // MARK: - Operations

    private func select(_ values: [GaleValue], _ indices: [Int]) -> [GaleValue] {
        var selected: [GaleValue] = []
        selected.reserveCapacity(indices.count)
        for index in indices { selected.append(index < values.count ? values[index] : .null) }
        return selected
    }

    private func feed(_ node: StreamNode, _ values: [GaleValue], _ batch: BatchState) throws {
        switch node.operation {
        case .spout, .partition, .merge:
            try forward(node, values, batch)
        case .each(let input, let names, let function):
            var outputs: [[GaleValue]] = []
            try function.execute(TridentTuple(fields: names, values: select(values, input))) { outputs.append($0) }
            for output in outputs { try forward(node, values + output, batch) }
        case .map(let input, let names, let body):
            try forward(node, try body(TridentTuple(fields: names, values: select(values, input))), batch)
        case .flatMap(let input, let names, let body):
            for output in try body(TridentTuple(fields: names, values: select(values, input))) {
                try forward(node, output, batch)
            }
        case .filter(let input, let names, let predicate):
            if try predicate(TridentTuple(fields: names, values: select(values, input))) {
                try forward(node, values, batch)
            }
        case .project(let indices):
            try forward(node, select(values, indices), batch)
        case .aggregate(let input, let names, let aggregator):
            var state = batch.aggregates[node.id] ?? aggregator.begin()
            try aggregator.aggregate(&state, TridentTuple(fields: names, values: select(values, input)))
            batch.aggregates[node.id] = state
        case .groupAggregate(let keys, let input, let names, let aggregator):
            let key = select(values, keys)
            var state = batch.groups[node.id]?[key] ?? aggregator.begin()
            try aggregator.aggregate(&state, TridentTuple(fields: names, values: select(values, input)))
            batch.groups[node.id, default: [:]][key] = state
        case .persistentAggregate(_, _, _, let keys, let input, let names, let updater):
            let key = select(values, keys)
            let tuple = TridentTuple(fields: names, values: select(values, input))
            switch updater {
            case .combiner(let combiner):
                let value = try combiner.initial(tuple)
                if let partial = batch.partials[node.id]?[key] {
                    batch.partials[node.id]?[key] = try combiner.combine(partial, value)
                } else {
                    batch.partials[node.id, default: [:]][key] = value
                }
            case .partials(let combiner):
                let value = tuple.values.first ?? combiner.zero
                if let partial = batch.partials[node.id]?[key] {
                    batch.partials[node.id]?[key] = try combiner.combine(partial, value)
                } else {
                    batch.partials[node.id, default: [:]][key] = value
                }
            case .reducer:
                batch.reduced[node.id, default: [:]][key, default: []].append(tuple)
            }
        case .sink:
            batch.sunk[node.id, default: []].append(values)
        case .stateQuery(_, _, _, let keys):
            guard let state = states[node.id] else { return }
            let found = try state.get([select(values, keys)]).first ?? nil
            try forward(node, values + [found ?? .null], batch)
        }
    }

    /// Hands a node's output to its children in this bolt, and emits it when it leaves the bolt.
    private func forward(_ node: StreamNode, _ values: [GaleValue], _ batch: BatchState) throws {
        for child in plan.children[node.id] ?? [] { try feed(child, values, batch) }
        if plan.exported.contains(node.id), let collector {
            collector.emit([.int(txid), .int(attempt)] + values, stream: node.streamId, anchor: anchor)
        }
    }

    func cleanup() {
        for writer in writers.values { writer.close() }
    }

    /// `records` in a total order that does not depend on their arrival: by canonical encoding,
    /// each record encoded once.
    private func sortedByValue(_ records: [[GaleValue]]) -> [[GaleValue]] {
        records.map { (key: GaleValue.list($0).canonicalBytes, record: $0) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
            .map(\.record)
    }

    // MARK: - Finish and commit

    /// Emits the results of the aggregations of `level` for the current batch.
    private func finish(level: Int) throws {
        let batch = batches[txid].flatMap { $0.attempt == attempt ? $0 : nil } ?? BatchState(attempt: attempt)
        for node in plan.nodes where node.level == level {
            switch node.operation {
            case .aggregate(_, _, let aggregator):
                var outputs: [[GaleValue]] = []
                try aggregator.complete(batch.aggregates[node.id] ?? aggregator.begin()) { outputs.append($0) }
                for output in outputs { try forward(node, output, batch) }
            case .groupAggregate(_, _, _, let aggregator):
                for (key, state) in batch.groups[node.id] ?? [:] {
                    var outputs: [[GaleValue]] = []
                    try aggregator.complete(state) { outputs.append($0) }
                    for output in outputs { try forward(node, key + output, batch) }
                }
            default:
                break
            }
        }
        // A bolt that commits nothing is done with the batch after its last finish phase (if the
        // batch fails later, it comes again with a new attempt). Only with this batch: a finish
        // can come late, from an attempt already replaced (say of txid 8 while txid 7 runs again
        // after a failure), and must not take an earlier txid's newer state with it; an older
        // txid's state goes only when it is surely over, more than the batches in flight behind.
        if !plan.commits, level >= plan.finishLevel {
            forgetBatches(before: txid - Int64(config.maxBatchesInFlight))
        }
    }

    /// Applies the current batch to this task's states, then forgets it and older batches.
    private func commit() throws {
        let batch = batches[txid].flatMap { $0.attempt == attempt ? $0 : nil }
        for node in plan.nodes {
            guard case .persistentAggregate(_, _, _, _, _, _, let updater) = node.operation,
                let state = states[node.id]
            else { continue }
            var updates: [StateKey: (GaleValue?) throws -> GaleValue] = [:]
            switch updater {
            case .combiner(let combiner), .partials(let combiner):
                for (key, partial) in batch?.partials[node.id] ?? [:] {
                    updates[key] = { old in try combiner.combine(old ?? combiner.zero, partial) }
                }
            case .reducer(let reducer):
                for (key, tuples) in batch?.reduced[node.id] ?? [:] {
                    updates[key] = { old in
                        var value = old ?? reducer.initial
                        for tuple in tuples { value = try reducer.reduce(value, tuple) }
                        return value
                    }
                }
            }
            _ = try state.applyBatch(txid: txid, updates: updates)
        }
        // A late commit of an older attempt, when this task holds a newer one already: the newer
        // attempt's commit writes the batch. Writing no records now would tell a sink the batch had
        // none for this task (a transactional Kafka sink would commit the batch's offsets without
        // its records, then skip the real write as a repeat).
        let superseded = batches[txid].map { $0.attempt > attempt } ?? false
        for node in plan.nodes where !superseded {
            guard case .sink = node.operation, let writer = writers[node.id] else { continue }
            // Sorted by value, so that a replayed transactional batch comes in the same order.
            let records = sortedByValue(batch?.sunk[node.id] ?? [])
            try writer.write(txid: txid, records: records)
        }
        forgetBatches(before: txid)
    }

    /// Forgets the batches older than `horizon`, and the current batch unless a newer attempt of
    /// it has begun here.
    private func forgetBatches(before horizon: Int64) {
        for (held, state) in batches where held < horizon || (held == txid && state.attempt <= attempt) {
            batches[held] = nil
        }
    }
}
