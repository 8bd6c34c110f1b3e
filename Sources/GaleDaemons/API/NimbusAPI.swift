public import Gale
public import GaleCoordination

/// Bodies of nimbus's HTTP/JSON API (`/api/v1/...`), shared by nimbus and the `gale` CLI.
public enum NimbusAPI {
    /// `POST /api/v1/topologies`: start a topology whose binary was uploaded to `/api/v1/blobs`.
    public struct SubmitRequest: Sendable, Codable {
        public var name: String
        public var digest: String
        public var description: TopologyDescription
        public var workers: Int?
        public var config: [String: String]

        public init(
            name: String,
            digest: String,
            description: TopologyDescription,
            workers: Int?,
            config: [String: String]
        ) {
            self.name = name
            self.digest = digest
            self.description = description
            self.workers = workers
            self.config = config
        }
    }

    /// Answer of a blob upload.
    public struct BlobResponse: Sendable, Codable {
        public var digest: String
        public var size: Int
        /// The nimbus processes that hold the blob now (the leader first).
        public var replicas: [String]?
        /// Live followers the leader could not push it to, with their answers (they fetch it
        /// later from the leader).
        public var notReplicated: [String: String]?

        public init(digest: String, size: Int, replicas: [String]? = nil, notReplicated: [String: String]? = nil) {
            self.digest = digest
            self.size = size
            self.replicas = replicas
            self.notReplicated = notReplicated
        }
    }

    /// Answer of a submit.
    public struct SubmitResponse: Sendable, Codable {
        public var id: String
        public var name: String
    }

    /// One line of `GET /api/v1/topologies`.
    public struct TopologySummary: Sendable, Codable {
        public var id: String
        public var name: String
        public var status: TopologyStatus
        public var requestedWorkers: Int
        public var assignedWorkers: Int
        public var runningWorkers: Int
        public var tasks: Int
        public var epoch: Int
        public var uptimeSeconds: Double
        /// What keeps the topology from running as submitted (e.g. a binary no nimbus or no
        /// supervisor can get); empty when nothing does.
        public var problems: [String]
    }

    /// One worker in a topology's status.
    public struct WorkerRow: Sendable, Codable {
        public var supervisorId: String
        public var host: String
        public var port: Int
        public var tasks: [Int]
        /// `running`, `starting`, `stale`, `failed`, `no-binary` (its supervisor cannot get the
        /// topology's binary) or `unknown` (no report yet).
        public var state: String
        public var pid: Int32?
        public var uptimeSeconds: Double
        public var restarts: Int
        public var lastExit: String?
    }

    /// `GET /api/v1/topologies/<name>`.
    public struct TopologyStatusResponse: Sendable, Codable {
        /// When nimbus answered, in seconds since 1970.
        public var nimbusTime: Double?
        public var id: String
        public var name: String
        public var status: TopologyStatus
        public var epoch: Int
        public var requestedWorkers: Int
        public var binaryDigest: String
        public var uptimeSeconds: Double
        /// Per component: counts all time (never going backwards: the shares of worker
        /// processes that ended are kept), the rest (latency percentiles, capacity, queues,
        /// errors, status) from the workers running now.
        public var components: [ComponentStats]
        public var workers: [WorkerRow]
        /// Supervisor-level errors about this topology (downloads, launches).
        public var errors: [String]
        /// What keeps the topology from running as submitted; empty when nothing does.
        public var problems: [String]
        /// Per component: rates and the counts within each window.
        public var windows: [ComponentWindows]?
        /// Tuples along each edge of the topology.
        public var edges: [EdgeStats]?
        /// Per task: all-time counts, the rest from its running process.
        public var tasks: [TaskRow]?
        /// The components' recent errors with where they happened, oldest first (at most 50).
        public var recentErrors: [ErrorRow]?
    }

    /// Counts within a window. Latencies are means, in milliseconds.
    public struct WindowCounters: Sendable, Codable, Equatable {
        public var emitted: UInt64
        public var transferred: UInt64
        public var executed: UInt64
        public var acked: UInt64
        public var failed: UInt64
        public var completeLatencyMs: Double
        public var executeLatencyMs: Double

