public import Gale

/// What a bolt task holds of one batch (one txid, one attempt) until it is committed.
final class BatchState {
    let attempt: Int64
    /// Per aggregation node: its running state.
    var aggregates: [Int: GaleValue] = [:]
    /// Per grouped aggregation node: each group's running state.
    var groups: [Int: [StateKey: GaleValue]] = [:]
    /// Per persistent aggregation with a combiner: each key's partial result.
    var partials: [Int: [StateKey: GaleValue]] = [:]
    /// Per persistent aggregation with a reducer: each key's tuples, folded at commit.
    var reduced: [Int: [StateKey: [TridentTuple]]] = [:]
    /// Per sink: the records received.
    var sunk: [Int: [[GaleValue]]] = [:]

    init(attempt: Int64) { self.attempt = attempt }
}
