import Foundation
public import Gale

/// A `host:port` pair: a supervisor slot, a worker, a daemon's HTTP endpoint.
public struct Endpoint: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; `nil` when the text is not one (a host holds no space or comma).
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "," }),
            let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port)
        else {
            return nil
        }
        self.init(host: host, port: port)
    }

    public var description: String { "\(host):\(port)" }

    public static func < (a: Endpoint, b: Endpoint) -> Bool { (a.host, a.port) < (b.host, b.port) }
}

/// `/gale/supervisors/<id>`: a live supervisor (ephemeral).
public struct SupervisorRecord: Sendable, Codable, Equatable {
    public var v = 1
    public var id: String
    /// The host its workers listen on.
    public var host: String
    /// The worker ports it offers.
    public var slots: [Int]
    /// Unix seconds when it started.
    public var startedAt: Double
    /// Its HTTP endpoint (`/metrics`, worker logs; `supervisor.http.*`), `nil` from a supervisor
    /// without one.
    public var http: Endpoint?
    /// Whether ``http`` is HTTPS (the host's `tls.cert.file`).
    public var httpTLS: Bool?

    public init(id: String, host: String, slots: [Int], startedAt: Double, http: Endpoint? = nil, httpTLS: Bool? = nil)
    {
        self.id = id
        self.host = host
        self.slots = slots
        self.startedAt = startedAt
        self.http = http
        self.httpTLS = httpTLS
    }
}

/// What an operator asked of a topology.
public enum TopologyStatus: String, Sendable, Codable {
    case active, inactive, killed
}

/// `/gale/topologies/<id>`: a submitted topology.
public struct TopologyRecord: Sendable, Codable, Equatable {
    public var v = 1
    /// Unique id: `<name>-<n>`.
    public var id: String
    public var name: String
    public var status: TopologyStatus
    /// SHA-256 of the topology binary (hex), the key of its blob at nimbus.
    public var binaryDigest: String
    /// Size of the binary in bytes.
    public var binarySize: Int
    /// The binary's `describe` output with the submitted configuration and current task counts.
    public var description: TopologyDescription
    /// The `key=value` settings given at submit, applied by workers on top of the binary's own.
    public var configOverrides: [String: String]
    /// Per-component task counts changed by rebalance, applied by workers.
    public var parallelism: [String: Int]
    /// Requested number of workers.
    public var workers: Int
    /// Unix seconds of the submission.
    public var submittedAt: Double
    /// While killed: unix seconds after which its workers are removed.
    public var killAt: Double?
    /// The name of the token that submitted it, when nimbus authenticates its callers: a
    /// submitter manages only its own topologies.
    public var owner: String?

    public init(
        id: String,
        name: String,
        status: TopologyStatus,
        binaryDigest: String,
        binarySize: Int,
        description: TopologyDescription,
        configOverrides: [String: String],
        parallelism: [String: Int],
        workers: Int,
        submittedAt: Double,
        owner: String? = nil
    ) {
        self.id = id
        self.name = name
        self.status = status
        self.binaryDigest = binaryDigest
        self.binarySize = binarySize
        self.description = description
        self.configOverrides = configOverrides
        self.parallelism = parallelism
        self.workers = workers
        self.submittedAt = submittedAt
        self.owner = owner
    }
}

/// One worker of an assignment: a supervisor slot and the tasks it runs.
public struct WorkerAssignment: Sendable, Codable, Equatable {
    public var supervisorId: String
    public var endpoint: Endpoint
    public var tasks: [Int]

    public init(supervisorId: String, endpoint: Endpoint, tasks: [Int]) {
        self.supervisorId = supervisorId
        self.endpoint = endpoint
        self.tasks = tasks
    }
}

/// `/gale/assignments/<topology-id>`: where every task of a topology runs.
public struct AssignmentRecord: Sendable, Codable, Equatable {
    public var v = 1
    public var topologyId: String
    /// Bumped on every change; workers of another epoch refuse each other's connections.
    public var epoch: Int
    public var workers: [WorkerAssignment]
    /// A random secret of this epoch's assignment (64 hex digits, new with every epoch): its
    /// workers prove it to each other in their transport handshake, and each derives its
    /// heartbeat token from it (``WorkerLaunchSpec/heartbeatToken(secret:workerId:)``). Absent
    /// in assignments written before nimbus made one.
    public var secret: String?

    public init(topologyId: String, epoch: Int, workers: [WorkerAssignment]) {
        self.topologyId = topologyId
        self.epoch = epoch
        self.workers = workers
    }

