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
}
