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

    /// A segment that starts with an emoji modifier or a combining mark joins the `/` before it
    /// into one Swift character; the path still splits there (a blob named `🏻` was a 404
    /// "no such endpoint" instead of a 400 for a bad digest).
    @Test func aPathSplitsBeforeAModifierOrCombiningMark() {
        let target = HTTPTarget("/api/v1/blobs/%F0%9F%8F%BB")
        #expect(target.path.split(separator: "/").count == 3, "splitting on characters misses the last slash")
        #expect(HTTPRequest(method: "PUT", path: target.path).segments == ["api", "v1", "blobs", "🏻"])
        #expect("/a/\u{301}b//c/".pathSegments == ["a", "\u{301}b", "c"])
        #expect("".pathSegments == [])
    }
}
