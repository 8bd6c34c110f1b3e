import Foundation
import Testing

/// `--log-level` governs every logger of a process, the components' included (the Kafka spout
/// used to log at info whatever the level asked for).
@Suite struct LogLevelTests {
    @Test func aLocalRunLogsItsComponentsAtTheLevelAskedFor() throws {
        let brokers = try TestServices.resolve().kafka
        let binary = try ClusterHarness.locateBinaries() + "/kafka-stages"
        let input = "log-level-\(UUID().uuidString.prefix(8))"
        func run(_ level: [String]) throws -> String {
            let result = try ClusterHarness.run(
                binary,
                ["local", "--topology", "parse", "--brokers", brokers, "--input", input, "--output", input + "-out"]
                    + ["--seconds", "1"] + level
            )
            #expect(result.status == 0, "\(result.output)")
            return result.output
        }
        // The spout tells at info which partitions it reads.
        let info = try run(["--log-level", "info"])
        #expect(info.contains("info gale.kafka.spout"), "\(info)")
        #expect(info.contains("reading partitions"), "\(info)")
        // The local run's default is warning.
        for output in [try run([]), try run(["--log-level", "warning"])] {
            #expect(!output.contains(" info "), "\(output)")
            #expect(output.contains("tuples_per_sec="), "the run's summary still prints: \(output)")
        }
    }
}
