package import Gale

/// Numbers every (component, stream) of a topology, so that a tuple's source crosses the wire as a
/// small integer instead of two strings.
///
/// Both ends build the same table from the same topology (components sorted by id, streams in
/// declaration order, from 1); the handshake compares ``digest`` so that two different builds of
/// a topology never misread each other's numbers.
package final class WireSources: Sendable {
    /// Index 0 is unused.
    package let sources: [TupleSource?]
    private let indexBySource: [ObjectIdentifier: UInt32]
    /// A hash of the table, the task count and the ackers, identical in every process.
    package let digest: UInt64
    /// The largest task id of the topology (task ids from the wire are checked against it).
    package let maxTaskId: Int

    package init(plan: TopologyPlan) {
        var sources: [TupleSource?] = [nil]
        var index: [ObjectIdentifier: UInt32] = [:]
        var hash = GaleValue.hashSeed
        func mix(_ string: String) {
            GaleValue.string(string).stableHash(into: &hash)
        }
        for spec in plan.topology.components.sorted(by: { $0.id < $1.id }) {
            for stream in spec.streams {
                let source = TupleSource.intern(component: spec.id, stream: stream.id, fields: stream.fields)
                index[ObjectIdentifier(source)] = UInt32(sources.count)
                sources.append(source)
                mix(spec.id)
                mix(stream.id)
                for name in stream.fields.names { mix(name) }
                mix(stream.isDirect ? "direct" : "")
            }
            mix("tasks=\(spec.tasks)")
        }
        mix("maxTask=\(plan.maxTaskId) ackers=\(plan.ackerTasks.count)")
        self.sources = sources
        self.indexBySource = index
        self.digest = hash
        self.maxTaskId = plan.maxTaskId
    }

    /// The wire index of `source`, or `nil` for a source outside the topology (tick tuples).
    @inline(__always)
    func index(of source: TupleSource) -> UInt32? {
        indexBySource[ObjectIdentifier(source)]
    }

    /// The source at wire index `index`.
    @inline(__always)
    func source(at index: UInt64) throws(WireError) -> TupleSource {
        guard index > 0, index < UInt64(sources.count), let source = sources[Int(index)] else {
            throw .malformed("unknown tuple source \(index)")
        }
        return source
    }
}
