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
/// A bolt that keeps batches also gets each batch tuple (the process phase's root), and fails a
/// finish or commit of an attempt it did not see begin: it restarted since (its worker was
/// killed), and the batch's tuples it had absorbed died with the old process, while the process
/// tree, acked by that process, says they were all taken in. Going on would finish or commit the
/// batch without them (a state partition missing a batch's share: seen once in a cluster test).
///
/// Threading: like every bolt, all of it runs on its task's serial queue.
final class SegmentBolt: Bolt {
    private let plan: SegmentPlan
    /// The plan's operations as run per tuple; ``entry`` first gets the input.
    private let entry: SegmentStep
    private let steps: [SegmentStep]
    private let keepsBatches: Bool
    private let commits: Bool
    private let finishLevel: Int
    /// Values per entry of the lists of partial results the entry gets (0: plain tuples).
    private let entryBulkWidth: Int
    /// The entry's only child, when it combines the partial results by their key fields.
    private let directPartials: (step: SegmentStep, combiner: any CombinerAggregator)?
    private var logger = Logger(label: "gale.trident.bolt")
    private var collector: (any OutputCollector)?
    private var batches: [Int64: BatchState] = [:]
    /// The newest attempt of each open txid whose batch tuple this task saw.
    private var begun: [Int64: Int64] = [:]
    /// Per step slot, the groups of the batch forgotten last (to size the next batch's).
    private var groupCapacities: [Int] = []
    /// The batch state a bolt that keeps nothing per batch passes around (never written).
    private let scratch: BatchState
    /// Writers of the sinks, by step slot.
    private var writers: [Int: any BatchWriter] = [:]
    /// The tuple that outputs are anchored to while it is processed.
    private var anchor: Tuple?
    /// The source of the last data tuple (sources are interned: one object per stream).
    private var dataSource: TupleSource?
    /// The batch of the last data tuple, which the next one most likely belongs to.
    private var lastBatch: (txid: Int64, state: BatchState)?
    private var txid: Int64 = 0
    private var attempt: Int64 = 0

    private let topologyName: String
    private let config: TridentConfig
    private let upstreamStreams: [Int: [String]]

    init(plan: SegmentPlan, topologyName: String, config: TridentConfig, upstreamStreams: [Int: [String]]) {
        self.plan = plan
        (entry, steps) = SegmentStep.compile(plan)
        keepsBatches = plan.keepsBatches
        commits = plan.commits
        finishLevel = plan.finishLevel
        entryBulkWidth = plan.entryBulkWidth
        directPartials = Self.directPartials(entry: entry, width: plan.entryBulkWidth)
        scratch = BatchState(attempt: 0, slots: 0)
        self.topologyName = topologyName
        self.config = config
        self.upstreamStreams = upstreamStreams
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        for node in plan.nodes where plan.exported.contains(node.id) {
            if plan.bulkExports[node.id] != nil {
                declarer.declareStream(node.streamId, fields: ["$txid", "$attempt", "$entries"], direct: true)
            } else {
                declarer.declareStream(node.streamId, fields: Fields(["$txid", "$attempt"] + node.fields))
            }
        }
    }

