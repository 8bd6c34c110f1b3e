import Foundation
import GaleDaemons
import Testing

/// `supervisor.worker.user` and `supervisor.worker.gid.range`: who a supervisor's workers run
/// as, and the group each topology gets.
@Suite struct WorkerIsolationTests {
    static let nobody = WorkerUser(name: "nobody", uid: 65_534, home: "/nonexistent")
    static let alice = WorkerUser(name: "alice", uid: 1000, home: "/home/alice")

    /// A user database of root, nobody and alice.
    static func lookUp(_ value: String) -> WorkerUser? {
        let users = [WorkerUser(name: "root", uid: 0, home: "/root"), nobody, alice]
        return users.first { $0.name == value || String($0.uid) == value }
    }

    static func config(_ yaml: String) throws -> GaleConfig {
        var config = GaleConfig()
        for (name, entry) in try GaleConfig.parse(yaml: yaml, path: "/etc/gale/gale.yaml") {
            try config.set(name, entry.value, source: entry.source)
        }
        return config
    }

    static func isolation(_ yaml: String, euid: UInt32) -> Result<WorkerIsolation?, ConfigError> {
        do {
            return .success(try config(yaml).workerIsolation(euid: euid, lookUp: lookUp))
        } catch let error as ConfigError {
            return .failure(error)
        } catch {
            return .failure(ConfigError("\(error)"))
        }
    }

    @Test func aRootSupervisorRunsItsWorkersAsTheNamedUserWithTheDefaultGroupRange() throws {
        let byName = try Self.isolation("supervisor.worker.user: nobody", euid: 0).get()
        #expect(byName == WorkerIsolation(user: Self.nobody, groups: 60_600...61_099))
        let byUid = try Self.isolation("supervisor.worker.user: 1000", euid: 0).get()
        #expect(byUid?.user == Self.alice)
        let ranged = try Self.isolation(
            "supervisor.worker.user: nobody\nsupervisor.worker.gid.range: 70000-70009",
            euid: 0
        )
        .get()
        #expect(ranged?.groups == 70_000...70_009)
    }

    @Test func aRootSupervisorWithoutTheKeyRefusesToStartNamingIt() {
        #expect(
            Self.isolation("", euid: 0)
                == .failure(
                    ConfigError(
                        "the supervisor runs as root and supervisor.worker.user is not set: set it (or pass "
                            + "--worker-user) to the unprivileged user its workers run as, such as gale-worker "
                            + "(docs/security.md)"
                    )
                )
        )
    }

    @Test func anUnknownUserOrRootIsRefusedWithTheKeysLine() {
        #expect(
            Self.isolation("nimbus.port: 1\nsupervisor.worker.user: bob", euid: 0)
                == .failure(ConfigError("/etc/gale/gale.yaml:2: supervisor.worker.user: no user 'bob' on this host"))
        )
        #expect(
            Self.isolation("supervisor.worker.user: root", euid: 0)
                == .failure(
                    ConfigError(
                        "/etc/gale/gale.yaml:1: supervisor.worker.user: 'root' is root; workers run the topologies' "
                            + "code: name an unprivileged user"
                    )
                )
        )
    }

    @Test func anUnprivilegedSupervisorRunsItsWorkersAsItselfAndCannotSwitch() {
        #expect(Self.isolation("", euid: 1000) == .success(nil))
        #expect(Self.isolation("supervisor.worker.user: alice", euid: 1000) == .success(nil))
        #expect(
            Self.isolation("supervisor.worker.user: nobody", euid: 1000)
                == .failure(
                    ConfigError(
                        "/etc/gale/gale.yaml:1: supervisor.worker.user: 'nobody' (uid 65534) is not the supervisor's "
                            + "own user (uid 1000): only a supervisor running as root starts its workers as another user"
                    )
                )
        )
    }

    @Test func theFlagIsNamedInItsErrors() throws {
        var config = GaleConfig()
        try config.set("supervisor.worker.user", .text("bob"), source: .flag("--worker-user"))
        #expect(throws: ConfigError("--worker-user: supervisor.worker.user: no user 'bob' on this host")) {
            try config.workerIsolation(euid: 0, lookUp: Self.lookUp)
        }
    }

    @Test func aGroupRangeMustBeFirstToLastWithinTheSignedRange() {
        for bad in ["61000", "61000-", "5-3", "0-10", "a-b", "1-2147483648", "61000-61999-62000"] {
            let message = GaleConfigTests.error("supervisor.worker.gid.range: \(bad)")
            #expect(message?.contains("supervisor.worker.gid.range:") == true, "\(bad): \(message ?? "accepted")")
        }
        #expect(GaleConfigTests.error("supervisor.worker.gid.range: 1-2147483647") == nil)
        #expect(
            GaleConfigTests.error("supervisor.worker.gid.range: 5-3")
                == "/etc/gale/gale.yaml:1: supervisor.worker.gid.range: '5-3' is not a range FIRST-LAST of group ids "
                + "(1 ≤ FIRST ≤ LAST ≤ 2147483647)"
        )
        #expect(GaleConfig().gidRange("supervisor.worker.gid.range") == 60_600...61_099)
    }

    @Test func aTopologysGroupComesFromItsIdAndSkipsTakenGroupsAndKnownOnes() throws {
        let range: ClosedRange<UInt32> = 60_600...61_099
        let first = try #require(TopologyGroups.choose(for: "wc-1", in: range, taken: [], isGroup: { _ in false }))
        #expect(range.contains(first))
        // The same on every host and run.
        #expect(TopologyGroups.choose(for: "wc-1", in: range, taken: [], isGroup: { _ in false }) == first)
        let others = Set(
            ["wc-2", "wc-3", "orders-1", "orders-2"].compactMap {
                TopologyGroups.choose(for: $0, in: range, taken: [], isGroup: { _ in false })
            }
        )
        #expect(others.count > 1, "ids spread over the range: \(others)")
        // Taken by another topology, or a group of the host: the next one, wrapping around.
        let next = first == range.upperBound ? range.lowerBound : first + 1
        #expect(TopologyGroups.choose(for: "wc-1", in: range, taken: [first], isGroup: { _ in false }) == next)
        #expect(TopologyGroups.choose(for: "wc-1", in: range, taken: [], isGroup: { $0 == first }) == next)
        // One left, or none.
        let all = Set(range)
        #expect(
            TopologyGroups.choose(for: "wc-1", in: range, taken: all.subtracting([60_700]), isGroup: { _ in false })
                == 60_700
        )
        #expect(TopologyGroups.choose(for: "wc-1", in: range, taken: all, isGroup: { _ in false }) == nil)
        // 65535 is (uid_t)-1 for 16-bit programs: never given out.
        #expect(TopologyGroups.choose(for: "wc-1", in: 65_535...65_535, taken: [], isGroup: { _ in false }) == nil)
    }
}
