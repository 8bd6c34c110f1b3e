import Foundation
import Gale
import GaleCoordination
import GaleDaemons
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The statistics nimbus serves for a running cluster topology: all-time totals that keep what
/// dead workers counted, tasks, edges, windows, and the cluster and component pages.
@Suite(.serialized) struct StatisticsClusterTests {
    /// The counts of every component, by id.
    static func counts(_ status: NimbusAPI.TopologyStatusResponse) -> [String: [UInt64]] {
        var result: [String: [UInt64]] = [:]
        for c in status.components { result[c.id] = [c.emitted, c.transferred, c.executed, c.acked, c.failed] }
        return result
    }

    @Test func totalsNeverGoBackwardsWhenAWorkerIsKilled() async throws {
        let cluster = try ClusterHarness("totals")
        defer { cluster.tearDown() }
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1")
        try cluster.startSupervisor("s2")
        try cluster.submit(workers: 2, messages: 10_000_000, rate: 400)
        try await cluster.waitForWorkers(2)
        try await cluster.waitUntil("every task reported and the spouts acked some", timeout: 60) {
            let status = try cluster.status()
            return status.components.first { $0.id == "sentences" }.map { $0.acked >= 1_000 } ?? false
                && (status.tasks ?? []).filter { $0.component == "count" }.allSatisfy { $0.executed > 0 }
        }

        // The structure: a row per task, both edges counted, windows within all time.
        let first = try cluster.status()
        let tasks = try #require(first.tasks)
        #expect(tasks.filter { $0.component != Topology.ackerComponentId }.map(\.task).sorted() == Array(1...8))
        #expect(tasks.allSatisfy { $0.host == "127.0.0.1" && $0.port > 0 })
        let edges = try #require(first.edges)
        #expect(Set(edges.map { "\($0.from)->\($0.to)" }) == ["sentences->split", "split->count"])
        #expect(edges.first { $0.to == "count" }?.grouping == "fields")
        try await cluster.waitUntil("both edges have counts and rates", timeout: 30) {
            let edges = try cluster.status().edges ?? []
            return edges.count == 2 && edges.allSatisfy { $0.transferred > 0 && $0.perSecond > 0 }
        }
        for window in try #require(first.windows) {
            let all = try #require(window.windows["all"])
            for name in ["600", "10800", "86400"] {
                let w = try #require(window.windows[name], "\(window.id) has window \(name)")
                #expect(w.acked <= all.acked && w.executed <= all.executed)
            }
        }

        // Kill -9 the worker running a spout task; every later reading keeps what it counted.
        let spoutTask = try #require(tasks.first { $0.component == "sentences" })
        let victimRow = try #require(first.workers.first { $0.port == spoutTask.port })
        let victim = try #require(victimRow.pid)
        var previous = Self.counts(try cluster.status())
        kill(victim, SIGKILL)
        var readings = 0
        try await cluster.waitUntil("the restarted worker reports counts of its own", timeout: 90) {
            let status = try cluster.status()
            let now = Self.counts(status)
            for (id, values) in previous {
                let current = try #require(now[id], "component \(id) is still listed")
                for (index, value) in values.enumerated() {
                    #expect(
                        current[index] >= value,
                        "\(id) count \(index) went from \(value) back to \(current[index]) after the kill"
                    )
                }
            }
            previous = now
            readings += 1
            let row = status.workers.first { $0.port == victimRow.port }
            return row.map { $0.pid != nil && $0.pid != victim && $0.state == "running" && $0.uptimeSeconds > 2 }
                ?? false
        }
        #expect(readings > 1)
        // The restarted worker's own counts add to the total from then on.
        let settled = Self.counts(try cluster.status())
        try await cluster.waitUntil("the total keeps growing after the restart", timeout: 60) {
            (Self.counts(try cluster.status())["sentences"]?[3] ?? 0) > (settled["sentences"]?[3] ?? 0) + 500
        }

        // The cluster page and the component page.
        let summary = try await cluster.api(NimbusAPI.ClusterSummary.self, "/api/v1/cluster")
        #expect(summary.version == Gale.version)
        #expect(summary.nimbuses.count == 1 && summary.nimbuses.allSatisfy(\.leader))
        #expect(Set(summary.supervisors.map(\.id)) == ["s1", "s2"])
        #expect(summary.topologies.map(\.name) == [cluster.name])
        let page = try await cluster.api(
            NimbusAPI.ComponentPage.self,
            "/api/v1/topologies/\(cluster.name)/components/count"
        )
        #expect(page.component.id == "count")
        #expect(page.tasks.count == 3)
        #expect(page.inputs.map(\.from) == ["split"])
        #expect(page.outputs.isEmpty)
        #expect(page.window.windows["all"]?.executed == page.component.executed)
        let unknown = try await HTTPClient(timeout: .seconds(30)).get(
            address: cluster.nimbus,
            path: "/api/v1/topologies/\(cluster.name)/components/nope"
        )
        #expect(unknown.status == 404)
    }
}
