public import Gale

/// One operation of a ``SegmentPlan`` as a ``SegmentBolt`` runs it per tuple: the node's
/// operation taken apart once, its children in the bolt resolved, its outgoing stream decided,
/// and a dense ``slot`` for its per-batch state.
///
/// The bolt used to switch over ``StreamNode/Operation`` for every tuple, which copied the
/// operation's payload (arrays, closures, existentials: a retain and a release each) and looked
/// up children and exports in dictionaries: a third of the transactional word count's time.
final class SegmentStep {
    enum Kind {
        /// Hands the tuple on unchanged (a spout's stream, a repartitioning, a merge).
        case pass
        case each(any TridentFunction)
        case map(@Sendable (TridentTuple) throws -> [GaleValue])
        case flatMap(@Sendable (TridentTuple) throws -> [[GaleValue]])
        case filter(@Sendable (TridentTuple) throws -> Bool)
        case project
        case aggregate(any Aggregator)
        /// A grouped aggregation whose aggregator is a combiner (partial aggregation before a
        /// repartitioning, and `aggregate` with a ``CombinerAggregator``): combined in place.
        case groupCombine(any CombinerAggregator)
        case groupAggregate(any Aggregator)
        /// A persistent aggregation combining `initial(tuple)` per key.
        case persistCombine(any CombinerAggregator)
        /// A persistent aggregation combining partial results computed upstream.
        case persistPartials(any CombinerAggregator)
        case persistReduce(any ReducerAggregator)
        case stateQuery
        case sink
    }

    let kind: Kind
    /// The stream node's id.
    let id: Int
    /// Index of this step's per-batch state in a ``BatchState``.
    let slot: Int
    /// The finish phase in which the step emits (aggregations), 0 otherwise.
    let level: Int
    /// Indices of the input fields the operation reads (or projects), in the values a step gets:
    /// `[txid, attempt]` followed by the node's fields (so shifted by ``prefix`` from the node's).
    let input: [Int]
    /// Their names, for the ``TridentTuple`` the operation gets.
    let names: [String]
    /// Indices of the grouping or state key fields, shifted likewise.
    let keys: [Int]
    /// The input fields are the key fields (`Count` of a word grouped by the word): the selected
    /// key serves as the input too.
    let inputIsKey: Bool
    /// The steps fed with this step's output within the bolt.
    var children: [SegmentStep] = [] {
        didSet {
            combinesOnly =
                exportedStream == nil && !children.isEmpty
                && children.allSatisfy {
                    switch $0.kind {
                    case .groupCombine, .persistCombine: true
                    default: false
                    }
                }
        }
    }
    /// Every child combines per key and nothing leaves the bolt: an `each` step hands a
    /// function's output to them without building its full output tuple (``select(_:_:_:)``).
    private(set) var combinesOnly = false
    /// The stream this step's output leaves the bolt on, or `nil` when it stays inside.
    let exportedStream: String?
    /// The state of a persistent aggregation or state query (opened in `prepare`).
    var state: MapState?
    /// For a grouped combiner whose results leave in lists (``SegmentPlan/bulkExports``): the
    /// component receiving them, and its tasks (set in `prepare`), which fields grouping picks from.
    let bulkComponent: String?
    var bulkTargets: [Int] = []

    init(
        kind: Kind,
        node: StreamNode,
        slot: Int,
        input: [Int],
        names: [String],
        keys: [Int],
        exported: Bool,
        bulkComponent: String? = nil
    ) {
        self.kind = kind
        self.id = node.id
        self.slot = slot
        self.level = node.level
        self.input = input.map { $0 + Self.prefix }
        self.names = names
        self.keys = keys.map { $0 + Self.prefix }
        self.inputIsKey = !keys.isEmpty && input == keys
        self.exportedStream = exported ? node.streamId : nil
        self.bulkComponent = bulkComponent
    }

