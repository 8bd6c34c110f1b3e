/// Where a tuple comes from: its component, stream and the stream's fields.
///
/// One instance exists per (component, stream) of a running topology and is shared by every tuple
/// on that stream. Instances are immortal (see ``TupleSource/intern(component:stream:fields:)``),
/// so a tuple can refer to its source without reference counting on the per-tuple path.
public final class TupleSource: Sendable {
    /// The emitting component's id.
    public let componentId: String
    /// The stream id.
    public let streamId: String
    /// The stream's declared fields.
    public let fields: Fields
    /// A number no other source of this process has (from 0 in the order sources are made): the
    /// runtime counts per input stream by it, comparing integers, where comparing references
    /// would retain and release the shared source per tuple.
    package let serial: Int

    private init(componentId: String, streamId: String, fields: Fields, serial: Int) {
        self.componentId = componentId
        self.streamId = streamId
        self.fields = fields
        self.serial = serial
    }

    private static let registry = Registry()

    /// Returns the one source for this component, stream and fields, creating it on first use.
    ///
    /// Sources are never freed: a process holds a handful per topology it has run.
    package static func intern(component: String, stream: String, fields: Fields) -> TupleSource {
        registry.intern(component: component, stream: stream, fields: fields) { serial in
            TupleSource(componentId: component, streamId: stream, fields: fields, serial: serial)
        }
    }

    /// The source of tick tuples: component `__system`, stream `__tick`.
    package static let tick = intern(component: Topology.systemComponentId, stream: Topology.tickStreamId, fields: [])
}

/// The table behind ``TupleSource/intern(component:stream:fields:)``.
private final class Registry: @unchecked Sendable {
    private struct Key: Hashable {
        let component: String
        let stream: String
        let fields: Fields
    }

    private var sources: [Key: TupleSource] = [:]
    private let lock = PlainLock()

    func intern(component: String, stream: String, fields: Fields, make: (Int) -> TupleSource) -> TupleSource {
        let key = Key(component: component, stream: stream, fields: fields)
        return lock.withLock {
            if let existing = sources[key] { return existing }
            let source = make(sources.count)
            sources[key] = source
            return source
        }
    }
}
