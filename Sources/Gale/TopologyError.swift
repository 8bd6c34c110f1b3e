/// A topology that cannot run, with the component, stream or field at fault.
public enum TopologyError: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyTopology(topology: String)
    case invalidTopologyName(String)
    case invalidComponentId(String, reason: String)
    case duplicateComponentId(String)
    case duplicateStream(component: String, stream: String)
    case duplicateField(component: String, stream: String, field: String)
    case nonPositiveParallelism(component: String, value: Int)
    case nonPositiveTasks(component: String, value: Int)
    case unknownComponent(String, referencedBy: String)
    /// A rescale names a component the topology does not have.
    case noSuchComponent(String, topology: String, components: [String])
    case unknownStream(component: String, stream: String, referencedBy: String)
    case unknownField(component: String, stream: String, field: String, referencedBy: String)
    case emptyGroupingFields(component: String, stream: String, referencedBy: String)
    case directGroupingOnNonDirectStream(component: String, stream: String, referencedBy: String)
    case nonDirectGroupingOnDirectStream(component: String, stream: String, referencedBy: String)
    case duplicateSubscription(component: String, stream: String, referencedBy: String)
    case invalidTickFrequency(component: String, seconds: Double)
    case invalidConfig(key: String, value: String, reason: String)
    case invalidWindow(component: String, reason: String)

    public var description: String {
        switch self {
        case .emptyTopology(let name):
            "topology [\(name)] has no spouts"
        case .invalidTopologyName(let name):
            "topology name [\(name)] is invalid: use letters, digits, '-', '_' or '.', 1 to 128 characters"
        case .invalidComponentId(let id, let reason):
            "component id [\(id)] is invalid: \(reason)"
        case .duplicateComponentId(let id):
            "component id [\(id)] is used more than once"
        case .duplicateStream(let component, let stream):
            "component [\(component)] declares stream [\(stream)] more than once"
        case .duplicateField(let component, let stream, let field):
            "stream [\(stream)] of component [\(component)] declares field [\(field)] more than once"
        case .nonPositiveParallelism(let component, let value):
            "component [\(component)] has parallelism \(value); it must be at least 1"
        case .nonPositiveTasks(let component, let value):
            "component [\(component)] has \(value) tasks; it must have at least 1"
        case .unknownComponent(let id, let referencedBy):
            "bolt [\(referencedBy)] subscribes to unknown component [\(id)]"
        case .noSuchComponent(let id, let topology, let components):
            "topology [\(topology)] has no component [\(id)]; its components are \(components.map { "[\($0)]" }.joined(separator: ", "))"
        case .unknownStream(let component, let stream, let referencedBy):
            "bolt [\(referencedBy)] subscribes to stream [\(stream)] that component [\(component)] does not declare"
        case .unknownField(let component, let stream, let field, let referencedBy):
            "bolt [\(referencedBy)] groups on field [\(field)] that stream [\(stream)] of component [\(component)] does not declare"
        case .emptyGroupingFields(let component, let stream, let referencedBy):
            "bolt [\(referencedBy)] groups stream [\(stream)] of component [\(component)] on no fields"
        case .directGroupingOnNonDirectStream(let component, let stream, let referencedBy):
            "bolt [\(referencedBy)] uses direct grouping on stream [\(stream)] of component [\(component)], which is not declared direct"
        case .nonDirectGroupingOnDirectStream(let component, let stream, let referencedBy):
            "bolt [\(referencedBy)] must use direct grouping on the direct stream [\(stream)] of component [\(component)]"
        case .duplicateSubscription(let component, let stream, let referencedBy):
            "bolt [\(referencedBy)] subscribes to stream [\(stream)] of component [\(component)] more than once"
        case .invalidTickFrequency(let component, let seconds):
            "bolt [\(component)] has tick frequency \(seconds) s; it must be positive"
        case .invalidConfig(let key, let value, let reason):
            "setting [\(key)] = [\(value)] is invalid: \(reason)"
        case .invalidWindow(let component, let reason):
            "the window of bolt [\(component)] is invalid: \(reason)"
        }
    }
}
