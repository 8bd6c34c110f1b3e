/// How a ``MapState`` makes a replayed batch count once, after Storm Trident's map states.
///
/// A batch is replayed with the same transaction id after a failure. Which kind a topology can use
/// depends on its spout:
///
/// - ``transactional``: the spout replays a txid with exactly the same tuples, so a key already
///   written by that txid is skipped.
/// - ``opaque``: a replay may carry different tuples (a Kafka partition that moved on), so the
///   value from before the txid is kept and the replay is computed again from it.
/// - ``nonTransactional``: no protection; a replay applies again (at-least-once counting).
public enum StateKind: String, Sendable, Codable {
    /// Stores `(value, txid)`; an update for a key already written by the same txid is skipped.
    case transactional
    /// Stores `(value, previous, txid)`; an update for a key already written by the same txid is
    /// computed again from `previous`.
    case opaque
    /// Stores the value only; every update applies.
    case nonTransactional
}
