/// A user-defined grouping: chooses the target tasks of each tuple.
///
/// Threading: one instance per emitting task, called on that task's executor queue.
public protocol CustomStreamGrouping: AnyObject {
    /// Called once with the emitting task's context, the subscribed stream and the tasks of the
    /// subscribing component.
    func prepare(context: TopologyContext, sourceComponent: String, stream: String, targetTasks: [Int])

    /// The tasks (from `targetTasks`) that receive a tuple with `values`.
    func chooseTasks(sourceTask: Int, values: [GaleValue]) -> [Int]
}
