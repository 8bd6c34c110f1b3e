import Foundation
import GaleCoordination
import GaleDaemons
import Logging
import Testing

/// ``NimbusClient`` against real HTTP servers on loopback that answer as a nimbus leader or
/// follower would.
@Suite struct NimbusClientTests {
    /// A server answering every request with `respond`; returns it and its address.
    static func server(_ respond: @escaping @Sendable () -> HTTPResponse) async throws -> (HTTPServer, Endpoint) {
        let server = HTTPServer(host: "127.0.0.1", port: 0, logger: Logger(label: "test")) { _ in respond() }
        let port = try await server.start()
        return (server, Endpoint(host: "127.0.0.1", port: port))
    }

    static func follower(naming leader: Endpoint?) -> HTTPResponse {
        .json(NimbusAPI.ErrorBody(error: "not the leader", leader: leader?.description, notLeader: true), status: 409)
    }

    /// A loopback address nothing listens on.
    static func closedAddress() async throws -> Endpoint {
        let (server, address) = try await server { .json(["ok": true]) }
        await server.stop()
        return address
    }

    @Test func aFollowerFirstInTheListSendsTheRequestToTheLeaderItNames() async throws {
        let (leader, leaderAddress) = try await Self.server { .json(["from": "leader"]) }
        defer { Task { await leader.stop() } }
        let (follower, followerAddress) = try await Self.server { Self.follower(naming: leaderAddress) }
        defer { Task { await follower.stop() } }
        let dead = try await Self.closedAddress()
        let client = NimbusClient(addresses: [dead, followerAddress], timeout: .seconds(5))
        let response = try await client.send("GET", path: "/api/v1/topologies")
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self).contains("leader"))
    }

    @Test func aFollowerNamingAnUnreachableLeaderMeansAnElectionIsUnderWay() async throws {
        let dead = try await Self.closedAddress()
        let (follower, followerAddress) = try await Self.server { Self.follower(naming: dead) }
        defer { Task { await follower.stop() } }
        for addresses in [[followerAddress], [dead, followerAddress], [followerAddress, dead]] {
            let client = NimbusClient(addresses: addresses, timeout: .seconds(5))
            let error = await #expect(throws: NimbusClientError.self) {
                try await client.send("GET", path: "/api/v1/topologies")
            }
            let text = error.map { "\($0)" } ?? ""
            #expect(text.hasPrefix("no nimbus leader yet (election in progress)"), "\(text)")
            #expect(text.contains("\(followerAddress) names \(dead) as the leader, which does not answer"), "\(text)")
        }
    }

    @Test func aFollowerThatKnowsNoLeaderMeansAnElectionIsUnderWay() async throws {
        let (follower, address) = try await Self.server { Self.follower(naming: nil) }
        defer { Task { await follower.stop() } }
        let error = await #expect(throws: NimbusClientError.self) {
            try await NimbusClient(addresses: [address]).send("GET", path: "/api/v1/topologies")
        }
        #expect(error.map { "\($0)" }?.contains("\(address) knows no leader") == true)
    }

    @Test func noAnswerAtAllNamesEveryAddressTried() async throws {
        let a = try await Self.closedAddress()
        let b = try await Self.closedAddress()
        let error = await #expect(throws: NimbusClientError.self) {
            try await NimbusClient(addresses: [a, b], timeout: .seconds(5)).send("GET", path: "/api/v1/topologies")
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.hasPrefix("nimbus unreachable"), "\(text)")
        #expect(text.contains("\(a)") && text.contains("\(b)"), "\(text)")
    }

    @Test func anErrorAnswerOtherThanNotLeaderIsReturnedAsIs() async throws {
        let (server, address) = try await Self.server { .error(409, "a topology named 'wc' is already running") }
        defer { Task { await server.stop() } }
        let response = try await NimbusClient(addresses: [address]).send("POST", path: "/api/v1/topologies")
        #expect(response.status == 409)
        #expect(response.errorMessage == "a topology named 'wc' is already running")
    }

    @Test(arguments: [
        ("127.0.0.1:8080", ["127.0.0.1:8080"]),
        ("127.0.0.1:8080,127.0.0.1:8081", ["127.0.0.1:8080", "127.0.0.1:8081"]),
        ("a:1, b:2 ,a:1", ["a:1", "b:2"]),
    ])
    func addressListsParse(text: String, expected: [String]) throws {
        #expect(try NimbusClient.parseAddresses(text).get().map(\.description) == expected)
    }

    @Test(arguments: ["", "127.0.0.1", "127.0.0.1:8080,", "host:99999", "127.0.0.1:18080 127.0.0.1:18081"])
    func badAddressListsAreRefusedNamingTheEntry(text: String) {
        guard case .failure(let error) = NimbusClient.parseAddresses(text) else {
            Issue.record("'\(text)' parsed")
            return
        }
        #expect("\(error)".contains("invalid nimbus address"))
    }
}
