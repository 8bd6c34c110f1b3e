extension WorkerLaunchSpec {
    /// The settings a worker applies to its topology: the submitted ``configOverrides`` plus the
    /// ``ClusterSettings`` keys (the topology id, and the ZooKeeper servers with the path of their
    /// credentials file when the supervisor named them and the submission did not name servers).
    public var topologySettings: [String: String] {
        var settings = configOverrides
        if let zookeeper, !zookeeper.isEmpty, settings[ClusterSettings.zooKeeperServers] == nil {
            settings[ClusterSettings.zooKeeperServers] = zookeeper
            if let zookeeperAuthFile { settings[ClusterSettings.zooKeeperAuthFile] = zookeeperAuthFile }
        }
        settings[ClusterSettings.topologyId] = topologyId
        return settings
    }
}
