public import Gale

/// What a bolt task holds of one batch (one txid, one attempt) until it is committed, per
/// ``SegmentStep/slot``.
final class BatchState {
    let attempt: Int64
    /// Per aggregation: its running state.
    var aggregates: [GaleValue?]
    /// Per grouped aggregation, and per persistent aggregation with a combiner: each key's
    /// running state (partial result).
    var groups: [[StateKey: GaleValue]]
    /// Per persistent aggregation with a reducer: each key's tuples, folded at commit.
    var reduced: [[StateKey: [TridentTuple]]]
    /// Per sink: the records received.
    var sunk: [[[GaleValue]]]

    /// - Parameter groupCapacities: per slot, the groups to make room for (the previous batch's
    ///   count: growing a dictionary from empty rehashes it a dozen times per batch).
    init(attempt: Int64, slots: Int, groupCapacities: [Int] = []) {
        self.attempt = attempt
        aggregates = Array(repeating: nil, count: slots)
        groups = (0..<slots).map { slot in
            [StateKey: GaleValue](minimumCapacity: slot < groupCapacities.count ? groupCapacities[slot] : 0)
        }
        reduced = Array(repeating: [:], count: slots)
        sunk = Array(repeating: [], count: slots)
    }
}
