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

    @Test func theAuthenticatedDocumentAsksABearerTokenAndListsEachGuardedRoutes401And403() throws {
        let object = try JSONSerialization.jsonObject(with: Data(NimbusOpenAPI.authenticatedDocument.utf8))
        let document = try #require(object as? [String: Any])
        let schemes = (document["components"] as? [String: Any])?["securitySchemes"] as? [String: Any]
        let bearer = try #require(schemes?["bearer"] as? [String: Any])
        #expect(bearer["type"] as? String == "http")
        #expect(bearer["scheme"] as? String == "bearer")
        #expect((document["security"] as? [[String: [String]]]) == [["bearer": []]])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        for route in NimbusRoute.all {
            let operation = try #require(paths[route.pattern]?[route.method.lowercased()] as? [String: Any])
            let responses = try #require(operation["responses"] as? [String: Any])
            if route.access == .open {
                #expect((operation["security"] as? [Any])?.isEmpty == true, "\(route)")
                #expect(responses["401"] == nil && responses["403"] == nil, "\(route)")
            } else {
                #expect(operation["security"] == nil, "\(route) inherits the document's bearer requirement")
                #expect(responses["401"] != nil && responses["403"] != nil, "\(route)")
                let forbidden = (responses["403"] as? [String: Any])?["description"] as? String
                #expect(forbidden?.contains(route.access.callers) == true, "\(route)")
            }
        }
        // The open API's document asks for nothing.
        let open = try #require(
            try JSONSerialization.jsonObject(with: Data(NimbusOpenAPI.document(for: .open).utf8)) as? [String: Any]
        )
        #expect(open["security"] == nil)
    }

    @Test func pathsFillTheirPlaceholdersAsOnePercentEncodedSegmentEach() {
        #expect(NimbusRoute.kill.path("wc") == "/api/v1/topologies/wc/kill")
        #expect(NimbusRoute.topology.path("a b/c") == "/api/v1/topologies/a%20b%2Fc")
        #expect(NimbusRoute.topologies.path() == "/api/v1/topologies")
    }
}
