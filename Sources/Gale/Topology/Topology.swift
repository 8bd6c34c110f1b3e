/// A validated topology: its components, their subscriptions and its configuration.
///
/// Build one with ``TopologyBuilder``. A topology is a value and can run many times.
public struct Topology: Sendable {
    /// The stream id used when none is named.
    @inlinable public static var defaultStreamId: String { "default" }
    /// The component id of system tuples (ticks).
    public static let systemComponentId = "__system"
    /// The stream id of tick tuples.
    public static let tickStreamId = "__tick"
    /// The component id of the acker tasks.
    public static let ackerComponentId = "__acker"

    /// The topology's name.
    public let name: String
    /// The topology's configuration.
    public var config: TopologyConfig
    /// Spouts and bolts in declaration order.
    public let components: [ComponentSpec]

    init(name: String, config: TopologyConfig, components: [ComponentSpec]) {
        self.name = name
        self.config = config
        self.components = components
    }

    /// The component `id`, if any.
    public func component(_ id: String) -> ComponentSpec? {
        components.first { $0.id == id }
    }

    /// The spouts, in declaration order.
    public var spouts: [ComponentSpec] { components.filter { $0.kind == .spout } }
    /// The bolts, in declaration order.
    public var bolts: [ComponentSpec] { components.filter { $0.kind == .bolt } }

    /// Returns a copy with another configuration, validated.
    /// - Throws: ``TopologyError/invalidConfig(key:value:reason:)``.
    public func with(config: TopologyConfig) throws(TopologyError) -> Topology {
        try config.validate()
        var copy = self
        copy.config = config
        return copy
    }

    // MARK: - Validation

    /// Checks names, ids, parallelism, subscriptions, groupings and configuration.
    /// - Throws: ``TopologyError`` naming the first problem found.
    public func validate() throws(TopologyError) {
        guard Topology.isValidName(name) else { throw .invalidTopologyName(name) }
        try config.validate()
        var seen = Set<String>()
        for spec in components {
            guard !spec.id.isEmpty else { throw .invalidComponentId(spec.id, reason: "it is empty") }
            guard !spec.id.hasPrefix("__") else {
                throw .invalidComponentId(spec.id, reason: "ids starting with '__' are reserved")
            }
            guard seen.insert(spec.id).inserted else { throw .duplicateComponentId(spec.id) }
            guard spec.parallelism > 0 else {
                throw .nonPositiveParallelism(component: spec.id, value: spec.parallelism)
            }
            guard spec.tasks > 0 else { throw .nonPositiveTasks(component: spec.id, value: spec.tasks) }
            if let stream = spec.duplicateStreams.first { throw .duplicateStream(component: spec.id, stream: stream) }
            for stream in spec.streams {
                if let field = stream.fields.firstDuplicate {
                    throw .duplicateField(component: spec.id, stream: stream.id, field: field)
                }
            }
            if let seconds = spec.tickFrequencySeconds, !(seconds > 0) || !seconds.isFinite {
                throw .invalidTickFrequency(component: spec.id, seconds: seconds)
            }
            if let pending = spec.maxSpoutPending, pending <= 0 {
                throw .invalidConfig(
                    key: "\(spec.id).max.spout.pending",
                    value: "\(pending)",
                    reason: "must be positive"
                )
            }
        }
        guard components.contains(where: { $0.kind == .spout }) else { throw .emptyTopology(topology: name) }
        for spec in components {
            var subscribed = Set<String>()
            for input in spec.inputs {
                guard let source = component(input.component) else {
                    throw .unknownComponent(input.component, referencedBy: spec.id)
                }
                guard let stream = source.stream(input.stream) else {
                    throw .unknownStream(component: input.component, stream: input.stream, referencedBy: spec.id)
                }
                guard subscribed.insert(input.component + "\u{0}" + input.stream).inserted else {
                    throw .duplicateSubscription(
                        component: input.component,
                        stream: input.stream,
                        referencedBy: spec.id
                    )
                }
                if let fields = input.grouping.groupingFields {
                    guard fields.count > 0 else {
                        throw .emptyGroupingFields(
                            component: input.component,
                            stream: input.stream,
                            referencedBy: spec.id
                        )
                    }
                    for field in fields.names where !stream.fields.contains(field) {
                        throw .unknownField(
                            component: input.component,
                            stream: input.stream,
                            field: field,
                            referencedBy: spec.id
                        )
                    }
                }
                if case .direct = input.grouping {
                    guard stream.isDirect else {
                        throw .directGroupingOnNonDirectStream(
                            component: input.component,
                            stream: input.stream,
                            referencedBy: spec.id
                        )
                    }
                } else if stream.isDirect {
                    throw .nonDirectGroupingOnDirectStream(
                        component: input.component,
                        stream: input.stream,
                        referencedBy: spec.id
                    )
                }
                if let field = spec.window?.timestampField, !stream.fields.contains(field) {
                    throw .invalidWindow(
                        component: spec.id,
                        reason:
                            "its timestamp field [\(field)] is not a field of stream [\(input.stream)] of [\(input.component)]"
                    )
                }
            }
            if let window = spec.window { try validate(window: window, of: spec) }
        }
    }

    /// A window's own problems, and whether the topology lets it work: with acking, a tuple
    /// waits in a window until its last evaluation, so the message timeout must be longer than a
    /// duration window holds a tuple, and the spouts must let enough tuples be pending for a
    /// count window to fill (Storm's checks).
    private func validate(window: WindowConfig, of spec: ComponentSpec) throws(TopologyError) {
        if let problem = window.problem() { throw .invalidWindow(component: spec.id, reason: problem) }
        guard config.ackers > 0 else { return }
        if let hold = window.longestHold, hold >= .seconds(config.messageTimeoutSeconds) {
            throw .invalidWindow(
                component: spec.id,
                reason:
                    "a tuple can wait \(hold) in it before it is acked (\(window.store.isDurable ? "the store's commit" : "length + sliding interval")\(window.isEventTime ? " + lag + watermark interval" : "")), not less than the message timeout of \(config.messageTimeoutSeconds) s: raise topology.message.timeout.secs or shorten the window"
            )
        }
        if let needed = window.countHeld {
            let spoutTasks = components.filter { $0.kind == .spout }
            let limits = spoutTasks.map { spout in
                (spout.maxSpoutPending ?? config.maxSpoutPending).map { $0 * spout.tasks }
            }
            if !limits.contains(where: { $0 == nil }) {
                let pending = limits.reduce(0) { $0 + ($1 ?? 0) }
                if pending < needed {
                    throw .invalidWindow(
                        component: spec.id,
                        reason:
                            "it needs \(needed) tuples in flight (length + sliding interval) but the spouts' max spout pending lets only \(pending) be: raise topology.max.spout.pending or shorten the window"
                    )
                }
            }
        }
    }

    /// `true` for 1 to 128 letters, digits, `-`, `_` or `.`.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...128).contains(name.utf8.count) else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
    }
}
