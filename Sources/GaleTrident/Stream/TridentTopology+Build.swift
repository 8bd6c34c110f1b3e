public import Gale

extension TridentTopology {
    /// Compiles the streams to a Gale topology: the coordinator spout (`$coordinator`), one
    /// emitter bolt per spout (`$spout-<stream>`), and one bolt per stretch of operations between
    /// repartitionings (`b<n>`).
    ///
    /// - Throws: ``TridentError`` for the first mistake in the streams (unknown or duplicate
    ///   fields, clashing names, a spout batch larger than ``TridentConfig/maxBatchSize``), or
    ///   ``TopologyError`` from the Gale topology.
    public func build() throws -> Topology {
        if let declarationError { throw declarationError }
        let spoutNodes = nodes.filter(\.isSpout)
        guard !spoutNodes.isEmpty else { throw TridentError.invalidTopology("no stream (newStream) was declared") }
        guard config.maxBatchesInFlight >= 1, config.maxBatchSize >= 1 else {
            throw TridentError.invalidTopology("maxBatchesInFlight and maxBatchSize must be at least 1")
        }
        for node in spoutNodes {
            guard case .spout(let name, let spout) = node.operation else { continue }
            if spout.maxBatchSize > config.maxBatchSize {
                throw TridentError.invalidTopology(
                    "stream [\(name)] emits batches of up to \(spout.maxBatchSize) records per task, more than "
                        + "TridentConfig.maxBatchSize (\(config.maxBatchSize))"
                )
            }
        }

        // Finish levels: an aggregation emits in the phase after every aggregation above it.
        var below: [Int: Int] = [:]
        for node in nodes {
            let above = node.parents.map { below[$0.id] ?? 0 }.max() ?? 0
            if node.isAggregation {
                node.level = above + 1
                below[node.id] = node.level
            } else {
                node.level = 0
                below[node.id] = above
            }
        }
        let finishLevels = nodes.map(\.level).max() ?? 0

        // Segments: a node joins its parent's bolt unless it starts one.
        var segmentOf: [Int: Int] = [:]
        var entries: [StreamNode] = []
        for node in nodes where !node.isSpout {
            if node.startsSegment {
                segmentOf[node.id] = entries.count
                entries.append(node)
            } else if let parent = node.parents.first, let segment = segmentOf[parent.id] {
                segmentOf[node.id] = segment
            }
        }
        var members = [[StreamNode]](repeating: [], count: entries.count)
        var children: [Int: [StreamNode]] = [:]
        var exported = Set<Int>()
        for node in nodes where !node.isSpout {
            guard let segment = segmentOf[node.id] else { continue }
            members[segment].append(node)
            if node.startsSegment {
                for parent in node.parents { exported.insert(parent.id) }
            } else if let parent = node.parents.first {
                children[parent.id, default: []].append(node)
            }
        }
        // The partial results of a grouped combiner (the first step of persistentAggregate) whose
        // only consumer partitions them by its key fields cross in one tuple per target task and
        // batch, a list of entries sent directly to the task fields grouping would pick: one
        // tuple per key and task was most of what the state's bolt executed.
        var bulkExports: [Int: Int] = [:]
        for entry in entries {
            guard case .partition(.fields(let keys)) = entry.operation, entry.parents.count == 1,
                let source = entry.parents.first,
                case .groupAggregate(_, _, _, let aggregator) = source.operation,
                aggregator is CombinerAsAggregator,
                Array(source.fields.prefix(keys.count)) == keys,
                !nodes.contains(where: { $0 !== entry && $0.parents.contains { $0 === source } }),
                let segment = segmentOf[entry.id]
            else { continue }
            bulkExports[source.id] = segment
        }
        // A state query runs with as many tasks as its state has partitions.
        var stateParallelism: [String: Int] = [:]
        for (segment, nodes) in members.enumerated() {
            for node in nodes {
                if case .persistentAggregate(let state, _, _, _, _, _, _) = node.operation {
                    stateParallelism[state] = parallelism(of: members[segment])
                }
            }
        }

        // The spout streams upstream of each sink (a sink that commits input offsets needs them).
        var upstreamStreams: [Int: [String]] = [:]
        var streamsAbove: [Int: Set<String>] = [:]
        for node in nodes {
            var above = Set<String>()
            for parent in node.parents { above.formUnion(streamsAbove[parent.id] ?? []) }
            if case .spout(let name, _) = node.operation { above.insert(name) }
            streamsAbove[node.id] = above
            if case .sink = node.operation { upstreamStreams[node.id] = above.sorted() }
        }

        let sinkStreams = upstreamStreams
        let builder = TopologyBuilder(name: name)
        builder.config = topologyConfig
        if builder.config.ackers < 1 { builder.config.ackers = 1 }
        let topologyName = name
        let config = config
        let spouts = spoutNodes.compactMap { node -> (any TridentSpout)? in
            if case .spout(_, let spout) = node.operation { return spout }
            return nil
        }
        lastPlans = []
        builder.setSpout(MasterBatchCoordinator.componentId, parallelism: 1) {
            MasterBatchCoordinator(
                topologyName: topologyName,
                config: config,
                finishLevels: finishLevels,
                spouts: spouts
            )
        }
        func componentId(of node: StreamNode) -> String {
            if case .spout(let name, _) = node.operation { return "$spout-\(name)" }
            return "b\(segmentOf[node.id] ?? 0)"
        }
        for node in spoutNodes {
            guard case .spout(let streamName, let spout) = node.operation else { continue }
            let outputStream = node.streamId
            builder.setBolt(componentId(of: node), parallelism: spout.parallelism) {
                EmitterBolt(
                    spout: spout,
                    streamName: streamName,
                    outputStream: outputStream,
                    topologyName: topologyName,
                    config: config
                )
            }
            .allGrouping(MasterBatchCoordinator.componentId, stream: MasterBatchCoordinator.batchStream)
            .allGrouping(MasterBatchCoordinator.componentId, stream: MasterBatchCoordinator.committedStream)
        }
        for (segment, entry) in entries.enumerated() {
            var tasks = parallelism(of: members[segment])
            for node in members[segment] {
                if case .stateQuery(let state, _, _, _) = node.operation, let partitions = stateParallelism[state] {
                    tasks = partitions
                }
            }
            var plan = SegmentPlan(
                componentId: "b\(segment)",
                entry: entry,
                nodes: members[segment],
                children: children,
                exported: exported,
                parallelism: tasks
            )
            for node in members[segment] {
                if let target = bulkExports[node.id] { plan.bulkExports[node.id] = "b\(target)" }
            }
            if let source = entry.parents.first, bulkExports[source.id] != nil {
                plan.entryBulkWidth = source.fields.count
            }
            lastPlans.append(plan)
            let built = plan
            let declarer = builder.setBolt(plan.componentId, parallelism: tasks) {
                SegmentBolt(plan: built, topologyName: topologyName, config: config, upstreamStreams: sinkStreams)
            }
            for parent in entry.parents {
                let source = componentId(of: parent)
                if bulkExports[parent.id] != nil {
                    declarer.directGrouping(source, stream: parent.streamId)
                    continue
                }
                switch entry.operation {
                case .partition(.fields(let fields)):
                    declarer.fieldsGrouping(source, stream: parent.streamId, fields: Fields(fields))
                case .partition(.global):
                    declarer.globalGrouping(source, stream: parent.streamId)
                default:
                    declarer.shuffleGrouping(source, stream: parent.streamId)
                }
            }
            // Control tuples only where they matter: a bolt busy with the next batches' tuples
            // would hold up every commit until it reached the commit tuple in its queue.
            if plan.keepsBatches {
                // The batch tuple, so that each task knows which attempts began while it ran.
                declarer.allGrouping(MasterBatchCoordinator.componentId, stream: MasterBatchCoordinator.batchStream)
            }
            if plan.finishLevel > 0 {
                declarer.allGrouping(MasterBatchCoordinator.componentId, stream: MasterBatchCoordinator.finishStream)
            }
            if plan.commits {
                declarer.allGrouping(MasterBatchCoordinator.componentId, stream: MasterBatchCoordinator.commitStream)
            }
        }
        return try builder.build()
    }

    private func parallelism(of nodes: [StreamNode]) -> Int {
        nodes.compactMap(\.parallelism).max() ?? 1
    }
}
