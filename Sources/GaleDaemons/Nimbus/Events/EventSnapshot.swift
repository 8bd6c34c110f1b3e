import Foundation
public import GaleCoordination

/// What the ``EventDetector`` is shown on each pass: the cluster as the leader sees it at
/// `time`.
public struct EventSnapshot: Sendable {
    /// Seconds since 1970.
    public var time: Double
    /// The topologies in ZooKeeper (killed ones included until they are removed).
    public var topologies: [EventTopology]
    /// Each topology's assignment, by topology id.
    public var assignments: [String: AssignmentRecord]
    /// The supervisors registered in ZooKeeper now.
    public var supervisors: [SupervisorRecord]
    /// Each supervisor's latest report, by supervisor id.
    public var reports: [String: ReceivedReport]
    /// What each topology's components report (its current epoch's workers), by topology id.
    public var components: [String: [ComponentSignals]]

    public init(
        time: Double,
        topologies: [EventTopology] = [],
        assignments: [String: AssignmentRecord] = [:],
        supervisors: [SupervisorRecord] = [],
        reports: [String: ReceivedReport] = [:],
        components: [String: [ComponentSignals]] = [:]
    ) {
        self.time = time
        self.topologies = topologies
        self.assignments = assignments
        self.supervisors = supervisors
        self.reports = reports
        self.components = components
    }
}

/// A supervisor's report and when nimbus received it.
public struct ReceivedReport: Sendable, Equatable {
    public var report: SupervisorReport
    /// Seconds since 1970.
    public var at: Double

    public init(_ report: SupervisorReport, at: Double) {
        self.report = report
        self.at = at
    }
}

/// A topology as events need it.
public struct EventTopology: Sendable, Equatable {
    public var id: String
    public var name: String
    public var status: TopologyStatus
    public var workers: Int
    /// Per-component task counts changed by rebalances.
    public var parallelism: [String: Int]
    /// Seconds since 1970.
    public var submittedAt: Double
    /// Who submitted it (the token's name), when nimbus authenticates.
    public var owner: String?
    /// Why its binary cannot be had (the leader lacks it, or workers cannot fetch it); `nil`
    /// when it can.
    public var binaryProblem: String?

    public init(
        id: String,
        name: String,
        status: TopologyStatus = .active,
        workers: Int = 1,
        parallelism: [String: Int] = [:],
        submittedAt: Double = 0,
        owner: String? = nil,
        binaryProblem: String? = nil
    ) {
        self.id = id
        self.name = name
        self.status = status
        self.workers = workers
        self.parallelism = parallelism
        self.submittedAt = submittedAt
        self.owner = owner
        self.binaryProblem = binaryProblem
    }

    public init(_ record: TopologyRecord, binaryProblem: String?) {
        self.init(
            id: record.id,
            name: record.name,
            status: record.status,
            workers: record.workers,
            parallelism: record.parallelism,
            submittedAt: record.submittedAt,
            owner: record.owner,
            binaryProblem: binaryProblem
        )
    }
}

/// What one component of a running topology tells events: backpressure, its Kafka partitions
/// (the `kafka-partitions` status table) and its transactional progress (`transactional`).
public struct ComponentSignals: Sendable, Equatable {
    public var id: String
    /// Some task's inbound queue is above its high watermark now.
    public var overloaded: Bool
    public var partitions: [PartitionStatus]
    public var transactional: TransactionalStatus?

    public init(
        id: String,
        overloaded: Bool = false,
        partitions: [PartitionStatus] = [],
        transactional: TransactionalStatus? = nil
    ) {
        self.id = id
        self.overloaded = overloaded
        self.partitions = partitions
        self.transactional = transactional
    }

    /// The name of the Kafka spouts' status table.
    public static let partitionsTable = "kafka-partitions"
    /// The name of the Trident coordinator's status table.
    public static let transactionalTable = "transactional"

