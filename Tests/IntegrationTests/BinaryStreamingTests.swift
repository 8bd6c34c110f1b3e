import Foundation
import GaleDaemons
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A 1 GiB topology binary submitted, stored by nimbus, downloaded by a supervisor and run: both
/// daemons stream it through disk, so neither holds it in memory.
@Suite(.serialized, .timeLimit(.minutes(5))) struct BinaryStreamingTests {
    /// The peak resident memory of `pid` (VmHWM), in bytes.
    static func peakRSS(_ pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kilobytes * 1024
    }

    @Test func aOneGiBBinaryPassesThroughNimbusAndASupervisorWithoutTheirPeakMemoryGrowingPast64MB() async throws {
        let cluster = try ClusterHarness("stream")
        defer {
            cluster.tearDown()
            try? FileManager.default.removeItem(atPath: cluster.root)
        }
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1", slots: 1)
        try await cluster.waitUntil("s1 is registered", timeout: 30) {
            try cluster.cli(["supervisors", "--json"]).output.contains("\"s1\"")
        }
        // The test topology, padded with zeros to 1 GiB (an ELF file runs with bytes after it).
        let big = cluster.root + "/big-topology"
        try FileManager.default.copyItem(atPath: cluster.topologyBinary, toPath: big)
        let size = 1 << 30
        #expect(truncate(big, off_t(size)) == 0)
        let before = (
            nimbus: Self.peakRSS(cluster.nimbusPid) ?? 0, supervisor: Self.peakRSS(cluster.supervisors[0].pid) ?? 0
        )
        let submitted = try cluster.cli(
            [
                "submit", big, "--name", cluster.name, "--workers", "1", "--config", "test.messages=100",
                "--config", "test.rate=0", "--config", "test.output=\(cluster.output)",
            ]
        )
        #expect(submitted.status == 0, "\(submitted.output)")
        #expect(submitted.output.contains("\(size) bytes"), "\(submitted.output)")
        try await cluster.waitForWorkers(1, timeout: 180)
        try await cluster.waitUntil("every message is acked", timeout: 60) { ClusterTests.allAcked(cluster, 100) }
        let nimbus = try #require(Self.peakRSS(cluster.nimbusPid))
        let supervisor = try #require(Self.peakRSS(cluster.supervisors[0].pid))
        print(
            "binary streaming: 1 GiB through nimbus and a supervisor; peak RSS nimbus \(nimbus >> 20) MiB (\(before.nimbus >> 20) before), supervisor \(supervisor >> 20) MiB (\(before.supervisor >> 20) before)"
        )
        #expect(nimbus < 64 << 20, "nimbus peaked at \(nimbus >> 20) MiB")
        #expect(supervisor < 64 << 20, "the supervisor peaked at \(supervisor >> 20) MiB")
        let stored = try #require(
            FileManager.default.attributesOfItem(
                atPath:
                    "\(cluster.supervisors[0].dir)/topologies/\(try cluster.status().binaryDigest)/cluster-wordcount"
            )[.size] as? Int
        )
        #expect(stored == size)
    }
}