    func prepare(context: TopologyContext, collector: any OutputCollector) throws {
        self.collector = collector
        logger[metadataKey: "component"] = "\(context.componentId)"
        logger[metadataKey: "task"] = "\(context.taskIndex)"
        let partitions = max(1, context.componentTasks.count)
        for step in steps {
            guard let component = step.bulkComponent else { continue }
            step.bulkTargets = context.tasks(of: component)
            guard !step.bulkTargets.isEmpty else {
                throw TridentError.invalidTopology("bolt [\(component)] has no tasks to send partial results to")
            }
        }
        for node in plan.nodes {
            switch node.operation {
            case .persistentAggregate(let state, let factory, let kind, _, _, _, _),
                .stateQuery(let state, let factory, let kind, _):
                let backing = try factory.makeBackingMap(
                    stateName: state,
                    partition: context.taskIndex,
                    partitions: partitions
                )
                steps.first { $0.id == node.id }?.state = MapState(kind: kind, backing: backing)
            case .sink(let name, let sink):
                let store = try config.storeFactory.makeStore(topology: topologyName, settings: context.config.custom)
                guard let slot = steps.first(where: { $0.id == node.id })?.slot else { continue }
                writers[slot] = try sink.makeWriter(
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
        guard let collector, tuple.count >= 2, let txid = tuple[0].intValue,
            let attempt = tuple[1].intValue
        else {
            collector?.ack(tuple)
            return
        }
        self.txid = txid
        self.attempt = attempt
        anchor = tuple
        defer { anchor = nil }
        // Data tuples come from a few interned sources: telling them apart by identity spares
        // two string comparisons per tuple.
        var control = false
        if tuple.source !== dataSource {
            let stream = tuple.sourceStreamId
            control =
                stream == MasterBatchCoordinator.finishStream || stream == MasterBatchCoordinator.commitStream
                || stream == MasterBatchCoordinator.batchStream
            if !control { dataSource = tuple.source }
        }
        do {
            if !control {
                if let batch = batch(txid: txid, attempt: attempt) {
                    if entryBulkWidth > 0 {
                        try feedEntries(of: tuple, batch)
                    } else {
                        try feed(entry, tuple.values, batch)
                    }
                }
            } else if tuple.sourceStreamId == MasterBatchCoordinator.batchStream {
                begun[txid] = max(begun[txid] ?? attempt, attempt)
            } else if tuple.sourceStreamId == MasterBatchCoordinator.finishStream {
                try checkBegun()
                try finish(level: Int(tuple.count > 2 ? tuple[2].intValue ?? 0 : 0))
            } else {
                try checkBegun()
                try commit()
            }
            collector.ack(tuple)
        } catch {
            logger.warning("batch \(txid): \(error)")
            collector.reportError(error)
            collector.fail(tuple)
        }
        // The coordinator waits on finish and commit trees, one commit at a time: their acks must
        // not wait behind the later batches' tuples this task has taken from its queue already
        // (that cost each commit about 2 ms on a loaded 2-core machine).
        if control { collector.flush() }
    }

    /// The state of `txid` for `attempt`: `nil` for a stale attempt, fresh for a newer one (and
    /// ``scratch`` in a bolt that keeps nothing per batch).
    private func batch(txid: Int64, attempt: Int64) -> BatchState? {
        guard keepsBatches else { return scratch }
        // Valid while it is in `batches`: every change of `batches` goes through `lookUpBatch`
        // (which sets it) or `forgetBatches` (which clears it).
        if let lastBatch, lastBatch.txid == txid, lastBatch.state.attempt == attempt { return lastBatch.state }
        let found = lookUpBatch(txid: txid, attempt: attempt)
        lastBatch = found.map { (txid, $0) }
        return found
    }

    private func lookUpBatch(txid: Int64, attempt: Int64) -> BatchState? {
        if let held = batches[txid] {
            if held.attempt == attempt { return held }
            if held.attempt > attempt { return nil }
        }
        let fresh = BatchState(attempt: attempt, slots: steps.count, groupCapacities: groupCapacities)
        batches[txid] = fresh
        return fresh
    }

    // MARK: - Operations

    private func feed(_ step: SegmentStep, _ values: [GaleValue], _ batch: BatchState) throws {
        switch step.kind {
        case .pass:
            try forward(step, values, batch)
        case .each(let function):
            // Each output goes on as it is emitted; the first error thrown on the way ends the
            // tuple (the batch fails, and with it whatever this attempt combined).
            var failure: (any Error)?
            let combinesOnly = step.combinesOnly
            try function.execute(TridentTuple(fields: step.names, values: SegmentStep.select(values, step.input))) {
                output in
                guard failure == nil else { return }
                do {
                    if combinesOnly {
                        for child in step.children { try combineOutput(child, values, output, batch) }
                    } else {
                        // Sized once: appending to a copy of `values` reallocates it through a slower path.
                        var extended: [GaleValue] = []
                        extended.reserveCapacity(values.count + output.count)
                        extended.append(contentsOf: values)
                        extended.append(contentsOf: output)
                        try forward(step, extended, batch)
                    }
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
        case .map(let body):
            let output = try body(TridentTuple(fields: step.names, values: SegmentStep.select(values, step.input)))
            try forward(step, prefixed(output), batch)
        case .flatMap(let body):
            for output in try body(TridentTuple(fields: step.names, values: SegmentStep.select(values, step.input))) {
                try forward(step, prefixed(output), batch)
            }
        case .filter(let predicate):
            if try predicate(TridentTuple(fields: step.names, values: SegmentStep.select(values, step.input))) {
                try forward(step, values, batch)
            }
        case .project:
            try forward(step, SegmentStep.select(values, step.input), batch)
        case .aggregate(let aggregator):
            var state = batch.aggregates[step.slot] ?? aggregator.begin()
            try aggregator.aggregate(
                &state,
                TridentTuple(fields: step.names, values: SegmentStep.select(values, step.input))
            )
            batch.aggregates[step.slot] = state
        case .groupCombine, .persistCombine:
            try combineOutput(step, values, [], batch)
        case .persistPartials(let combiner):
            let value = step.input.first.flatMap { $0 < values.count ? values[$0] : nil } ?? combiner.zero
            try combine(value, into: step, key: SegmentStep.select(values, step.keys), batch, combiner)
        case .groupAggregate(let aggregator):
            let key = SegmentStep.select(values, step.keys)
            let tuple = TridentTuple(fields: step.names, values: SegmentStep.select(values, step.input))
            if let index = batch.groups[step.slot].index(forKey: key) {
                try aggregator.aggregate(&batch.groups[step.slot].values[index], tuple)
            } else {
                var state = aggregator.begin()
                try aggregator.aggregate(&state, tuple)
                batch.groups[step.slot][key] = state
            }
        case .persistReduce:
            let tuple = TridentTuple(fields: step.names, values: SegmentStep.select(values, step.input))
            batch.reduced[step.slot][SegmentStep.select(values, step.keys), default: []].append(tuple)
        case .sink:
            batch.sunk[step.slot].append(Array(values.dropFirst(SegmentStep.prefix)))
        case .stateQuery:
            guard let state = step.state else { return }
            let found = try state.get([SegmentStep.select(values, step.keys)]).first ?? nil
            var extended = values
            extended.append(found ?? .null)
            try forward(step, extended, batch)
        }
    }

    /// Feeds a grouped or persistent combiner the tuple `values` followed by `output` (a
    /// function's output, not joined to its input: ``SegmentStep/select(_:_:_:)``).
    @inline(__always)
    private func combineOutput(
        _ step: SegmentStep,
        _ values: [GaleValue],
        _ output: [GaleValue],
        _ batch: BatchState
    ) throws {
        let combiner: any CombinerAggregator
        switch step.kind {
        case .groupCombine(let c), .persistCombine(let c): combiner = c
        default: return
        }
        let key = SegmentStep.select(values, output, step.keys)
        let input = step.inputIsKey ? key : SegmentStep.select(values, output, step.input)
        let value = try combiner.initial(TridentTuple(fields: step.names, values: input))
        try combine(value, into: step, key: key, batch, combiner)
    }

    /// Combines `value` into `key`'s running result of `step` for the batch, in place (starting
    /// from the combiner's zero, as ``CombinerAsAggregator`` does).
    @inline(__always)
    private func combine(
        _ value: GaleValue,
        into step: SegmentStep,
        key: StateKey,
        _ batch: BatchState,
        _ combiner: any CombinerAggregator
    ) throws {
        // One hash lookup, hit or miss (a miss leaves `zero` behind if `combine` throws; the
        // batch then fails, and its next attempt starts from new state).
        try Self.combine(&batch.groups[step.slot][key, default: combiner.zero], value, combiner)
    }

    @inline(__always)
    private static func combine(
        _ result: inout GaleValue,
        _ value: GaleValue,
        _ combiner: any CombinerAggregator
    ) throws {
        result = try combiner.combine(result, value)
    }

    /// `[txid, attempt]` followed by `values`, `extra` more allowed for.
    private func prefixed(_ values: [GaleValue], extra: Int = 0) -> [GaleValue] {
        var output: [GaleValue] = []
        output.reserveCapacity(SegmentStep.prefix + values.count + extra)
        output.append(.int(txid))
        output.append(.int(attempt))
        output.append(contentsOf: values)
        return output
    }

    /// Hands a step's output (txid and attempt first) to its children in this bolt, and emits
    /// it when it leaves the bolt.
    private func forward(_ step: SegmentStep, _ values: [GaleValue], _ batch: BatchState) throws {
        for child in step.children { try feed(child, values, batch) }
        if let stream = step.exportedStream, let collector {
            collector.emit(values, stream: stream, anchor: anchor)
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

    // MARK: - Partial results in lists

    /// The entry's only child when it is a persistent aggregate of partial results whose key is
    /// an entry's first `width - 1` values and whose input is the last one.
    private static func directPartials(
        entry: SegmentStep,
        width: Int
    ) -> (step: SegmentStep, combiner: any CombinerAggregator)? {
        guard width > 1, entry.children.count == 1, let child = entry.children.first,
            case .persistPartials(let combiner) = child.kind,
            child.keys == Array(SegmentStep.prefix..<SegmentStep.prefix + width - 1),
            child.input == [SegmentStep.prefix + width - 1], child.exportedStream == nil
        else { return nil }
        return (child, combiner)
    }

    /// Sends a grouped combiner's results for the batch as one list per target task, each entry
    /// its key values then its result, to the task that fields grouping on the key would pick
    /// (so that a state query, routed by fields grouping, finds each key where it is stored).
    private func sendBulk(_ step: SegmentStep, _ groups: [StateKey: GaleValue]) throws {
        guard let stream = step.exportedStream, let collector else { return }
        let targets = step.bulkTargets
        var lists = [[GaleValue]](repeating: [], count: targets.count)
        for (key, result) in groups {
            let index = Int(truncatingIfNeeded: GaleValue.fieldsHash(of: key) % UInt64(targets.count))
            lists[index].append(contentsOf: key)
            lists[index].append(result)
        }
        let anchors = anchor.map { [$0] } ?? []
        for (index, list) in lists.enumerated() where !list.isEmpty {
            collector.emitDirect(
                task: targets[index],
                [.int(txid), .int(attempt), .list(list)],
                stream: stream,
                anchors: anchors
            )
        }
    }

    /// Feeds each entry of a list of partial results (``sendBulk(_:_:)``) to the entry step as
    /// if it had come alone.
    private func feedEntries(of tuple: Tuple, _ batch: BatchState) throws {
        guard tuple.count > 2, case .list(let items) = tuple[2], items.count % entryBulkWidth == 0 else {
            throw TridentError.invalidTopology(
                "bolt [\(plan.componentId)] got a list of partial results that is not made of \(entryBulkWidth)-value entries"
            )
        }
        // The usual case, a persistent aggregate of the partial results by their key: combined
        // straight from the list, without building each entry's values.
        if let direct = directPartials {
            let keyCount = entryBulkWidth - 1
            var start = 0
            while start < items.count {
                let key = Array(items[start..<start + keyCount])
                try combine(items[start + keyCount], into: direct.step, key: key, batch, direct.combiner)
                start += entryBulkWidth
            }
            return
        }
        var start = 0
        while start < items.count {
            var values: [GaleValue] = []
            values.reserveCapacity(SegmentStep.prefix + entryBulkWidth)
            values.append(tuple[0])
            values.append(tuple[1])
            values.append(contentsOf: items[start..<start + entryBulkWidth])
            try feed(entry, values, batch)
            start += entryBulkWidth
        }
    }

    // MARK: - Finish and commit

    /// Throws unless this task saw the current attempt (or a newer one) begin: otherwise it was
    /// started after the attempt began, and what it absorbed of it before may be lost.
    private func checkBegun() throws {
        guard keepsBatches, (begun[txid] ?? Int64.min) < attempt else { return }
        throw TridentError.batchStateLost(component: plan.componentId, txid: txid)
    }

    /// Emits the results of the aggregations of `level` for the current batch.
    private func finish(level: Int) throws {
        let batch =
            batches[txid].flatMap { $0.attempt == attempt ? $0 : nil }
            ?? BatchState(attempt: attempt, slots: steps.count)
        for step in steps where step.level == level {
            switch step.kind {
            case .aggregate(let aggregator):
                var outputs: [[GaleValue]] = []
                try aggregator.complete(batch.aggregates[step.slot] ?? aggregator.begin()) { outputs.append($0) }
                for output in outputs { try forward(step, prefixed(output), batch) }
            case .groupCombine where !step.bulkTargets.isEmpty:
                try sendBulk(step, batch.groups[step.slot])
            case .groupCombine:
                for (key, state) in batch.groups[step.slot] {
                    var output = prefixed(key, extra: 1)
                    output.append(state)
                    try forward(step, output, batch)
                }
            case .groupAggregate(let aggregator):
                for (key, state) in batch.groups[step.slot] {
                    var outputs: [[GaleValue]] = []
                    try aggregator.complete(state) { outputs.append($0) }
                    for output in outputs {
                        var values = prefixed(key, extra: output.count)
                        values.append(contentsOf: output)
                        try forward(step, values, batch)
                    }
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
        if !commits, level >= finishLevel {
            forgetBatches(before: txid - Int64(config.maxBatchesInFlight))
        }
    }

    /// Applies the current batch to this task's states, then forgets it and older batches.
    private func commit() throws {
        let batch = batches[txid].flatMap { $0.attempt == attempt ? $0 : nil }
        for step in steps {
            guard let state = step.state else { continue }
            switch step.kind {
            case .persistCombine(let combiner), .persistPartials(let combiner):
                let groups = batch?.groups[step.slot] ?? [:]
                let keys = Array(groups.keys)
                let partials = Array(groups.values)
                try state.apply(txid: txid, keys: keys) { index, old in
                    try combiner.combine(old ?? combiner.zero, partials[index])
                }
            case .persistReduce(let reducer):
                let reduced = batch?.reduced[step.slot] ?? [:]
                let keys = Array(reduced.keys)
                let tuples = Array(reduced.values)
                try state.apply(txid: txid, keys: keys) { index, old in
                    var value = old ?? reducer.initial
                    for tuple in tuples[index] { value = try reducer.reduce(value, tuple) }
                    return value
                }
            default:
                continue
            }
        }
        // A late commit of an older attempt, when this task holds a newer one already: the newer
        // attempt's commit writes the batch. Writing no records now would tell a sink the batch had
        // none for this task (a transactional Kafka sink would commit the batch's offsets without
        // its records, then skip the real write as a repeat).
        let superseded = batches[txid].map { $0.attempt > attempt } ?? false
        for step in steps where !superseded {
            guard case .sink = step.kind, let writer = writers[step.slot] else { continue }
            // Sorted by value, so that a replayed transactional batch comes in the same order.
            let records = sortedByValue(batch?.sunk[step.slot] ?? [])
            try writer.write(txid: txid, records: records)
        }
        forgetBatches(before: txid)
    }

    /// Forgets the batches older than `horizon`, and the current batch unless a newer attempt of
    /// it has begun here.
    private func forgetBatches(before horizon: Int64) {
        lastBatch = nil
        begun = begun.filter { $0.key >= horizon }
        for (held, state) in batches where held < horizon || (held == txid && state.attempt <= attempt) {
            groupCapacities = state.groups.map(\.count)
            batches[held] = nil
        }
    }
}