        public init(_ c: StatsHistory.Counts) {
            emitted = c.emitted
            transferred = c.transferred
            executed = c.executed
            acked = c.acked
            failed = c.failed
            completeLatencyMs = c.completeLatencyMs
            executeLatencyMs = c.executeLatencyMs
        }
    }

    /// A component's rates and windows.
    public struct ComponentWindows: Sendable, Codable {
        public var id: String
        /// Tuples per second over about the last 10 s (zeros until two samples exist).
        public var rates: StatsHistory.Rates
        /// Counts per window: `600`, `10800`, `86400` (seconds) and `all`.
        public var windows: [String: WindowCounters]
    }

    /// One edge of the topology: a stream of `from` to the subscriber `to`.
    public struct EdgeStats: Sendable, Codable {
        public var from: String
        public var to: String
        public var stream: String
        public var grouping: String
        /// Tuples sent along the edge, all time.
        public var transferred: UInt64
        /// Tuples per second over about the last 10 s.
        public var perSecond: Double
    }

    /// One task.
    public struct TaskRow: Sendable, Codable {
        public var task: Int
        public var component: String
        /// Its worker (empty and 0 while unassigned).
        public var host: String
        public var port: Int
        public var emitted: UInt64
        public var transferred: UInt64
        public var executed: UInt64
        public var acked: UInt64
        public var failed: UInt64
        public var completeLatencyMs: Double
        public var executeLatencyMs: Double
        public var capacity: Double
        public var pending: Int
        public var queued: Int
        public var overloaded: Bool
    }

    /// An error a component reported, with where.
    public struct ErrorRow: Sendable, Codable {
        public var time: Double
        public var component: String
        public var task: Int
        public var host: String
        public var port: Int
        public var message: String
    }

    /// `GET /api/v1/topologies/<name>/components/<component>`.
    public struct ComponentPage: Sendable, Codable {
        public var topology: String
        public var nimbusTime: Double
        public var component: ComponentStats
        public var window: ComponentWindows
        public var tasks: [TaskRow]
        public var errors: [ErrorRow]
        public var inputs: [EdgeStats]
        public var outputs: [EdgeStats]
        /// The component's output streams, then its input streams, all time.
        public var streams: [StreamStatsRow]?
    }

    /// One nimbus process of the cluster.
    public struct NimbusRow: Sendable, Codable {
        /// Its `host:port`.
        public var identity: String
        public var leader: Bool
    }

    /// `GET /api/v1/cluster`: everything the cluster page shows.
    public struct ClusterSummary: Sendable, Codable {
        public var version: String
        public var nimbusTime: Double
        public var nimbuses: [NimbusRow]
        public var supervisors: [SupervisorRow]
        public var topologies: [TopologySummary]
    }

    /// `POST /api/v1/topologies/<name>/kill`.
    public struct KillRequest: Sendable, Codable {
        public var waitSeconds: Double?

        public init(waitSeconds: Double?) { self.waitSeconds = waitSeconds }
    }

    /// `POST /api/v1/topologies/<name>/rebalance`.
    public struct RebalanceRequest: Sendable, Codable {
        public var workers: Int?
        public var parallelism: [String: Int]?

        public init(workers: Int?, parallelism: [String: Int]?) {
            self.workers = workers
            self.parallelism = parallelism
        }
    }

    /// `GET /api/v1/health`.
    public struct Health: Sendable, Codable {
        public var identity: String
        public var leader: Bool
        public var leaderIdentity: String?
        public var zookeeperConnected: Bool
        public var uptimeSeconds: Double
        /// The Gale version of this nimbus (`Gale.version`); absent from older ones.
        public var version: String?
    }

    /// One supervisor in `GET /api/v1/supervisors`.
    public struct SupervisorRow: Sendable, Codable {
        public var id: String
        public var host: String
        public var slots: [Int]
        public var usedSlots: [Int]
        public var lastReportAgeSeconds: Double?
    }

    /// A topology's log levels and event sampling (`POST .../log-level`, `POST .../debug`,
    /// `GET .../samples`).
    public typealias Controls = TopologyControls

    /// `POST /api/v1/topologies/<name>/log-level`: the level of the topology's workers' loggers
    /// (every logger, or `component`'s), for `seconds` (absent: until changed). `level` is a
    /// swift-log level name, or `reset` for the loggers' own level again.
    public struct LogLevelRequest: Sendable, Codable {
        public var component: String?
        public var level: String
        public var seconds: Double?

