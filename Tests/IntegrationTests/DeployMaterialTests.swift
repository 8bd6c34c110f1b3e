import Foundation
import Testing

/// The deployment material in `deploy/` checked by the tools that consume it: the Kubernetes
/// manifests against the Kubernetes API schemas (`kubernetes-validate`, installed by
/// scripts/bootstrap into `.deps/venv`), the systemd units with `systemd-analyze verify`.
@Suite struct DeployMaterialTests {
    static let deploy = TestServices.repositoryRoot.appendingPathComponent("deploy").path

    static var kubernetesValidate: String {
        let deps =
            ProcessInfo.processInfo.environment["GALE_DEPS_DIR"]
            ?? TestServices.repositoryRoot
            .appendingPathComponent(".deps").path
        return "\(deps)/venv/bin/kubernetes-validate"
    }

    static func files(in directory: String, suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(suffix) }.sorted().map {
            "\(directory)/\($0)"
        }
    }

    @Test func kubernetesManifestsMatchTheKubernetesSchemasStrictly() throws {
        let manifests = try Self.files(in: Self.deploy + "/kubernetes", suffix: ".yaml")
        #expect(manifests.count >= 4)
        let result = try ClusterHarness.run(Self.kubernetesValidate, ["--strict"] + manifests)
        #expect(result.status == 0, "\(result.output)")
        for kind in ["statefulset/gale-nimbus", "daemonset/gale-supervisor", "configmap/gale-config"] {
            #expect(result.output.contains("passed for resource \(kind)"), "\(result.output)")
        }
    }

    @Test func theConfigMapsGaleYamlIsAValidConfiguration() throws {
        let manifest = try String(contentsOfFile: Self.deploy + "/kubernetes/config.yaml", encoding: .utf8)
        let lines = manifest.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.hasSuffix("gale.yaml: |") })
        let body = lines[(start + 1)...].prefix { $0.hasPrefix("    ") || $0.isEmpty }.map { $0.dropFirst(4) }
        #expect(body.count >= 5)
        let file = NSTemporaryDirectory() + "gale-configmap-\(UUID().uuidString).yaml"
        try body.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        // Only the file: the environment `make test` sets (GALE_ZOOKEEPER) would override it.
        let shown = try ClusterHarness.run(
            "/usr/bin/env",
            try ConfigFileTests.gale(["config", "show", "--config-file", file])
        )
        #expect(shown.status == 0, "\(shown.output)")
        #expect(shown.output.contains("zookeeper.gale.svc:2181"), "\(shown.output)")
    }

    @Test func aManifestWithAWrongFieldFailsTheSameCheck() throws {
        let original = try String(contentsOfFile: Self.deploy + "/kubernetes/nimbus.yaml", encoding: .utf8)
        let broken = original.replacingOccurrences(of: "replicas: 2", with: "replicas: two")
        #expect(broken != original)
        let path = NSTemporaryDirectory() + "gale-broken-\(UUID().uuidString).yaml"
        try broken.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try ClusterHarness.run(Self.kubernetesValidate, ["--strict", path])
        #expect(result.status != 0, "\(result.output)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "no systemd-analyze"))
    func systemdUnitsVerify() throws {
        let binaries = try ClusterHarness.locateBinaries()
        let directory = NSTemporaryDirectory() + "gale-units-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let units = try Self.files(in: Self.deploy + "/systemd", suffix: ".service")
        #expect(units.count == 2)
        for unit in units {
            // The units name the installed path; verify against the built binary instead.
            let text = try String(contentsOfFile: unit, encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/gale", with: "\(binaries)/gale")
            let copy = "\(directory)/\(URL(fileURLWithPath: unit).lastPathComponent)"
            try text.write(toFile: copy, atomically: true, encoding: .utf8)
            let result = try ClusterHarness.run("/usr/bin/systemd-analyze", ["verify", copy])
            #expect(result.status == 0 && result.output.isEmpty, "\(unit): \(result.output)")
        }
        let supervisor = try String(contentsOfFile: Self.deploy + "/systemd/gale-supervisor.service", encoding: .utf8)
        #expect(supervisor.contains("\nKillMode=process\n"), "workers outlive a supervisor restart")
        // Root, so that it starts its workers as supervisor.worker.user, with only the
        // capabilities that takes; the sample configuration names that user.
        #expect(!supervisor.contains("\nUser="), "the supervisor runs as root")
        #expect(
            supervisor.contains("\nCapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_CHOWN CAP_DAC_OVERRIDE CAP_KILL\n")
        )
        let sample = try String(contentsOfFile: Self.deploy + "/config/gale.yaml", encoding: .utf8)
        #expect(sample.contains("\nsupervisor.worker.user: gale-worker\n"))
    }
}
