public import GaleCoordination

/// Places a topology's tasks on supervisor slots (Storm's even scheduler).
///
/// Tasks are spread round-robin over the workers, and the workers over the supervisors with the
/// fewest chosen slots first, so a topology's workers land on as many hosts as possible. A slot is
/// never given to two workers: slots held by other topologies' assignments are excluded.
public enum Scheduler {
    /// What the scheduler looks at for one topology.
    public struct Input: Sendable {
        /// Every task id of the topology (ackers included).
        public var tasks: [Int]
        /// Requested number of workers.
        public var requestedWorkers: Int
        /// Live supervisors (their ZooKeeper node exists).
        public var supervisors: [SupervisorRecord]
        /// Slots held by other topologies.
        public var slotsInUse: Set<Endpoint>
        /// The topology's current assignment, if any.
        public var current: AssignmentRecord?
        /// Workers of the current assignment known to be dead (heartbeats stale); moved elsewhere when possible.
        public var deadWorkers: Set<Endpoint>

        public init(
            tasks: [Int],
            requestedWorkers: Int,
            supervisors: [SupervisorRecord],
            slotsInUse: Set<Endpoint>,
            current: AssignmentRecord?,
            deadWorkers: Set<Endpoint> = []
        ) {
            self.tasks = tasks
            self.requestedWorkers = requestedWorkers
            self.supervisors = supervisors
            self.slotsInUse = slotsInUse
            self.current = current
            self.deadWorkers = deadWorkers
        }
    }

    /// The new assignment for `topologyId`, or `nil` when the current one stays.
    public static func schedule(topologyId: String, _ input: Input) -> AssignmentRecord? {
        let tasks = input.tasks.sorted()
        // Every live slot with its supervisor, minus the ones other topologies hold.
        var liveSlots: [Endpoint: String] = [:]
        for supervisor in input.supervisors {
            for port in supervisor.slots {
                liveSlots[Endpoint(host: supervisor.host, port: port)] = supervisor.id
            }
        }
        let usable = liveSlots.filter { !input.slotsInUse.contains($0.key) && !input.deadWorkers.contains($0.key) }
        let workerCount = min(max(0, input.requestedWorkers), tasks.count, usable.count)

        if let current = input.current, isValid(current, tasks: tasks, workerCount: workerCount, usable: usable) {
            return nil
        }
        if workerCount == 0 {
            if let current = input.current, current.workers.isEmpty { return nil }
            return AssignmentRecord(topologyId: topologyId, epoch: (input.current?.epoch ?? 0) + 1, workers: [])
        }

        // Keep the current assignment's usable slots first (fewer processes move), then fill up
        // from the supervisors with the fewest chosen slots.
        var chosen: [Endpoint] = []
        for worker in input.current?.workers ?? [] where chosen.count < workerCount {
            if usable[worker.endpoint] == worker.supervisorId, !chosen.contains(worker.endpoint) {
                chosen.append(worker.endpoint)
            }
        }
        var free = usable.keys.filter { !chosen.contains($0) }.sorted()
        while chosen.count < workerCount, !free.isEmpty {
            let perSupervisor = Dictionary(grouping: chosen, by: { usable[$0] ?? "" }).mapValues(\.count)
            let best = free.indices.min { a, b in
                let ca = perSupervisor[usable[free[a]] ?? "", default: 0]
                let cb = perSupervisor[usable[free[b]] ?? "", default: 0]
                return ca != cb ? ca < cb : free[a] < free[b]
            }
            guard let best else { break }
            chosen.append(free.remove(at: best))
        }
        chosen.sort()
        var perWorker = [[Int]](repeating: [], count: chosen.count)
        for (i, task) in tasks.enumerated() { perWorker[i % chosen.count].append(task) }
        let workers = chosen.indices.map { i in
            WorkerAssignment(supervisorId: usable[chosen[i]] ?? "", endpoint: chosen[i], tasks: perWorker[i])
        }
        return AssignmentRecord(topologyId: topologyId, epoch: (input.current?.epoch ?? 0) + 1, workers: workers)
    }

    /// `true` when `current` runs every task exactly once on `workerCount` usable slots of the
    /// supervisors it names.
    private static func isValid(
        _ current: AssignmentRecord,
        tasks: [Int],
        workerCount: Int,
        usable: [Endpoint: String]
    ) -> Bool {
        guard current.workers.count == workerCount else { return false }
        var seen = Set<Endpoint>()
        for worker in current.workers {
            guard usable[worker.endpoint] == worker.supervisorId, seen.insert(worker.endpoint).inserted else {
                return false
            }
        }
        return current.workers.flatMap(\.tasks).sorted() == tasks
    }
}