        public init(component: String?, level: String, seconds: Double?) {
            self.component = component
            self.level = level
            self.seconds = seconds
        }
    }

    /// `POST /api/v1/topologies/<name>/debug`: sample `percent` of `component`'s tuples for
    /// `seconds` (absent: until changed); `percent` 0 stops.
    public struct DebugRequest: Sendable, Codable {
        public var component: String
        public var percent: Double
        public var seconds: Double?

        public init(component: String, percent: Double, seconds: Double?) {
            self.component = component
            self.percent = percent
            self.seconds = seconds
        }
    }

    /// One sampled tuple with the worker that sampled it.
    public struct Sample: Sendable, Codable, Equatable {
        public var time: Double
        public var component: String
        public var task: Int
        public var stream: String
        /// The values, rendered and truncated (``TupleSample/maxValuesLength``).
        public var values: String
        public var host: String
        public var port: Int

        public init(_ sample: TupleSample, worker: Endpoint) {
            self.time = sample.time
            self.component = sample.component
            self.task = sample.task
            self.stream = sample.stream
            self.values = sample.values
            self.host = worker.host
            self.port = worker.port
        }
    }

    /// `GET /api/v1/topologies/<name>/samples[?component=C]`: the controls in force and the
    /// samples nimbus holds (the newest per component), oldest first.
    public struct SamplesResponse: Sendable, Codable {
        public var controls: Controls
        public var samples: [Sample]

        public init(controls: Controls, samples: [Sample]) {
            self.controls = controls
            self.samples = samples
        }
    }

    /// An error answer: `{"error": ..., "leader": ..., "notLeader": ...}`.
    public struct ErrorBody: Sendable, Codable {
        public var error: String
        /// On a follower: the leader's `host:port` (`nil` while no leader is elected).
        public var leader: String?
        /// `true` when the answer comes from a nimbus that is not the leader (status 409): the
        /// request belongs to ``leader``.
        public var notLeader: Bool?

        public init(error: String, leader: String? = nil, notLeader: Bool? = nil) {
            self.error = error
            self.leader = leader
            self.notLeader = notLeader
        }
    }

    /// Sums per-component statistics of several workers (each worker reports its own tasks).
    ///
    /// Counters add up; means are weighted by the counts they average over; p99 and capacity
    /// are the largest of the workers'; errors are merged, the 10 most recent kept.
    public static func merge(_ parts: [TopologyStats], order: [String]) -> [ComponentStats] {
        var byId: [String: ComponentStats] = [:]
        for stats in parts {
            for c in stats.components {
                guard var total = byId[c.id] else {
                    byId[c.id] = c
                    continue
                }
                let executed = Double(total.executed + c.executed)
                if executed > 0 {
                    total.executeLatencyMs =
                        (total.executeLatencyMs * Double(total.executed) + c.executeLatencyMs * Double(c.executed))
                        / executed
                }
                let acked = Double(total.acked + c.acked)
                if acked > 0 {
                    total.completeLatencyMs =
                        (total.completeLatencyMs * Double(total.acked) + c.completeLatencyMs * Double(c.acked)) / acked
                }
                total.tasks += c.tasks
                total.emitted += c.emitted
                total.transferred += c.transferred
                total.executed += c.executed
                total.acked += c.acked
                total.failed += c.failed
                total.executeLatencyP99Ms = max(total.executeLatencyP99Ms, c.executeLatencyP99Ms)
                total.completeLatencyP99Ms = max(total.completeLatencyP99Ms, c.completeLatencyP99Ms)
                total.capacity = max(total.capacity, c.capacity)
                total.pending += c.pending
                total.queued += c.queued
                total.maxQueueLength = max(total.maxQueueLength, c.maxQueueLength)
                total.errorCount += c.errorCount
                if let lines = c.details { total.details = (total.details ?? []) + lines }
                total.recentErrors = Array(
                    (total.recentErrors + c.recentErrors).sorted { $0.time < $1.time }.suffix(10)
                )
                byId[c.id] = total
            }
        }
        let known = order.compactMap { byId.removeValue(forKey: $0) }
        return known + byId.values.sorted { $0.id < $1.id }
    }
}
