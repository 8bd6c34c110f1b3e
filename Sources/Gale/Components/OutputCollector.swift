/// How a spout emits tuples.
///
/// Threading: call only from the spout's own methods (its executor queue).
public protocol SpoutOutputCollector: AnyObject {
    /// Emits `values` on `stream`. With a `messageId` (and ackers enabled) the tuple's tree is
    /// tracked and the spout later gets ``Spout/ack(_:)`` or ``Spout/fail(_:)`` with that id.
    func emit(_ values: consuming [GaleValue], stream: String, messageId: (any Sendable)?)

    /// Emits a tuple of the one value `value` on `stream` (see ``emit(_:stream:messageId:)``).
    /// A one-value tuple keeps its value inline: nothing is allocated for it.
    func emit(value: consuming GaleValue, stream: String, messageId: (any Sendable)?)

    /// Emits `values` on the direct `stream` to the task `task` of a subscribing component.
    func emitDirect(task: Int, _ values: consuming [GaleValue], stream: String, messageId: (any Sendable)?)

    /// Records an error for this component; it shows in statistics and status.
    func reportError(_ error: any Error)

    /// The number of this task's tuple trees that are still pending.
    var pendingCount: Int { get }
}

extension SpoutOutputCollector {
    /// Emits `[value]` through ``emit(_:stream:messageId:)``, for collectors without their own.
    public func emit(value: consuming GaleValue, stream: String, messageId: (any Sendable)?) {
        emit([value], stream: stream, messageId: messageId)
    }

    /// Emits `values` on the default stream, untracked.
    @inlinable @inline(__always) public func emit(_ values: consuming [GaleValue]) {
        byCount(values) {
            emit(value: $0, stream: Topology.defaultStreamId, messageId: nil)
        } many: {
            emit($0, stream: Topology.defaultStreamId, messageId: nil)
        }
    }

    /// Emits `values` on the default stream with a message id, so the tuple tree is tracked.
    @inlinable @inline(__always) public func emit(_ values: consuming [GaleValue], messageId: (any Sendable)?) {
        byCount(values) {
            emit(value: $0, stream: Topology.defaultStreamId, messageId: messageId)
        } many: {
            emit($0, stream: Topology.defaultStreamId, messageId: messageId)
        }
    }

    /// Emits `values` on `stream`, untracked.
    @inlinable @inline(__always) public func emit(_ values: consuming [GaleValue], stream: String) {
        byCount(values) {
            emit(value: $0, stream: stream, messageId: nil)
        } many: {
            emit($0, stream: stream, messageId: nil)
        }
    }
}

/// How a bolt emits, acks and fails tuples.
///
/// Threading: call only from the bolt's own methods (its executor queue).
public protocol OutputCollector: AnyObject {
    /// Emits `values` on `stream`, anchored to `anchor` when given (the new tuple joins its trees).
    func emit(_ values: consuming [GaleValue], stream: String, anchor: Tuple?)

    /// Emits a tuple of the one value `value` on `stream` (see ``emit(_:stream:anchor:)``). A
    /// one-value tuple keeps its value inline: nothing is allocated for it.
    func emit(value: consuming GaleValue, stream: String, anchor: Tuple?)

    /// Emits `values` on `stream`, anchored to every tuple in `anchors`.
    func emit(_ values: consuming [GaleValue], stream: String, anchors: [Tuple])

    /// Emits `values` on the direct `stream` to `task`, anchored to `anchors`.
    func emitDirect(task: Int, _ values: consuming [GaleValue], stream: String, anchors: [Tuple])

    /// Marks `tuple` processed. Its tree completes when every tuple in it is acked.
    func ack(_ tuple: Tuple)

    /// Fails `tuple`'s trees at once: their spouts get ``Spout/fail(_:)``.
    func fail(_ tuple: Tuple)

    /// Records an error for this component; it shows in statistics and status.
    func reportError(_ error: any Error)

    /// Sends what this task emitted, acked and failed so far now, instead of when its executor
    /// finishes the input it took from its queue (Storm 2's `OutputCollector.flush`). For the
    /// rare tuple whose completion others wait on (a transactional commit, a control message):
    /// the executor otherwise batches output across up to a millisecond of input.
    func flush()
}

extension OutputCollector {
    /// Does nothing: output goes out when the executor's drain ends.
    public func flush() {}

    /// Emits `[value]` through ``emit(_:stream:anchor:)``, for collectors without their own.
    public func emit(value: consuming GaleValue, stream: String, anchor: Tuple?) {
        emit([value], stream: stream, anchor: anchor)
    }

    /// Emits `values` on the default stream, unanchored.
    @inlinable @inline(__always) public func emit(_ values: consuming [GaleValue]) {
        byCount(values) {
            emit(value: $0, stream: Topology.defaultStreamId, anchor: nil)
        } many: {
            emit($0, stream: Topology.defaultStreamId, anchor: nil)
        }
    }

    /// Emits `values` on the default stream anchored to `anchor`.
    @inlinable @inline(__always) public func emit(_ values: consuming [GaleValue], anchor: Tuple?) {
        byCount(values) {
            emit(value: $0, stream: Topology.defaultStreamId, anchor: anchor)
        } many: {
            emit($0, stream: Topology.defaultStreamId, anchor: anchor)
        }
    }

    /// Emits `values` on the default stream anchored to `anchors`.
    @inlinable @inline(__always) public func emit(_ values: consuming [GaleValue], anchors: [Tuple]) {
        emit(values, stream: Topology.defaultStreamId, anchors: anchors)
    }

    /// Emits `values` on `stream`, unanchored.
    @inlinable @inline(__always) public func emit(_ values: consuming [GaleValue], stream: String) {
        byCount(values) {
            emit(value: $0, stream: stream, anchor: nil)
        } many: {
            emit($0, stream: stream, anchor: nil)
        }
    }
}

/// The collector of a ``BasicBolt``: every emit is anchored to the tuple being executed.
public protocol BasicOutputCollector: AnyObject {
    /// Emits `values` on `stream`, anchored to the current input.
    func emit(_ values: consuming [GaleValue], stream: String)

    /// Emits a tuple of the one value `value` on `stream`, anchored to the current input. A
    /// one-value tuple keeps its value inline: nothing is allocated for it.
    func emit(value: consuming GaleValue, stream: String)

    /// Emits `values` on the direct `stream` to `task`, anchored to the current input.
    func emitDirect(task: Int, _ values: consuming [GaleValue], stream: String)

    /// Records an error for this component.
    func reportError(_ error: any Error)
}

extension BasicOutputCollector {
    /// Emits `[value]` through ``emit(_:stream:)``, for collectors without their own.
    public func emit(value: consuming GaleValue, stream: String) {
        emit([value], stream: stream)
    }

    /// Emits `values` on the default stream, anchored to the current input.
    @inlinable @inline(__always) public func emit(_ values: consuming [GaleValue]) {
        byCount(values) {
            emit(value: $0, stream: Topology.defaultStreamId)
        } many: {
            emit($0, stream: Topology.defaultStreamId)
        }
    }
}

/// Calls `one` with the value of a one-value array and `many` with any other array. The
/// collectors' `emit([...])` conveniences are inlined into the caller's code with this: there the
/// optimizer sees a one-element literal such as `[.string(word)]` read once and dropped, and
/// removes its array.
@inlinable @inline(__always)
func byCount(_ values: consuming [GaleValue], one: (GaleValue) -> Void, many: ([GaleValue]) -> Void) {
    if values.count == 1 {
        one(values[0])
    } else {
        many(values)
    }
}
