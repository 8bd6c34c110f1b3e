public import Gale

/// What travels between tasks: tuples, and the control messages of acking and timeouts.
public enum Envelope: Sendable {
    /// A tuple for a bolt.
    case tuple(Tuple)
    /// Spout to acker: a tree `root` starts; `xor` is the XOR of the edge ids the spout emitted.
    case ackInit(root: UInt64, xor: UInt64, spoutTask: Int32)
    /// Bolt to acker: XOR `xor` into the tree `root`.
    case ack(root: UInt64, xor: UInt64)
    /// Bolt to acker: the tree `root` failed.
    case fail(root: UInt64)
    /// Acker to spout: the tree `root` completed.
    case treeCompleted(root: UInt64)
    /// Acker to spout: the tree `root` failed.
    case treeFailed(root: UInt64)
    /// Timer to spout and acker: expire what is older than the message timeout.
    case sweep
}

/// Receives batches of envelopes for one task: a local executor, or (in cluster mode) a connection.
///
/// Threading: `deliver` is called from any thread.
public protocol EnvelopeSink: AnyObject, Sendable {
    /// Takes ownership of `batch`, addressed to `task`.
    func deliver(_ batch: ContiguousArray<Envelope>, to task: Int)
}
