public import Gale

/// Task ids, subscriptions and upstream relations of a topology.
///
/// Task ids are assigned as in Storm: components sorted by id, each given consecutive ids from 1,
/// then the acker tasks. Every process computes the same ids from the same topology.
public struct TopologyPlan: Sendable {
    /// The topology planned.
    public let topology: Topology
    /// Task ids per component id (ackers under ``Topology/ackerComponentId``).
    public let tasksByComponent: [String: [Int]]
    /// Component id per task id (index 0 unused).
    public let componentByTask: [String]
    /// The acker task ids.
    public let ackerTasks: [Int]
    /// The largest task id.
    public var maxTaskId: Int { componentByTask.count - 1 }

    /// Plans `topology`.
    public init(topology: Topology) {
        self.topology = topology
        let tasks = TaskNumbering.tasks(
            of: topology.components.map { ($0.id, $0.tasks) },
            ackers: topology.config.ackers
        )
        var byTask = [String](repeating: "", count: 1 + tasks.values.reduce(0) { $0 + $1.count })
        for (component, ids) in tasks {
            for id in ids { byTask[id] = component }
        }
        self.tasksByComponent = tasks
        self.componentByTask = byTask
        self.ackerTasks = tasks[Topology.ackerComponentId] ?? []
    }

    /// The task ids of `component`.
    public func tasks(of component: String) -> [Int] { tasksByComponent[component] ?? [] }

    /// The spouts from which `component` can be reached through subscriptions (cycles included).
    /// Ackers are reached from every spout.
    public func upstreamSpouts(of component: String) -> [String] {
        let spouts = topology.spouts.map(\.id)
        if component == Topology.ackerComponentId { return spouts }
        var seen: Set<String> = [component]
        var frontier = [component]
        while let current = frontier.popLast() {
            guard let spec = topology.component(current) else { continue }
            for input in spec.inputs where seen.insert(input.component).inserted {
                frontier.append(input.component)
            }
        }
        return spouts.filter { seen.contains($0) }
    }

    /// `true` when a chain of subscriptions leads from `source` to `target` (at least one hop).
    public func reaches(from source: String, to target: String) -> Bool {
        var seen = Set<String>()
        var frontier = [source]
        while let current = frontier.popLast() {
            for spec in topology.components where spec.inputs.contains(where: { $0.component == current }) {
                if spec.id == target { return true }
                if seen.insert(spec.id).inserted { frontier.append(spec.id) }
            }
        }
        return false
    }

    /// The components whose tasks pause while a queue of `component` is overloaded.
    ///
    /// - Spouts subscribed to it directly, and bolts subscribed to it that it cannot reach back
    ///   (hop-by-hop flow control: each paused bolt's own queue then fills and pauses its producers).
    /// - When `component` lies on a cycle, also every spout upstream of it: bolts of a cycle never
    ///   wait for each other, so the cycle's sources stop instead and no wait can deadlock.
    /// - For the ackers, every spout.
    public func componentsToPause(whenOverloaded component: String) -> [String] {
        if component == Topology.ackerComponentId { return topology.spouts.map(\.id) }
        guard let spec = topology.component(component) else { return [] }
        var result: [String] = []
        for input in spec.inputs where !result.contains(input.component) {
            guard let source = topology.component(input.component) else { continue }
            if source.kind == .spout || !reaches(from: component, to: source.id) {
                result.append(source.id)
            }
        }
        if reaches(from: component, to: component) {
            for spout in upstreamSpouts(of: component) where !result.contains(spout) {
                result.append(spout)
            }
        }
        return result
    }

    /// The context of `task`.
    public func context(task: Int) -> TopologyContext {
        let component = task < componentByTask.count ? componentByTask[task] : ""
        return TopologyContext(
            topologyName: topology.name,
            componentId: component,
            taskId: task,
            config: topology.config,
            tasksByComponent: tasksByComponent,
            outputStreams: topology.component(component)?.streams ?? [],
            inputs: topology.component(component)?.inputs ?? [],
            metricsBackend: SwiftMetricsBackend.shared
        )
    }

    /// The routes of every output stream of `task`.
    /// - Parameter localTasks: tasks in the emitter's process, for local-or-shuffle; `nil` means all.
    package func routingTable(task: Int, localTasks: Set<Int>? = nil) -> RoutingTable {
        let componentId = componentByTask[task]
        guard let spec = topology.component(componentId) else { return RoutingTable(routes: [:]) }
        var routes: [String: StreamRoute] = [:]
        let context = context(task: task)
        for stream in spec.streams {
            var targets: [TargetRoute] = []
            for subscriber in topology.components {
                for input in subscriber.inputs where input.component == spec.id && input.stream == stream.id {
                    let subscriberTasks = tasks(of: subscriber.id)
                    let kind: TargetRoute.Kind
                    var routeTasks = subscriberTasks
                    switch input.grouping {
                    case .shuffle, .none:
                        kind = .shuffle
                    case .localOrShuffle:
                        kind = .shuffle
                        if let localTasks {
                            let local = subscriberTasks.filter { localTasks.contains($0) }
                            if !local.isEmpty { routeTasks = local }
                        }
                    case .fields(let fields):
                        kind = .fields(fields.names.compactMap { stream.fields.index(of: $0) })
                    case .partialKey(let fields):
                        kind = .partialKey(fields.names.compactMap { stream.fields.index(of: $0) })
                    case .all:
                        kind = .all
                    case .global:
                        kind = .global
                    case .direct:
                        kind = .direct
                    case .custom(_, let factory):
                        let grouping = factory()
                        grouping.prepare(
                            context: context,
                            sourceComponent: spec.id,
                            stream: stream.id,
                            targetTasks: subscriberTasks
                        )
                        kind = .custom(grouping)
                    }
                    targets.append(TargetRoute(kind: kind, tasks: routeTasks, component: subscriber.id, seed: task))
                }
            }
            let source = TupleSource.intern(component: spec.id, stream: stream.id, fields: stream.fields)
            routes[stream.id] = StreamRoute(source: source, isDirect: stream.isDirect, targets: targets)
        }
        return RoutingTable(routes: routes)
    }
}
