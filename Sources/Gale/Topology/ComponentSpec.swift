/// Makes one component instance per task.
public enum ComponentFactory: Sendable {
    case spout(@Sendable () -> any Spout)
    case bolt(@Sendable () -> any Bolt)
    case basicBolt(@Sendable () -> any BasicBolt)
}

/// One spout or bolt of a topology, as declared in ``TopologyBuilder``.
public struct ComponentSpec: Sendable {
    /// Spout or bolt.
    public enum Kind: String, Sendable, Codable {
        case spout, bolt
    }

    /// The component id, unique in the topology.
    public let id: String
    /// Makes the instance of each task.
    public let factory: ComponentFactory
    /// Number of executors the component asks for (the parallelism hint).
    public internal(set) var parallelism: Int
    /// Number of tasks; each task has its own instance and executor queue.
    public internal(set) var tasks: Int
    /// The streams the component declares.
    public internal(set) var streams: [OutputFieldsDeclarer.Stream] = []
    /// The streams a bolt subscribes to.
    public internal(set) var inputs: [Subscription] = []
    /// Seconds between tick tuples for a bolt; `nil` for none.
    public internal(set) var tickFrequencySeconds: Double?
    /// A spout's own max spout pending, overriding the topology's.
    public internal(set) var maxSpoutPending: Int?
    /// The window of a bolt added as a ``WindowedBolt``.
    public internal(set) var window: WindowConfig?
    /// Stream ids declared more than once.
    var duplicateStreams: [String] = []

    /// Spout or bolt.
    public var kind: Kind {
        if case .spout = factory { return .spout }
        return .bolt
    }

    /// The declared stream `id`, if any.
    public func stream(_ id: String) -> OutputFieldsDeclarer.Stream? {
        streams.first { $0.id == id }
    }
}