    /// Every task id → the endpoint of its worker.
    public var taskEndpoints: [Int: Endpoint] {
        var result: [Int: Endpoint] = [:]
        for worker in workers {
            for task in worker.tasks { result[task] = worker.endpoint }
        }
        return result
    }
}

/// What a supervisor writes for each worker it starts (`worker --assignment FILE`).
public struct WorkerLaunchSpec: Sendable, Codable, Equatable {
    public var v = 1
    public var workerId: String
    public var topologyId: String
    public var topologyName: String
    public var epoch: Int
    /// This worker's endpoint (it listens on its port).
    public var endpoint: Endpoint
    /// Every task id → the endpoint of its worker.
    public var taskEndpoints: [Int: Endpoint]
    public var configOverrides: [String: String]
    public var parallelism: [String: Int]
    /// Whether its spouts start active.
    public var active: Bool
    /// The supervisor's loopback heartbeat endpoint.
    public var supervisor: Endpoint
    /// Seconds without a heartbeat answer after which the worker stops itself (its supervisor is gone).
    public var orphanTimeoutSeconds: Double
    /// A file holding the supervisor's current heartbeat port: a restarted supervisor that
    /// cannot listen on its previous port writes the new one there, and its adopted workers
    /// read it when their heartbeats go unanswered.
    public var supervisorPortFile: String?
    /// The ZooKeeper connect string of the supervisor's cluster (`host:port[,host:port...]`),
    /// handed to the topology as ``ClusterSettings/zooKeeperServers``. Absent in specs written by
    /// supervisors older than this field.
    public var zookeeper: String?
    /// The absolute path of the supervisor's `zookeeper.auth.file` (the credentials for
    /// ``zookeeper``), handed to the topology as ``ClusterSettings/zooKeeperAuthFile``. The spec
    /// holds the path only, never the credentials. Absent when the cluster's ZooKeeper has no ACLs.
    public var zookeeperAuthFile: String?
    /// The assignment's secret (``AssignmentRecord/secret``), for the transport handshake. The
    /// supervisor writes a spec that holds it readable by its own user only.
    public var assignmentSecret: String?
    /// What the worker sends its supervisor with each heartbeat (`Authorization: Bearer`).
    public var heartbeatToken: String?
    /// Mutual TLS for the worker-to-worker transport (`transport.tls`): the supervisor host's
    /// certificate, key and cluster CA as PEM text, so that a worker needs to read no file of
    /// its supervisor's. Absent: plain TCP.
    public var transportTLS: WorkerTransportTLS?

    public init(
        workerId: String,
        topologyId: String,
        topologyName: String,
        epoch: Int,
        endpoint: Endpoint,
        taskEndpoints: [Int: Endpoint],
        configOverrides: [String: String],
        parallelism: [String: Int],
        active: Bool,
        supervisor: Endpoint,
        orphanTimeoutSeconds: Double,
        zookeeper: String? = nil,
        zookeeperAuthFile: String? = nil
    ) {
        self.workerId = workerId
        self.topologyId = topologyId
        self.topologyName = topologyName
        self.epoch = epoch
        self.endpoint = endpoint
        self.taskEndpoints = taskEndpoints
        self.configOverrides = configOverrides
        self.parallelism = parallelism
        self.active = active
        self.supervisor = supervisor
        self.orphanTimeoutSeconds = orphanTimeoutSeconds
        self.zookeeper = zookeeper
        self.zookeeperAuthFile = zookeeperAuthFile
    }

    /// A worker's heartbeat token: SHA-256 of the assignment's secret and the worker's id, so
    /// each worker has its own and its supervisor can compute it again after a restart.
    public static func heartbeatToken(secret: String, workerId: String) -> String {
        SHA256Digest.hex(of: Array("gale-heartbeat|\(secret)|\(workerId)".utf8))
    }

    /// The id of the worker of topology `topologyId` on `port` (`<topology id>-<port>`): the
    /// name of its directory and of its log file, `DATA/logs/<worker id>.log`.
    public static func workerId(topologyId: String, port: Int) -> String { "\(topologyId)-\(port)" }
}

/// The TLS material a supervisor hands its workers for the transport between them, as PEM
/// text (``WorkerLaunchSpec/transportTLS``).
public struct WorkerTransportTLS: Sendable, Codable, Equatable, CustomStringConvertible {
    /// The cluster's CA certificates (`tls.ca.file`): a peer's certificate must chain to one.
    public var ca: String
    /// The supervisor host's certificate, then any intermediates (`tls.cert.file`).
    public var cert: String
    /// Its private key (`tls.key.file`).
    public var key: String

