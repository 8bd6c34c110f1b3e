/// The operations one bolt of a compiled transactional topology runs: a stretch of the stream
/// graph from one repartitioning (or merge, or spout) to the next.
struct SegmentPlan: @unchecked Sendable {
    /// The bolt's component id.
    let componentId: String
    /// The node whose input arrives from other components.
    let entry: StreamNode
    /// The nodes, in graph order.
    let nodes: [StreamNode]
    /// Children of each node within this bolt.
    let children: [Int: [StreamNode]]
    /// Nodes whose output leaves the bolt on their stream (``StreamNode/streamId``).
    let exported: Set<Int>
    /// The bolt's tasks.
    let parallelism: Int
    /// Exported grouped combiners whose partial results go, per batch, as one list per target
    /// task to the given component (``SegmentStep/bulkTargets``), by node id.
    var bulkExports: [Int: String] = [:]
    /// The values per entry of the lists the entry node receives (0: plain tuples).
    var entryBulkWidth = 0

    /// The last finish phase in which an aggregation of this bolt emits (0: none).
    var finishLevel: Int { nodes.map(\.level).max() ?? 0 }

    /// Whether the bolt applies batches at commit (persistent aggregations, sinks).
    var commits: Bool {
        nodes.contains {
            switch $0.operation {
            case .persistentAggregate, .sink: true
            default: false
            }
        }
    }

    /// Whether the bolt keeps anything per batch.
    var keepsBatches: Bool { finishLevel > 0 || commits }
}
