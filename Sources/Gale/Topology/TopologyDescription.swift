import Foundation

/// The JSON form of a topology printed by a topology binary's `describe` subcommand.
public struct TopologyDescription: Sendable, Codable, Equatable {
    /// One declared stream.
    public struct Stream: Sendable, Codable, Equatable {
        public var id: String
        public var fields: [String]
        public var direct: Bool
    }

    /// One subscription of a bolt.
    public struct Input: Sendable, Codable, Equatable {
        public var component: String
        public var stream: String
        public var grouping: String
        public var fields: [String]?
        public var customName: String?
    }

    /// One spout or bolt.
    public struct Component: Sendable, Codable, Equatable {
        public var id: String
        public var kind: ComponentSpec.Kind
        public var parallelism: Int
        public var tasks: Int
        public var streams: [Stream]
        public var inputs: [Input]
        public var tickFrequencySeconds: Double?
        public var maxSpoutPending: Int?
        /// A windowed bolt's window, as ``WindowConfig/description`` words it.
        public var window: String?
    }

    /// The format version.
    public var v: Int
    public var name: String
    public var config: TopologyConfig
    public var components: [Component]
}

extension Topology {
    /// The topology as a ``TopologyDescription``.
    public func describe() -> TopologyDescription {
        TopologyDescription(
            v: 1,
            name: name,
            config: config,
            components: components.map { spec in
                TopologyDescription.Component(
                    id: spec.id,
                    kind: spec.kind,
                    parallelism: spec.parallelism,
                    tasks: spec.tasks,
                    streams: spec.streams.map { .init(id: $0.id, fields: $0.fields.names, direct: $0.isDirect) },
                    inputs: spec.inputs.map { input in
                        var customName: String?
                        if case .custom(let name, _) = input.grouping { customName = name }
                        return .init(
                            component: input.component,
                            stream: input.stream,
                            grouping: input.grouping.typeName,
                            fields: input.grouping.groupingFields?.names,
                            customName: customName
                        )
                    },
                    tickFrequencySeconds: spec.tickFrequencySeconds,
                    maxSpoutPending: spec.maxSpoutPending,
                    window: spec.window?.description
                )
            }
        )
    }

    /// The description as pretty-printed JSON with sorted keys.
    public func describeJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(describe()) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
