extension WorkerLaunchSpec {
    /// The settings a worker applies to its topology: the submitted ``configOverrides`` plus the
    /// ``ClusterSettings`` keys (the topology id, and the ZooKeeper servers when the supervisor
    /// named them and the submission did not).
    public var topologySettings: [String: String] {
        var settings = configOverrides
        if let zookeeper, !zookeeper.isEmpty, settings[ClusterSettings.zooKeeperServers] == nil {
            settings[ClusterSettings.zooKeeperServers] = zookeeper
        }
        settings[ClusterSettings.topologyId] = topologyId
        return settings
    }
}