    /// One component's signals from its status as several workers report it: overloaded when
    /// any worker says so, the partition rows of all (the freshest commit when two tasks list
    /// the same partition), the transactional row with the most replays.
    public static func merged(
        id: String,
        overloaded: [Bool],
        tables: [(name: String, columns: [String], rows: [[String]])]
    ) -> ComponentSignals {
        var partitions: [String: PartitionStatus] = [:]
        var transactional: TransactionalStatus?
        for table in tables {
            if table.name == partitionsTable {
                for row in PartitionStatus.parse(columns: table.columns, rows: table.rows) {
                    let key = "\(row.topic)/\(row.partition)"
                    if let other = partitions[key], other.committedAgeSeconds <= row.committedAgeSeconds { continue }
                    partitions[key] = row
                }
            } else if table.name == transactionalTable {
                for row in TransactionalStatus.parse(columns: table.columns, rows: table.rows)
                where row.replays >= transactional?.replays ?? 0 {
                    transactional = row
                }
            }
        }
        return ComponentSignals(
            id: id,
            overloaded: overloaded.contains(true),
            partitions: partitions.values.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) },
            transactional: transactional
        )
    }
}

/// One row of a Kafka spout's `kafka-partitions` table.
public struct PartitionStatus: Sendable, Equatable {
    public var topic: String
    public var partition: Int
    public var task: Int?
    /// The committed offset, when there is one.
    public var committed: Int64?
    /// Records of the partition not yet committed.
    public var lag: Int64
    /// Seconds since its offset was last committed (or since the spout started reading it).
    public var committedAgeSeconds: Double
    /// Why the spout does not commit, in its own words (say, the oldest pending offset).
    public var notCommittingBecause: String?

    public init(
        topic: String,
        partition: Int,
        task: Int? = nil,
        committed: Int64? = nil,
        lag: Int64,
        committedAgeSeconds: Double,
        notCommittingBecause: String? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.task = task
        self.committed = committed
        self.lag = lag
        self.committedAgeSeconds = committedAgeSeconds
        self.notCommittingBecause = notCommittingBecause
    }

    /// The rows of a `kafka-partitions` table; rows without a topic and partition are skipped,
    /// and a cell that is not a number counts as none (a lag of 0, an age of 0).
    static func parse(columns: [String], rows: [[String]]) -> [PartitionStatus] {
        let index = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        return rows.compactMap { row in
            func cell(_ name: String) -> String? {
                guard let i = index[name], i < row.count else { return nil }
                let text = row[i].trimmingCharacters(in: .whitespaces)
                return text.isEmpty ? nil : text
            }
            guard let topic = cell("topic"), let partition = cell("partition").flatMap({ Int($0) }) else {
                return nil
            }
            return PartitionStatus(
                topic: topic,
                partition: partition,
                task: cell("task").flatMap { Int($0) },
                committed: cell("committed").flatMap { Int64($0) },
                lag: cell("lag").flatMap { Int64($0) } ?? 0,
                committedAgeSeconds: cell("committedAgeSeconds").flatMap { Double($0) }.map { $0.isFinite ? $0 : 0 }
                    ?? 0,
                notCommittingBecause: cell("notCommittingBecause")
            )
        }
    }
}

/// The Trident coordinator's `transactional` table.
public struct TransactionalStatus: Sendable, Equatable {
    public var committedTxid: Int64?
    /// Batches replayed since the coordinator started.
    public var replays: Int
    /// The last failure, in words.
    public var lastFailure: String?

    public init(committedTxid: Int64? = nil, replays: Int, lastFailure: String? = nil) {
        self.committedTxid = committedTxid
        self.replays = replays
        self.lastFailure = lastFailure
    }

    static func parse(columns: [String], rows: [[String]]) -> [TransactionalStatus] {
        let index = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        return rows.map { row in
            func cell(_ name: String) -> String? {
                guard let i = index[name], i < row.count else { return nil }
                let text = row[i].trimmingCharacters(in: .whitespaces)
                return text.isEmpty ? nil : text
            }
            return TransactionalStatus(
                committedTxid: cell("committedTxid").flatMap { Int64($0) },
                replays: cell("replays").flatMap { Int($0) } ?? 0,
                lastFailure: cell("lastFailure")
            )
        }
    }
}
