import Foundation
import GaleDaemons
import Testing

/// Nimbus's API against its own OpenAPI document (`GET /api/v1/openapi.json`), checked by
/// schemathesis (a client Gale did not write; installed by scripts/bootstrap into `.deps/venv`).
@Suite(.serialized, .timeLimit(.minutes(5))) struct NimbusOpenAPITests {
    static var schemathesis: String {
        let deps =
            ProcessInfo.processInfo.environment["GALE_DEPS_DIR"]
            ?? TestServices.repositoryRoot.appendingPathComponent(".deps").path
        return "\(deps)/venv/bin/schemathesis"
    }

    /// Every check but one: status codes and content types the document names, response bodies
    /// that match its schemas, invalid requests rejected, unsupported methods answered 405, no
    /// server error, in generated, boundary and stateful sequences of calls. Left out: "a
    /// request valid by the schema is accepted", which the document cannot promise (a blob's
    /// bytes must have its digest, a submission names an uploaded binary and what that binary's
    /// `describe` printed).
    @Test func aLiveNimbusAnswersAsItsOpenAPIDocumentSays() async throws {
        let cluster = try ClusterHarness("openapi")
        defer { cluster.tearDown() }
        try await cluster.startNimbus()
        // A topology, so that reads of it answer with a whole status (and its schema is checked);
        // the stateful phase finds its name and kills it too.
        try cluster.submit(workers: 1, messages: 10, rate: 0)
        let result = try ClusterHarness.run(
            Self.schemathesis,
            [
                "run", "http://\(cluster.nimbus)/api/v1/openapi.json", "--checks", "all", "--exclude-checks",
                "positive_data_acceptance", "--max-examples", "30", "--seed", "1", "--no-color",
            ],
            timeout: 240
        )
        #expect(result.status == 0, "\(result.output.suffix(4000))")
        #expect(result.output.contains("Stateful"), "\(result.output.suffix(2000))")
    }

    /// The same checks against a nimbus with tokens, as admin: its document asks for a bearer
    /// token on every route but health and the document itself, and lists 401 and 403 where
    /// they can come. schemathesis sends each call also without the token and with a wrong one
    /// (its `ignored_auth` check: they must be refused), and the cluster-only routes (a
    /// supervisor's report, a replica pushed by the leader) answer admin 403, as documented.
    @Test func aNimbusWithTokensAnswersAsItsAuthenticatedDocumentSays() async throws {
        let cluster = try ClusterHarness("openapi-auth")
        defer { cluster.tearDown() }
        try cluster.secure()
        try await cluster.startNimbus()
        try cluster.submit(workers: 1, messages: 10, rate: 0)
        let document = try ClusterHarness.run("/usr/bin/curl", ["-sS", "http://\(cluster.nimbus)/api/v1/openapi.json"])
        #expect(document.output.contains("securitySchemes"))
        let result = try ClusterHarness.run(
            Self.schemathesis,
            [
                "run", "http://\(cluster.nimbus)/api/v1/openapi.json", "--checks", "all", "--exclude-checks",
                "positive_data_acceptance", "--max-examples", "30", "--seed", "1", "--no-color", "--header",
                "Authorization: Bearer \(cluster.secrets["admin"] ?? "")",
            ],
            timeout: 240
        )
        #expect(result.status == 0, "\(result.output.suffix(4000))")
        #expect(result.output.contains("Stateful"), "\(result.output.suffix(2000))")
    }
}
