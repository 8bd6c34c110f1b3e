/// A topology that could not start or be found.
public enum GaleRuntimeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `open` or `prepare` of a task threw.
    case componentFailedToStart(component: String, task: Int, error: String)
    /// A topology of that name is already running.
    case alreadyRunning(String)
    /// No topology of that name is running.
    case notRunning(String)

    public var description: String {
        switch self {
        case .componentFailedToStart(let component, let task, let error):
            "component [\(component)] task \(task) failed to start: \(error)"
        case .alreadyRunning(let name):
            "topology [\(name)] is already running"
        case .notRunning(let name):
            "topology [\(name)] is not running"
        }
    }
}