    /// Values in a bolt carry the batch's txid and attempt first, as on the wire: a tuple's
    /// values go through the operations and out again without being copied to add or drop them.
    static let prefix = 2

    /// The values at `indices` of `head` followed by `tail`, without joining them (`.null` past
    /// their end); `tail` itself when the indices are exactly its positions (a key that is a
    /// function's whole output).
    @inline(__always)
    static func select(_ head: [GaleValue], _ tail: [GaleValue], _ indices: [Int]) -> [GaleValue] {
        if indices.count == tail.count, indices.first == head.count,
            indices.last == head.count + tail.count - 1, indices.count <= 2
        {
            return tail
        }
        @inline(__always)
        func value(at index: Int) -> GaleValue {
            if index < head.count { return head[index] }
            return index - head.count < tail.count ? tail[index - head.count] : .null
        }
        if indices.count == 1 { return [value(at: indices[0])] }
        var selected: [GaleValue] = []
        selected.reserveCapacity(indices.count)
        for index in indices { selected.append(value(at: index)) }
        return selected
    }

    /// The values at `indices` of `values` (`.null` past its end).
    @inline(__always)
    static func select(_ values: [GaleValue], _ indices: [Int]) -> [GaleValue] {
        select(values, [], indices)
    }

    /// The steps of `plan`, in graph order, with the entry's step first.
    static func compile(_ plan: SegmentPlan) -> (entry: SegmentStep, steps: [SegmentStep]) {
        var steps: [SegmentStep] = []
        var byId: [Int: SegmentStep] = [:]
        for node in plan.nodes {
            let kind: Kind
            var input: [Int] = []
            var names: [String] = []
            var keys: [Int] = []
            switch node.operation {
            case .spout, .partition, .merge:
                kind = .pass
            case .each(let fields, let fieldNames, let function):
                (kind, input, names) = (.each(function), fields, fieldNames)
            case .map(let fields, let fieldNames, let body):
                (kind, input, names) = (.map(body), fields, fieldNames)
            case .flatMap(let fields, let fieldNames, let body):
                (kind, input, names) = (.flatMap(body), fields, fieldNames)
            case .filter(let fields, let fieldNames, let predicate):
                (kind, input, names) = (.filter(predicate), fields, fieldNames)
            case .project(let indices):
                // Shifted like every index, after the txid and attempt, which stay.
                (kind, input) = (.project, [-2, -1] + indices)
            case .aggregate(let fields, let fieldNames, let aggregator):
                (kind, input, names) = (.aggregate(aggregator), fields, fieldNames)
            case .groupAggregate(let groupKeys, let fields, let fieldNames, let aggregator):
                if let combining = aggregator as? CombinerAsAggregator {
                    kind = .groupCombine(combining.combiner)
                } else {
                    kind = .groupAggregate(aggregator)
                }
                (input, names, keys) = (fields, fieldNames, groupKeys)
            case .persistentAggregate(_, _, _, let stateKeys, let fields, let fieldNames, let updater):
                switch updater {
                case .combiner(let combiner): kind = .persistCombine(combiner)
                case .partials(let combiner): kind = .persistPartials(combiner)
                case .reducer(let reducer): kind = .persistReduce(reducer)
                }
                (input, names, keys) = (fields, fieldNames, stateKeys)
            case .stateQuery(_, _, _, let stateKeys):
                (kind, keys) = (.stateQuery, stateKeys)
            case .sink:
                kind = .sink
            }
            let step = SegmentStep(
                kind: kind,
                node: node,
                slot: steps.count,
                input: input,
                names: names,
                keys: keys,
                exported: plan.exported.contains(node.id),
                bulkComponent: plan.bulkExports[node.id]
            )
            steps.append(step)
            byId[node.id] = step
        }
        for step in steps {
            step.children = (plan.children[step.id] ?? []).compactMap { byId[$0.id] }
        }
        let entry = byId[plan.entry.id] ?? steps[0]
        return (entry, steps)
    }
}
