import Gale
import Testing

@testable import GaleRuntime

@Suite struct TargetRouteTests {
    static func targets(_ route: TargetRoute, _ values: [GaleValue] = [], sourceTask: Int = 1) -> [Int] {
        var chosen: [Int] = []
        route.forEachTarget(sourceTask: sourceTask, values: TupleValues(values)) { chosen.append($0) }
        return chosen
    }

    static func stableHash(_ values: [GaleValue]) -> UInt64 {
        var hash = GaleValue.hashSeed
        for value in values { value.stableHash(into: &hash) }
        return hash
    }

    @Test func shuffleIsRoundRobinStartingAtTheSeed() {
        let route = TargetRoute(kind: .shuffle, tasks: [4, 5, 6], component: "b", seed: 7)
        let chosen = (0..<6).flatMap { _ in Self.targets(route) }
        #expect(chosen == [5, 6, 4, 5, 6, 4])
    }

    @Test func fieldsSendsAKeyToTaskAtHashModuloTaskCount() {
        let tasks = [3, 4, 5, 6, 7]
        let route = TargetRoute(kind: .fields([1]), tasks: tasks, component: "b", seed: 0)
        for key in ["a", "b", "the", "cow", "jumped", "over", "moon"] {
            let values: [GaleValue] = [.int(99), .string(key)]
            let expected = tasks[Int(Self.stableHash([.string(key)]) % UInt64(tasks.count))]
            #expect(Self.targets(route, values) == [expected])
            // Only the grouping fields count.
            #expect(Self.targets(route, [.int(-1), .string(key)]) == [expected])
        }
    }

    @Test func fieldsPicksHashModuloTaskCountForEveryCount() {
        // Powers of two take the hash's low bits and one task takes every key without hashing:
        // both must pick what `hash % count` picks, the same task as any other process.
        let keys = (0..<200).map { "key\($0)" }
        for count in 1...9 {
            let tasks = Array(10..<(10 + count))
            let route = TargetRoute(kind: .fields([0]), tasks: tasks, component: "b", seed: 0)
            for key in keys {
                let expected = tasks[Int(Self.stableHash([.string(key)]) % UInt64(count))]
                #expect(Self.targets(route, [.string(key)]) == [expected], "\(key) with \(count) tasks")
            }
        }
    }

    @Test func fieldsRoutingIsTheSameFromEveryEmitter() {
        let a = TargetRoute(kind: .fields([0, 1]), tasks: [1, 2, 3, 4], component: "b", seed: 1)
        let b = TargetRoute(kind: .fields([0, 1]), tasks: [1, 2, 3, 4], component: "b", seed: 9)
        for i in 0..<100 {
            let values: [GaleValue] = [.string("k\(i % 7)"), .int(Int64(i % 3))]
            #expect(Self.targets(a, values, sourceTask: 1) == Self.targets(b, values, sourceTask: 9))
        }
    }

    @Test func fieldsSendsCanonicallyEqualStringsToTheSameTask() {
        // Equal as Swift strings (and as GaleValues), different UTF-8 bytes.
        let precomposed: [GaleValue] = [.string("caf\u{E9}")]
        let decomposed: [GaleValue] = [.string("cafe\u{301}")]
        #expect(precomposed == decomposed)
        for count in 2...12 {
            let route = TargetRoute(kind: .fields([0]), tasks: Array(1...count), component: "b", seed: 0)
            #expect(Self.targets(route, precomposed) == Self.targets(route, decomposed), "with \(count) tasks")
        }
    }

    @Test func allSendsToEveryTaskInOrder() {
        let route = TargetRoute(kind: .all, tasks: [2, 3, 9], component: "b", seed: 0)
        #expect(Self.targets(route) == [2, 3, 9])
    }

    @Test func globalSendsToTheFirstTaskOnly() {
        let route = TargetRoute(kind: .global, tasks: [2, 3, 9], component: "b", seed: 5)
        for _ in 0..<5 { #expect(Self.targets(route) == [2]) }
    }

    @Test func directChoosesNoTaskByItself() {
        let route = TargetRoute(kind: .direct, tasks: [2, 3], component: "b", seed: 0)
        #expect(Self.targets(route, [.int(1)]).isEmpty)
    }

    @Test func partialKeyAlternatesBetweenAtMostTwoTasksPerKey() {
        let route = TargetRoute(kind: .partialKey([0]), tasks: Array(10..<18), component: "b", seed: 0)
        for key in 0..<20 {
            var counts: [Int: Int] = [:]
            for _ in 0..<100 {
                for task in Self.targets(route, [.int(Int64(key))]) { counts[task, default: 0] += 1 }
            }
            #expect(counts.values.reduce(0, +) == 100)
            #expect((1...2).contains(counts.count), "key \(key) used \(counts)")
        }
    }

    @Test func partialKeySplitsAHotKeyEvenlyOverItsTwoCandidates() throws {
        let tasks = Array(1...8)
        // Find a key whose two candidates differ.
        var key: Int64 = 0
        var hash = Self.stableHash([.int(key)])
        while hash % 8 == TargetRoute.rehash(hash) % 8 {
            key += 1
            hash = Self.stableHash([.int(key)])
        }
        let route = TargetRoute(kind: .partialKey([0]), tasks: tasks, component: "b", seed: 0)
        var counts: [Int: Int] = [:]
        for _ in 0..<100 {
            for task in Self.targets(route, [.int(key)]) { counts[task, default: 0] += 1 }
        }
        #expect(Set(counts.keys) == [tasks[Int(hash % 8)], tasks[Int(TargetRoute.rehash(hash) % 8)]])
        #expect(Set(counts.values) == [50])
    }

    @Test func customChoiceIsRespectedAndFilteredToSubscriberTasks() {
        final class Fixed: CustomStreamGrouping {
            var seen: [(Int, [GaleValue])] = []
            func prepare(context: TopologyContext, sourceComponent: String, stream: String, targetTasks: [Int]) {}
            func chooseTasks(sourceTask: Int, values: [GaleValue]) -> [Int] {
                seen.append((sourceTask, values))
                return [7, 99, 5, 7]
            }
        }
        let grouping = Fixed()
        let route = TargetRoute(kind: .custom(grouping), tasks: [5, 6, 7], component: "b", seed: 0)
        #expect(Self.targets(route, [.string("x")], sourceTask: 3) == [7, 5, 7])
        #expect(grouping.seen.count == 1)
        #expect(grouping.seen.first?.0 == 3)
        #expect(grouping.seen.first?.1 == [.string("x")])
    }
}
