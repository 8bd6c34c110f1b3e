import GaleCoordination
import Testing

/// How the server reads a request target: a percent-decoded path, and a query decoded as a form
/// (what browsers' `URLSearchParams` and Gale's clients write).
@Suite struct HTTPTargetTests {
    @Test func theQueryIsDecodedAsAForm() {
        let target = HTTPTarget(
            "/api/v1/topologies/wc/workers/127.0.0.1%3A6700/log?grep=worker+started&x=a%2Bb%20c&flag"
        )
        #expect(target.path == "/api/v1/topologies/wc/workers/127.0.0.1:6700/log")
        #expect(target.query == ["grep": "worker started", "x": "a+b c", "flag": ""])
        #expect(HTTPTarget("/a+b").path == "/a+b", "a plus in the path stays a plus")
        #expect(HTTPTarget("/p?bad=%zz").query == ["bad": "%zz"])
    }
}
