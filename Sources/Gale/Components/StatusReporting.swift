/// A spout or bolt that describes its own state in statistics and `gale status`, beside the
/// counters every component has; for example a Kafka spout naming, per partition, the committed
/// offset and the record holding it back.
///
/// Threading: called on the task's queue (like every method of the component), about once a
/// second while the task runs and when it goes idle.
public protocol StatusReporting: AnyObject {
    /// Short lines (one fact each) describing this task's state now.
    func statusLines() -> [String]
}
