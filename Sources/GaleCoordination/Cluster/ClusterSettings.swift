/// Settings a cluster worker adds to its topology's custom configuration
/// (`TopologyConfig.custom`), so that components (through `TopologyContext.config`) and
/// topology builders (through the settings `TopologyCommand` passes them) can reach the cluster.
///
/// Local runs have neither: code that needs ZooKeeper falls back to an in-process equivalent.
public enum ClusterSettings {
    /// The ZooKeeper connect string of the cluster (`host:port[,host:port...]`), as the worker's
    /// supervisor uses it. A value given to `gale submit --config` wins over the supervisor's.
    public static let zooKeeperServers = "gale.zookeeper.servers"
    /// A private file holding the digest credentials (`USER:PASSWORD`) to use with
    /// ``zooKeeperServers``: the supervisor's `zookeeper.auth.file`, which every worker of a
    /// cluster with ZooKeeper ACLs is given with the supervisor's servers. The credentials stay
    /// in that file (mode 0600 or 0440, the workers run as the supervisor's user).
    public static let zooKeeperAuthFile = "gale.zookeeper.auth.file"
    /// The id of the running topology (`<name>-<n>`), which changes with every submission; the
    /// name (`TopologyContext.topologyName`) stays.
    public static let topologyId = "gale.topology.id"
}
