/// What a task knows about itself and its topology.
public struct TopologyContext: Sendable {
    /// The topology's name.
    public let topologyName: String
    /// This component's id.
    public let componentId: String
    /// This task's id (unique in the topology).
    public let taskId: Int
    /// The topology's configuration.
    public let config: TopologyConfig
    /// Task ids per component id, ascending.
    public let tasksByComponent: [String: [Int]]
    /// This component's output streams.
    public let outputStreams: [OutputFieldsDeclarer.Stream]
    /// The streams this component subscribes to (empty for a spout).
    public let inputs: [Subscription]
    /// This task's own metrics (``ComponentMetrics``): counters, gauges, timers, histograms.
    public let metrics: ComponentMetrics

    /// Creates a context (the runtime does this for every task).
    public init(
        topologyName: String,
        componentId: String,
        taskId: Int,
        config: TopologyConfig,
        tasksByComponent: [String: [Int]],
        outputStreams: [OutputFieldsDeclarer.Stream],
        inputs: [Subscription] = [],
        metricsBackend: (any MetricsBackend)? = nil
    ) {
        self.topologyName = topologyName
        self.componentId = componentId
        self.taskId = taskId
        self.config = config
        self.tasksByComponent = tasksByComponent
        self.outputStreams = outputStreams
        self.inputs = inputs
        self.metrics = ComponentMetrics(
            backend: metricsBackend,
            topologyName: topologyName,
            componentId: componentId,
            taskId: taskId
        )
    }

    /// The task ids of `component`, ascending (empty for an unknown component).
    public func tasks(of component: String) -> [Int] { tasksByComponent[component] ?? [] }

    /// The task ids of this component.
    public var componentTasks: [Int] { tasks(of: componentId) }

    /// This task's position among its component's tasks, from 0.
    public var taskIndex: Int { componentTasks.firstIndex(of: taskId) ?? 0 }

    /// The fields of this component's output `stream`, or `nil` when it was not declared.
    public func outputFields(stream: String = Topology.defaultStreamId) -> Fields? {
        outputStreams.first { $0.id == stream }?.fields
    }
}
