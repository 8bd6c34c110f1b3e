/// Storm's task numbering: components sorted by id get consecutive task ids from 1, then the
/// acker tasks. The runtime plans with it and nimbus schedules with it, so every process
/// derives the same ids from the same description.
public enum TaskNumbering {
    /// Task ids per component id (ackers under ``Topology/ackerComponentId`` when `ackers > 0`).
    /// - Parameters:
    ///   - tasks: each component's id and task count.
    ///   - ackers: the number of acker tasks.
    public static func tasks(of tasks: [(id: String, tasks: Int)], ackers: Int) -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        var next = 1
        for component in tasks.sorted(by: { $0.id < $1.id }) {
            let count = max(0, component.tasks)
            result[component.id] = Array(next..<(next + count))
            next += count
        }
        if ackers > 0 { result[Topology.ackerComponentId] = Array(next..<(next + ackers)) }
        return result
    }
}

extension TopologyDescription {
    /// Task ids per component id, ackers included, as the runtime numbers them.
    public var taskIds: [String: [Int]] {
        TaskNumbering.tasks(of: components.map { ($0.id, $0.tasks) }, ackers: config.ackers)
    }

    /// A copy with other task counts (and matching parallelism) for the named components.
    /// - Throws: ``TopologyError/noSuchComponent(_:topology:components:)`` or
    ///   ``TopologyError/nonPositiveTasks(component:value:)``.
    public func rescaled(_ tasks: [String: Int]) throws(TopologyError) -> TopologyDescription {
        var copy = self
        for (id, count) in tasks {
            guard let index = copy.components.firstIndex(where: { $0.id == id }) else {
                throw .noSuchComponent(id, topology: name, components: components.map(\.id))
            }
            guard count > 0 else { throw .nonPositiveTasks(component: id, value: count) }
            copy.components[index].tasks = count
            copy.components[index].parallelism = count
        }
        return copy
    }
}

extension Topology {
    /// A copy in which the named components run `tasks[id]` tasks (one executor each), validated.
    ///
    /// Cluster mode uses this to apply `gale rebalance --parallelism` to the topology a binary builds.
    /// - Throws: ``TopologyError/noSuchComponent(_:topology:components:)`` or
    ///   ``TopologyError/nonPositiveTasks(component:value:)``.
    public func rescaled(_ tasks: [String: Int]) throws(TopologyError) -> Topology {
        var components = self.components
        for (id, count) in tasks {
            guard let index = components.firstIndex(where: { $0.id == id }) else {
                throw .noSuchComponent(id, topology: name, components: self.components.map(\.id))
            }
            guard count > 0 else { throw .nonPositiveTasks(component: id, value: count) }
            components[index].tasks = count
            components[index].parallelism = count
        }
        return Topology(name: name, config: config, components: components)
    }
}
