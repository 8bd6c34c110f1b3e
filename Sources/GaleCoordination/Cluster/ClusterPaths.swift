/// The znode layout of a Gale cluster (see DESIGN.md). Every value is JSON with a `v` field.
///
/// ZooKeeper holds membership and intent only; heartbeats and statistics never go through it.
public enum ClusterPaths {
    /// Root of everything Gale keeps in ZooKeeper.
    public static let root = "/gale"
    /// Parent of the nimbus election's ephemeral sequential nodes.
    public static let nimbus = "/gale/nimbus"
    /// Parent of the supervisors' ephemeral nodes.
    public static let supervisors = "/gale/supervisors"
    /// Parent of the topology records.
    public static let topologies = "/gale/topologies"
    /// Parent of the assignments.
    public static let assignments = "/gale/assignments"
    /// Parent of the transactional layer's stores, one per topology name (created on first use).
    public static let transactional = "/gale/transactional"
    /// Parent of the topologies' controls (log levels, event sampling).
    public static let controls = "/gale/controls"

    /// The node of supervisor `id`.
    public static func supervisor(_ id: String) -> String { "\(supervisors)/\(id)" }
    /// The record of topology `id`.
    public static func topology(_ id: String) -> String { "\(topologies)/\(id)" }
    /// The assignment of topology `id`.
    public static func assignment(_ id: String) -> String { "\(assignments)/\(id)" }
    /// The controls of topology `id` (``ControlsRecord``; absent until an operator sets some).
    public static func controls(_ id: String) -> String { "\(controls)/\(id)" }
    /// The root of the transactional store of the topology named `name`.
    public static func transactionalStore(_ name: String) -> String { "\(transactional)/\(name)" }

    /// The persistent parents nimbus and supervisors create at start.
    public static let parents = [root, nimbus, supervisors, topologies, assignments, controls]
}
