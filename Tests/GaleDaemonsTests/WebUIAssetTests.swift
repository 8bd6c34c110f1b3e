import Foundation
import GaleCoordination
import Testing

@testable import GaleDaemons

/// The web UI's assets as nimbus serves them (the browser tests are WebUITests).
@Suite struct WebUIAssetTests {
    @Test func thePageNamesEveryAssetWithItsVersionAndHasNothingInline() {
        let html = String(decoding: WebUI.index.body, as: UTF8.self)
        for asset in WebUI.files {
            #expect(html.contains("/ui/\(asset.name)?v=\(asset.version)"), "\(asset.name)")
        }
        #expect(!html.contains("{{"), "every placeholder is replaced")
        #expect(!html.contains("<script>") && !html.contains(" style=") && !html.contains("<style"))
        #expect(!html.contains("http://") && !html.contains("https://"), "nothing from another site")
    }

    /// Data reaches the page as text only: no script writes markup, and nothing is evaluated.
    @Test func noScriptWritesMarkupOrEvaluatesStrings() {
        for asset in WebUI.files where asset.name.hasSuffix(".js") {
            let script = String(decoding: asset.body, as: UTF8.self)
            for banned in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
                #expect(!script.contains(banned), "\(asset.name) uses \(banned)")
            }
        }
    }

    @Test func answersCarryTheSecurityHeadersAndCacheByVersion() throws {
        let page = WebUI.page(HTTPRequest(method: "GET", path: "/"))
        #expect(page.status == 200)
        let csp = try #require(page.headers.first { $0.name == "content-security-policy" }?.value)
        #expect(
            csp.hasPrefix("default-src 'self'") && !csp.contains("unsafe") && csp.contains("frame-ancestors 'none'")
        )
        #expect(page.headers.contains { $0 == (name: "x-content-type-options", value: "nosniff") })
        #expect(page.headers.contains { $0 == (name: "cache-control", value: "no-cache") })

        let core = try #require(WebUI.assets["core.js"])
        let versioned = WebUI.asset(
            "core.js",
            HTTPRequest(method: "GET", path: "/ui/core.js", query: ["v": core.version])
        )
        #expect(versioned.headers.contains { $0.name == "cache-control" && $0.value.contains("immutable") })
        #expect(versioned.headers.contains { $0 == (name: "content-type", value: "text/javascript; charset=utf-8") })
        #expect(versioned.body == core.body)
        let stale = WebUI.asset("core.js", HTTPRequest(method: "GET", path: "/ui/core.js", query: ["v": "old"]))
        #expect(stale.headers.contains { $0 == (name: "cache-control", value: "no-cache") })
        let revalidated = WebUI.asset(
            "core.js",
            HTTPRequest(method: "GET", path: "/ui/core.js", headers: [(name: "If-None-Match", value: core.etag)])
        )
        #expect(revalidated.status == 304 && revalidated.body.isEmpty)
        let missing = WebUI.asset("nothing.js", HTTPRequest(method: "GET", path: "/ui/nothing.js"))
        #expect(missing.status == 404)
        #expect(missing.headers.contains { $0.name == "content-security-policy" })
    }
}
