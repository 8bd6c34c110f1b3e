import GaleCoordination
import GaleDaemons
import Testing

@Suite struct SchedulerTests {
    static let a = SupervisorRecord(id: "a", host: "127.0.0.1", slots: [7001, 7002], startedAt: 0)
    static let b = SupervisorRecord(id: "b", host: "127.0.0.2", slots: [7001, 7002], startedAt: 0)

    static func input(
        tasks: Int = 9,
        workers: Int = 4,
        supervisors: [SupervisorRecord] = [a, b],
        inUse: Set<Endpoint> = [],
        current: AssignmentRecord? = nil,
        dead: Set<Endpoint> = []
    ) -> Scheduler.Input {
        Scheduler.Input(
            tasks: Array(1...tasks),
            requestedWorkers: workers,
            supervisors: supervisors,
            slotsInUse: inUse,
            current: current,
            deadWorkers: dead
        )
    }

    @Test func spreadsTasksEvenlyOverWorkersAndWorkersOverSupervisors() throws {
        let assignment = try #require(Scheduler.schedule(topologyId: "t", Self.input()))
        #expect(assignment.epoch == 1)
        #expect(assignment.workers.count == 4)
        #expect(Set(assignment.workers.map(\.endpoint)).count == 4)
        #expect(assignment.workers.flatMap(\.tasks).sorted() == Array(1...9))
        let sizes = assignment.workers.map(\.tasks.count).sorted()
        #expect(sizes == [2, 2, 2, 3])

        let two = try #require(Scheduler.schedule(topologyId: "t", Self.input(workers: 2)))
        #expect(Set(two.workers.map(\.supervisorId)) == ["a", "b"])
    }

    @Test func keepsAValidAssignment() throws {
        let first = try #require(Scheduler.schedule(topologyId: "t", Self.input()))
        #expect(Scheduler.schedule(topologyId: "t", Self.input(current: first)) == nil)
    }

    @Test func neverUsesASlotHeldByAnotherTopology() throws {
        let held: Set<Endpoint> = [Endpoint(host: "127.0.0.1", port: 7001), Endpoint(host: "127.0.0.2", port: 7002)]
        let assignment = try #require(Scheduler.schedule(topologyId: "t", Self.input(inUse: held)))
        #expect(assignment.workers.count == 2)
        #expect(held.isDisjoint(with: assignment.workers.map(\.endpoint)))
    }

    @Test func reassignsWhenASupervisorDisappears() throws {
        let first = try #require(Scheduler.schedule(topologyId: "t", Self.input()))
        let moved = try #require(Scheduler.schedule(topologyId: "t", Self.input(supervisors: [Self.a], current: first)))
        #expect(moved.epoch == 2)
        #expect(moved.workers.count == 2)
        #expect(moved.workers.allSatisfy { $0.supervisorId == "a" })
        #expect(moved.workers.flatMap(\.tasks).sorted() == Array(1...9))
    }

    @Test func movesADeadWorkerToAFreeSlot() throws {
        let first = try #require(Scheduler.schedule(topologyId: "t", Self.input(workers: 2)))
        let dead = first.workers[0].endpoint
        let moved = try #require(
            Scheduler.schedule(topologyId: "t", Self.input(workers: 2, current: first, dead: [dead]))
        )
        #expect(!moved.workers.map(\.endpoint).contains(dead))
        #expect(moved.workers.map(\.endpoint).contains(first.workers[1].endpoint))
    }

    @Test func rebalanceChangesTheWorkerCount() throws {
        let two = try #require(Scheduler.schedule(topologyId: "t", Self.input(workers: 2)))
        let four = try #require(Scheduler.schedule(topologyId: "t", Self.input(workers: 4, current: two)))
        #expect(four.workers.count == 4)
        #expect(Set(two.workers.map(\.endpoint)).isSubset(of: four.workers.map(\.endpoint)))
        let back = try #require(Scheduler.schedule(topologyId: "t", Self.input(workers: 2, current: four)))
        #expect(back.workers.count == 2)
        #expect(back.epoch == 3)
    }

    @Test func noFreeSlotGivesAnEmptyAssignmentOnce() throws {
        let empty = try #require(Scheduler.schedule(topologyId: "t", Self.input(supervisors: [])))
        #expect(empty.workers.isEmpty)
        #expect(Scheduler.schedule(topologyId: "t", Self.input(supervisors: [], current: empty)) == nil)
    }

    @Test func moreWorkersThanTasksUsesOneWorkerPerTask() throws {
        let assignment = try #require(Scheduler.schedule(topologyId: "t", Self.input(tasks: 3, workers: 4)))
        #expect(assignment.workers.count == 3)
    }
}
