/// Declares spouts, bolts and their subscriptions, then builds a validated ``Topology``.
///
/// ```swift
/// let builder = TopologyBuilder(name: "wordcount")
/// builder.setSpout("sentences", parallelism: 2) { SentenceSpout() }
/// builder.setBolt("split", parallelism: 4) { SplitSentence() }.shuffleGrouping("sentences")
/// builder.setBolt("count", parallelism: 4) { WordCount() }.fieldsGrouping("split", fields: ["word"])
/// let topology = try builder.build()
/// ```
public final class TopologyBuilder {
    /// The topology's name.
    public let name: String
    /// The topology's configuration.
    public var config = TopologyConfig()
    var components: [ComponentSpec] = []

    /// Starts an empty topology named `name`.
    public init(name: String) {
        self.name = name
    }

    /// Adds a spout with `parallelism` executors and `tasks` tasks (default: `parallelism`).
    /// - Parameter factory: makes the spout instance of each task.
    @discardableResult
    public func setSpout(
        _ id: String,
        parallelism: Int = 1,
        tasks: Int? = nil,
        _ factory: @escaping @Sendable () -> any Spout
    ) -> SpoutDeclarer {
        components.append(
            ComponentSpec(id: id, factory: .spout(factory), parallelism: parallelism, tasks: tasks ?? parallelism)
        )
        return SpoutDeclarer(builder: self, index: components.count - 1)
    }

    /// Adds a bolt with `parallelism` executors and `tasks` tasks (default: `parallelism`).
    @discardableResult
    public func setBolt(
        _ id: String,
        parallelism: Int = 1,
        tasks: Int? = nil,
        _ factory: @escaping @Sendable () -> any Bolt
    ) -> BoltDeclarer {
        components.append(
            ComponentSpec(id: id, factory: .bolt(factory), parallelism: parallelism, tasks: tasks ?? parallelism)
        )
        return BoltDeclarer(builder: self, index: components.count - 1)
    }

    /// Adds a ``BasicBolt`` (anchored emits, automatic ack) with `parallelism` executors.
    @discardableResult
    public func setBolt(
        _ id: String,
        parallelism: Int = 1,
        tasks: Int? = nil,
        _ factory: @escaping @Sendable () -> any BasicBolt
    ) -> BoltDeclarer {
        components.append(
            ComponentSpec(id: id, factory: .basicBolt(factory), parallelism: parallelism, tasks: tasks ?? parallelism)
        )
        return BoltDeclarer(builder: self, index: components.count - 1)
    }

    /// Validates the declarations and returns the topology.
    ///
    /// Each component's factory is called once here to ask the instance for its output streams
    /// (and a bolt for its ``Bolt/defaultTickFrequencySeconds``).
    /// - Throws: ``TopologyError`` naming the first problem found.
    public func build() throws(TopologyError) -> Topology {
        var specs = components
        for i in specs.indices {
            var declarer = OutputFieldsDeclarer()
            switch specs[i].factory {
            case .spout(let make): make().declareOutputFields(&declarer)
            case .bolt(let make):
                let bolt = make()
                bolt.declareOutputFields(&declarer)
                if specs[i].tickFrequencySeconds == nil {
                    specs[i].tickFrequencySeconds = bolt.defaultTickFrequencySeconds
                }
            case .basicBolt(let make): make().declareOutputFields(&declarer)
            }
            specs[i].streams = declarer.streams
            specs[i].duplicateStreams = declarer.duplicates
        }
        let topology = Topology(name: name, config: config, components: specs)
        try topology.validate()
        return topology
    }
}

/// Further settings of a spout added with ``TopologyBuilder/setSpout(_:parallelism:tasks:_:)``.
public struct SpoutDeclarer {
    let builder: TopologyBuilder
    let index: Int

    /// Sets this spout's max pending tuple trees per task, overriding the topology setting.
    @discardableResult
    public func maxSpoutPending(_ value: Int) -> SpoutDeclarer {
        builder.components[index].maxSpoutPending = value
        return self
    }
}

/// The subscriptions and settings of a bolt added with ``TopologyBuilder``.
public struct BoltDeclarer {
    let builder: TopologyBuilder
    let index: Int

    /// Subscribes to `stream` of `component` with `grouping`.
    @discardableResult
    public func grouping(
        _ component: String,
        stream: String = Topology.defaultStreamId,
        _ grouping: Grouping
    )
        -> BoltDeclarer
    {
        builder.components[index].inputs.append(Subscription(component: component, stream: stream, grouping: grouping))
        return self
    }

    /// Shuffle grouping: an even spread over this bolt's tasks.
    @discardableResult
    public func shuffleGrouping(_ component: String, stream: String = Topology.defaultStreamId) -> BoltDeclarer {
        grouping(component, stream: stream, .shuffle)
    }

    /// Fields grouping: equal values of `fields` go to the same task.
    @discardableResult
    public func fieldsGrouping(
        _ component: String,
        stream: String = Topology.defaultStreamId,
        fields: Fields
    )
        -> BoltDeclarer
    {
        grouping(component, stream: stream, .fields(fields))
    }

    /// All grouping: every task gets every tuple.
    @discardableResult
    public func allGrouping(_ component: String, stream: String = Topology.defaultStreamId) -> BoltDeclarer {
        grouping(component, stream: stream, .all)
    }

    /// Global grouping: the lowest task id gets every tuple.
    @discardableResult
    public func globalGrouping(_ component: String, stream: String = Topology.defaultStreamId) -> BoltDeclarer {
        grouping(component, stream: stream, .global)
    }

    /// None grouping: no preference.
    @discardableResult
    public func noneGrouping(_ component: String, stream: String = Topology.defaultStreamId) -> BoltDeclarer {
        grouping(component, stream: stream, .none)
    }

    /// Direct grouping: the emitter chooses the task with `emitDirect`.
    @discardableResult
    public func directGrouping(_ component: String, stream: String = Topology.defaultStreamId) -> BoltDeclarer {
        grouping(component, stream: stream, .direct)
    }

    /// Local-or-shuffle grouping: prefers tasks in the emitter's worker.
    @discardableResult
    public func localOrShuffleGrouping(
        _ component: String,
        stream: String = Topology.defaultStreamId
    )
        -> BoltDeclarer
    {
        grouping(component, stream: stream, .localOrShuffle)
    }

    /// Partial-key grouping: each key goes to the less loaded of two candidate tasks.
    @discardableResult
    public func partialKeyGrouping(
        _ component: String,
        stream: String = Topology.defaultStreamId,
        fields: Fields
    )
        -> BoltDeclarer
    {
        grouping(component, stream: stream, .partialKey(fields))
    }

    /// A custom grouping; `factory` makes one instance per emitting task.
    @discardableResult
    public func customGrouping(
        _ component: String,
        stream: String = Topology.defaultStreamId,
        name: String,
        _ factory: @escaping @Sendable () -> any CustomStreamGrouping
    ) -> BoltDeclarer {
        grouping(component, stream: stream, .custom(name: name, factory: factory))
    }

    /// Sends this bolt a tick tuple every `seconds`.
    @discardableResult
    public func tickFrequency(seconds: Double) -> BoltDeclarer {
        builder.components[index].tickFrequencySeconds = seconds
        return self
    }
}