    public init(ca: String, cert: String, key: String) {
        self.ca = ca
        self.cert = cert
        self.key = key
    }

    /// Never the key.
    public var description: String {
        "WorkerTransportTLS(ca: \(ca.utf8.count) bytes, cert: \(cert.utf8.count) bytes, key: hidden)"
    }
}

/// A worker's heartbeat to its supervisor (every second, over loopback HTTP).
public struct WorkerHeartbeat: Sendable, Codable, Equatable {
    public var v = 1
    public var workerId: String
    public var topologyId: String
    public var epoch: Int
    public var port: Int
    public var pid: Int32
    public var uptimeSeconds: Double
    public var stats: TopologyStats
    /// What the supervisor's `/metrics` shows of this worker (tasks, transport, user metrics).
    public var metrics: WorkerMetrics?
    /// Tuples sampled since the last heartbeat (event sampling, ``TopologyControls``), oldest
    /// first; absent when none.
    public var samples: [TupleSample]?

    public init(
        workerId: String,
        topologyId: String,
        epoch: Int,
        port: Int,
        pid: Int32,
        uptimeSeconds: Double,
        stats: TopologyStats,
        metrics: WorkerMetrics? = nil
    ) {
        self.workerId = workerId
        self.topologyId = topologyId
        self.epoch = epoch
        self.port = port
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.stats = stats
        self.metrics = metrics
    }
}

/// The supervisor's answer to a heartbeat.
public struct WorkerHeartbeatReply: Sendable, Codable, Equatable {
    /// Whether the spouts should run.
    public var active: Bool
    /// `true` when this worker is no longer assigned (another epoch): it should stop.
    public var stop: Bool
    /// The topology's controls (log levels, event sampling) as ZooKeeper holds them; absent
    /// when none are set.
    public var controls: TopologyControls?

    public init(active: Bool, stop: Bool) {
        self.active = active
        self.stop = stop
    }
}

/// One worker as its supervisor sees it.
public struct WorkerReport: Sendable, Codable, Equatable {
    public var workerId: String
    public var topologyId: String
    public var epoch: Int
    public var endpoint: Endpoint
    public var pid: Int32?
    /// `running` (heartbeating), `starting` (launched, no heartbeat yet), `stale` (heartbeats stopped), `failed`.
    public var state: String
    public var restarts: Int
    public var lastExit: String?
    public var uptimeSeconds: Double
    /// Seconds since its last heartbeat (`nil` when none yet).
    public var heartbeatAgeSeconds: Double?
    /// The statistics of its last heartbeat.
    public var stats: TopologyStats?
    /// The pid of the process that sent ``stats`` (after a restart, until the new process's
    /// first heartbeat, the previous process's).
    public var statsPid: Int32?
    /// The tuples its heartbeats brought since the last report, oldest first; absent when none.
    public var samples: [TupleSample]?

    public init(
        workerId: String,
        topologyId: String,
        epoch: Int,
        endpoint: Endpoint,
        pid: Int32?,
        state: String,
        restarts: Int,
        lastExit: String?,
        uptimeSeconds: Double,
        heartbeatAgeSeconds: Double?,
        stats: TopologyStats?,
        statsPid: Int32? = nil
    ) {
        self.workerId = workerId
        self.topologyId = topologyId
        self.epoch = epoch
        self.endpoint = endpoint
        self.pid = pid
        self.state = state
        self.restarts = restarts
        self.lastExit = lastExit
        self.uptimeSeconds = uptimeSeconds
        self.heartbeatAgeSeconds = heartbeatAgeSeconds
        self.stats = stats
        self.statsPid = statsPid
    }
}

/// A supervisor's periodic report to the nimbus leader (HTTP, every few seconds).
public struct SupervisorReport: Sendable, Codable, Equatable {
    public var v = 1
    public var supervisorId: String
    public var host: String
    public var slots: [Int]
    public var uptimeSeconds: Double
    public var workers: [WorkerReport]
    /// Recent supervisor-level errors (downloads, digests, launches), newest last.
    public var errors: [String]

    public init(
        supervisorId: String,
        host: String,
        slots: [Int],
        uptimeSeconds: Double,
        workers: [WorkerReport],
        errors: [String]
    ) {
        self.supervisorId = supervisorId
        self.host = host
        self.slots = slots
        self.uptimeSeconds = uptimeSeconds
        self.workers = workers
        self.errors = errors
    }
}

/// JSON coding shared by every record: sorted keys, so equal records give equal bytes.
public enum ClusterJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
