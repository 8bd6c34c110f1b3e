import Foundation
import GaleCoordination
import GaleDaemons
import GaleTestSupport
import Testing

/// Nimbus's web UI in a real browser: headless Chromium driven by Selenium
/// (Tests/IntegrationTests/Browser/ui_test.py; both installed by scripts/bootstrap). Every page is
/// saved as a screenshot under `$GALE_UI_ARTIFACTS` or the cluster's directory (the script prints
/// the paths); any JavaScript error fails the run.
@Suite(.serialized, .timeLimit(.minutes(6))) struct WebUITests {
    static var python: String {
        let deps =
            ProcessInfo.processInfo.environment["GALE_DEPS_DIR"]
            ?? TestServices.repositoryRoot.appendingPathComponent(".deps").path
        return "\(deps)/venv/bin/python"
    }

    static var script: String {
        TestServices.repositoryRoot.appendingPathComponent("Tests/IntegrationTests/Browser/ui_test.py").path
    }

    /// Where the screenshots go: `$GALE_UI_ARTIFACTS/<test>` or `<cluster root>/screenshots`.
    static func artifacts(_ cluster: ClusterHarness, _ test: String) -> String {
        if let directory = ProcessInfo.processInfo.environment["GALE_UI_ARTIFACTS"] { return directory + "/" + test }
        return cluster.root + "/screenshots"
    }

    /// The script's run, its output attached to any failure.
    static func browse(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try ClusterHarness.run(python, ["-B", script] + arguments, timeout: 300)
    }

    /// A word count on a cluster with tokens: the page asks for the token, lists the topology,
    /// draws its three components and two edges, shows the numbers `gale status --json` gives
    /// (between a read before and one after the page's), deactivates it through the confirmation
    /// dialog, and shows a component and a worker's log.
    @Test func aWordCountClusterThroughTheBrowser() async throws {
        let cluster = try ClusterHarness("web-ui")
        defer { cluster.tearDown() }
        try cluster.secure()
        try await cluster.startNimbus()
        try cluster.startSupervisor("s1", slots: 2)
        // Slow and long, so that it is still running (and its numbers moving) when the page looks.
        try cluster.submit(workers: 2, messages: 10_000_000, rate: 20)
        try await cluster.waitForWorkers(2)
        // The CLI's arguments as "--gale-arg=X": argparse would take "--config-file" for an option of its own.
        let cliArguments = cluster.configArguments.map { "--gale-arg=\($0)" }
        let result = try Self.browse(
            [
                "--scenario", "cluster", "--url", cluster.nimbusURL, "--artifacts", Self.artifacts(cluster, "cluster"),
                "--topology", cluster.name, "--gale", cluster.gale, "--nimbus", cluster.nimbus,
                "--token", cluster.secrets["admin"] ?? "",
            ] + cliArguments
        )
        print(result.output)
        #expect(result.status == 0, "\(result.output.suffix(6000))")
        #expect(result.output.contains("ui_test: ok"), "\(result.output.suffix(3000))")
        #expect(!result.output.contains("FAIL"), "\(result.output.suffix(3000))")
        for page in ["cluster", "topology", "topology-inactive", "component", "worker-log"] {
            #expect(result.output.contains("/\(page).png"), "a screenshot of the \(page) page")
        }
        #expect(try cluster.status().status == .inactive, "the page's deactivate reached nimbus")
    }

    /// The page and its assets (types, CSP, caching), then a fake data source behind a token
    /// (the script's own server; the page and assets pass through from nimbus): a topology of
    /// 500 components drawn and refreshed in place, windows, status tables, backpressure, a
    /// refused action, samples, and paging and searching a 2.8 MiB log. Prints how long the
    /// page takes to draw and refresh.
    @Test func aSyntheticTopologyOf500ComponentsBehindAToken() async throws {
        let cluster = try ClusterHarness("web-ui-synthetic")
        defer { cluster.tearDown() }
        try await cluster.startNimbus()
        let result = try Self.browse(
            [
                "--scenario", "synthetic", "--url", cluster.nimbusURL, "--artifacts",
                Self.artifacts(cluster, "synthetic"), "--fake-port", String(TestPorts.next()),
            ]
        )
        print(result.output)
        #expect(result.status == 0, "\(result.output.suffix(6000))")
        #expect(result.output.contains("ui_test: ok"), "\(result.output.suffix(3000))")
        #expect(result.output.contains("measured: 500 components"), "\(result.output.suffix(3000))")
        #expect(!result.output.contains("FAIL"), "\(result.output.suffix(3000))")
    }
}
