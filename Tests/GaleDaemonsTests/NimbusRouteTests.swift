import Foundation
import GaleDaemons
import Testing

@Suite struct NimbusRouteTests {
    @Test func theOpenAPIDocumentDescribesExactlyTheRoutesNimbusServes() throws {
        let object = try JSONSerialization.jsonObject(with: Data(NimbusOpenAPI.document.utf8))
        let document = try #require(object as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        #expect(documented == Set(NimbusRoute.all.map(\.description)))
        #expect(document["openapi"] as? String == "3.0.3")
    }

    @Test func pathsFillTheirPlaceholdersAsOnePercentEncodedSegmentEach() {
        #expect(NimbusRoute.kill.path("wc") == "/api/v1/topologies/wc/kill")
        #expect(NimbusRoute.topology.path("a b/c") == "/api/v1/topologies/a%20b%2Fc")
        #expect(NimbusRoute.topologies.path() == "/api/v1/topologies")
    }
}
