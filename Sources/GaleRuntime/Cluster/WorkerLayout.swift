/// Which worker runs each task of a topology, as this worker sees it.
///
/// Every worker of an assignment gets the same `taskAddresses` (ackers included) and its own `me`.
public struct WorkerLayout: Sendable {
    /// The topology's id in the cluster; peers must present the same in their handshake.
    public var topologyId: String
    /// The assignment's epoch; peers of another epoch are refused.
    public var epoch: Int
    /// This worker's address: the listener binds it (port 0 picks a free port).
    public var me: WorkerAddress
    /// Every task id (components and ackers) to the worker that runs it.
    public var taskAddresses: [Int: WorkerAddress]
    /// The assignment's secret (from nimbus, through the supervisor's launch spec): a peer is
    /// accepted only with a handshake that proves it holds the same. `nil`: none asked.
    public var secret: [UInt8]?

    /// A layout.
    /// - Parameters:
    ///   - topologyId: the topology's id in the cluster.
    ///   - epoch: the assignment's epoch.
    ///   - me: this worker's address.
    ///   - taskAddresses: every task id (components and ackers) to its worker.
    ///   - secret: the assignment's secret, which every peer must prove it holds.
    public init(
        topologyId: String,
        epoch: Int,
        me: WorkerAddress,
        taskAddresses: [Int: WorkerAddress],
        secret: [UInt8]? = nil
    ) {
        self.topologyId = topologyId
        self.epoch = epoch
        self.me = me
        self.taskAddresses = taskAddresses
        self.secret = secret
    }

    /// The tasks whose address is ``me``.
    public var localTasks: Set<Int> {
        Set(taskAddresses.filter { $0.value == me }.keys)
    }

    /// The other workers' addresses.
    public var peers: Set<WorkerAddress> {
        Set(taskAddresses.values.filter { $0 != me })
    }
}
