/// One message flowing through a topology: an ordered list of values plus where it came from.
///
/// Tuples are values: copying one is cheap and never copies its values. The tracking ids that
/// XOR acking needs travel inside the tuple; a bolt acks or fails a tuple through its
/// ``OutputCollector``.
public struct Tuple: Sendable {
    /// The values, in the order of ``fields``. A new array for a one-value tuple (which keeps its
    /// value inline): read values with ``subscript(_:)``, ``string(at:)`` or ``int(at:)``.
    public var values: [GaleValue] { storage.array }
    /// The values as stored.
    @usableFromInline package let storage: TupleValues
    /// The task that emitted this tuple (`-1` for tick tuples).
    public let sourceTask: Int
    /// The emitting component and stream.
    public unowned(unsafe) let source: TupleSource

    /// Root id of the first tuple tree this tuple belongs to; `0` when the tuple is untracked.
    @usableFromInline package let root: UInt64
    /// Edge id of this tuple in the tree ``root``.
    @usableFromInline package let edge: UInt64
    /// Further (root, edge) pairs, flattened, when the tuple is anchored to several trees.
    @usableFromInline package let moreAnchors: [UInt64]?

    /// Creates a tuple. The runtime calls this; user code receives tuples, it never builds them.
    @inlinable
    package init(
        values: [GaleValue],
        source: TupleSource,
        sourceTask: Int,
        root: UInt64 = 0,
        edge: UInt64 = 0,
        moreAnchors: [UInt64]? = nil
    ) {
        self.init(
            storage: TupleValues(values),
            sourceRef: Unmanaged.passUnretained(source),
            sourceTask: sourceTask,
            root: root,
            edge: edge,
            moreAnchors: moreAnchors
        )
    }

    /// Creates a tuple of the values as stored, whose source is given as an unretained reference
    /// (sources are immortal): the emit path's initializer, which retains and releases nothing but
    /// the values.
    @inlinable
    package init(
        storage: consuming TupleValues,
        sourceRef: Unmanaged<TupleSource>,
        sourceTask: Int,
        root: UInt64 = 0,
        edge: UInt64 = 0,
        moreAnchors: [UInt64]? = nil
    ) {
        self.storage = storage
        self.source = sourceRef._withUnsafeGuaranteedRef { $0 }
        self.sourceTask = sourceTask
        self.root = root
        self.edge = edge
        self.moreAnchors = moreAnchors
    }

    /// The stream's declared field names.
    public var fields: Fields { source.fields }
    /// The id of the component that emitted this tuple.
    public var sourceComponent: String { source.componentId }
    /// The id of the stream this tuple was emitted on.
    public var sourceStreamId: String { source.streamId }
    /// `true` for the tick tuples a bolt receives at its configured tick frequency.
    public var isTick: Bool { source === TupleSource.tick }
    /// The number of values.
    public var count: Int { storage.count }
    /// The tuple-tree ids this tuple carries (Storm's `MessageId`).
    public var messageId: TupleMessageId {
        var ids: [UInt64: UInt64] = [:]
        forEachAnchor { root, edge in ids[root, default: 0] ^= edge }
        return TupleMessageId(anchorsToIds: ids)
    }

    /// Calls `body` with each (root, edge) pair this tuple carries.
    @inlinable
    package func forEachAnchor(_ body: (UInt64, UInt64) -> Void) {
        guard root != 0 else { return }
        body(root, edge)
        if let more = moreAnchors {
            var i = 0
            while i + 1 < more.count {
                body(more[i], more[i + 1])
                i += 2
            }
        }
    }

    /// The value at `index`. Precondition: `index < count`.
    @inlinable public subscript(index: Int) -> GaleValue { storage[index] }

    /// The value of the field `name`, or `nil` when the stream has no such field.
    @inlinable
    public subscript(field name: String) -> GaleValue? {
        guard let i = source.fields.index(of: name) else { return nil }
        return storage.at(i)
    }

    /// The value of the field `name`.
    /// - Throws: ``TupleAccessError`` naming the field and stream when the stream has no such field.
    public func value(named name: String) throws(TupleAccessError) -> GaleValue {
        guard let value = self[field: name] else {
            throw TupleAccessError.unknownField(name, component: sourceComponent, stream: sourceStreamId)
        }
        return value
    }

    /// The string at `index`, or `nil` when it is not a string or out of range.
    @inlinable
    public func string(at index: Int) -> String? {
        storage.at(index)?.stringValue
    }

    /// The integer at `index`, or `nil` when it is not an integer or out of range.
    @inlinable
    public func int(at index: Int) -> Int64? {
        storage.at(index)?.intValue
    }

    /// The string of field `name`, or `nil`.
    public func string(named name: String) -> String? { self[field: name]?.stringValue }
    /// The integer of field `name`, or `nil`.
    public func int(named name: String) -> Int64? { self[field: name]?.intValue }
}

extension Tuple: CustomStringConvertible {
    /// Names the source and the value types, never the values (tuples may carry private data).
    public var description: String {
        "Tuple(\(sourceComponent):\(sourceStreamId) task \(sourceTask), [\(values.map(\.typeName).joined(separator: ", "))])"
    }
}

/// The tuple-tree ids a tuple carries: each root id it is anchored to, with this tuple's edge id.
public struct TupleMessageId: Sendable, Hashable {
    /// Root id to edge id (XOR-combined when one root is reached by several anchors).
    public let anchorsToIds: [UInt64: UInt64]
    /// `true` when the tuple belongs to at least one tracked tree.
    public var isTracked: Bool { !anchorsToIds.isEmpty }
}

/// Reading a field a tuple's stream does not declare.
public enum TupleAccessError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownField(String, component: String, stream: String)

    public var description: String {
        switch self {
        case .unknownField(let field, let component, let stream):
            "tuple from component [\(component)] stream [\(stream)] has no field [\(field)]"
        }
    }
}
