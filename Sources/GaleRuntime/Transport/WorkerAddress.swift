/// Where a worker listens for tuples from other workers.
public struct WorkerAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Host name or IP address.
    public var host: String
    /// TCP port (0 when binding means "pick a free port").
    public var port: Int

    /// An address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port` (IPv6 hosts in brackets).
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
