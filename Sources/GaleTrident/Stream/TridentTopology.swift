public import Gale

/// A transactional topology (Storm Trident's `TridentTopology`): streams of batches with
/// exactly-once state updates, compiled by ``build()`` to an ordinary Gale ``Topology`` (a
/// coordinator spout, emitter bolts, and one bolt per stretch of operations between
/// repartitionings) that is submitted, scheduled, inspected and killed like any other.
///
/// ```swift
/// let topology = TridentTopology(name: "word-count")
/// topology.newStream("sentences", spout)
///     .each(["sentence"], output: ["word"]) { tuple, emit in
///         for word in tuple["sentence"].stringValue?.split(separator: " ") ?? [] { emit([.string(String(word))]) }
///     }
///     .groupBy(["word"])
///     .persistentAggregate("counts", SQLiteStateFactory(path: "counts.db"), ["word"], Count(), output: "count")
/// let built = try topology.build()
/// ```
///
/// Threading: build it on one thread; the built topology is immutable.
public final class TridentTopology {
    /// The topology's name.
    public let name: String
    /// The transactional settings.
    public var config: TridentConfig
    /// The settings of the Gale topology it compiles to (message timeout, workers, ...).
    public var topologyConfig = TopologyConfig()

    var nodes: [StreamNode] = []
    private var streamNames: Set<String> = []
    private var stateNames: Set<String> = []
    /// The first error made while declaring streams, thrown by ``build()``.
    var declarationError: TridentError?
    /// The bolts' plans of the last ``build()`` (for tests).
    var lastPlans: [SegmentPlan] = []

    /// An empty topology named `name`.
    public init(name: String, config: TridentConfig = TridentConfig()) {
        self.name = name
        self.config = config
    }

    /// A stream of the batches `spout` emits, named `name` (unique in the topology; it names the
    /// spout's stored metadata, so keep it stable across versions of the topology).
    public func newStream(_ name: String, _ spout: any TridentSpout) -> Stream {
        if !streamNames.insert(name).inserted {
            record(.invalidTopology("two streams are named [\(name)]"))
        }
        let node = add(.spout(name: name, spout: spout), parents: [], fields: spout.outputFields)
        node.parallelism = spout.parallelism
        return Stream(topology: self, node: node)
    }

    /// The tuples of all `streams` as one stream (they must have as many fields; the first
    /// stream's names are kept).
    public func merge(_ streams: [Stream]) -> Stream {
        guard let first = streams.first else {
            record(.invalidTopology("merge of no stream"))
            return Stream(topology: self, node: add(.merge, parents: [], fields: []))
        }
        for stream in streams where stream.node.fields.count != first.node.fields.count {
            record(
                .invalidTopology(
                    "merge: streams with \(first.node.fields.count) and \(stream.node.fields.count) fields"
                )
            )
        }
        return Stream(topology: self, node: add(.merge, parents: streams.map(\.node), fields: first.node.fields))
    }

    /// The tuples of all `streams` as one stream; see ``merge(_:)-([Stream])``.
    public func merge(_ streams: Stream...) -> Stream { merge(streams) }

    func add(_ operation: StreamNode.Operation, parents: [StreamNode], fields: [String]) -> StreamNode {
        let node = StreamNode(id: nodes.count, operation: operation, parents: parents, fields: fields)
        nodes.append(node)
        return node
    }

    func record(_ error: TridentError) {
        if declarationError == nil { declarationError = error }
    }

    func claimStateName(_ name: String) {
        if !stateNames.insert(name).inserted {
            record(.invalidTopology("two persistent aggregates write state [\(name)]"))
        }
    }
}
