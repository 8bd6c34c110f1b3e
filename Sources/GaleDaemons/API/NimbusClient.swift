import Foundation
public import GaleCoordination

/// Calls the nimbus leader given the addresses of one or more nimbus processes: tries each in
/// turn, follows a follower's answer to the leader it names, and tells an unreachable cluster
/// from one that is electing a leader.
///
/// Used by the `gale` CLI (`--nimbus A,B`, `GALE_NIMBUS`) and by supervisors.
public struct NimbusClient: Sendable {
    /// The nimbus processes to try, in order.
    public let addresses: [Endpoint]
    let http: HTTPClient
    /// Sent with every request: `Authorization: Bearer CREDENTIAL`.
    let authorization: [(name: String, value: String)]

    /// - Parameters:
    ///   - addresses: at least one nimbus `host:port`.
    ///   - timeout: the deadline of each single HTTP exchange.
    ///   - credential: a token of `auth.tokens`, or the cluster secret.
    ///   - tls: the CAs nimbus's certificate must verify against (HTTPS); `nil`: plain HTTP.
    public init(
        addresses: [Endpoint],
        timeout: Duration = .seconds(30),
        credential: String? = nil,
        tls: HTTPClientTLS? = nil
    ) {
        self.addresses = addresses
        self.http = HTTPClient(timeout: timeout, tls: tls)
        self.authorization = credential.map { [(name: "authorization", value: "Bearer \($0)")] } ?? []
    }

    /// Parses a comma-separated list of `HOST:PORT` (spaces around commas allowed).
    /// - Returns: the endpoints, or `nil` naming the first entry that is not one.
    public static func parseAddresses(_ text: String) -> Result<[Endpoint], NimbusClientError> {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        var endpoints: [Endpoint] = []
        for part in parts {
            guard let endpoint = Endpoint(part) else { return .failure(.invalidAddress(part, list: text)) }
            if !endpoints.contains(endpoint) { endpoints.append(endpoint) }
        }
        return endpoints.isEmpty ? .failure(.invalidAddress(text, list: text)) : .success(endpoints)
    }

    /// Sends one request to the leader; a `bodyFile` is streamed from disk (as
    /// ``HTTPClient/send(_:address:path:body:bodyFile:headers:responseFile:)`` does).
    ///
    /// Each address is tried once in order; a follower's 409 naming the leader sends the request
    /// there next (it is tried once too). Any other answer, success or error, is returned.
    /// - Throws: ``NimbusClientError/noLeader(_:)`` when the nimbus processes that answered have
    ///   no reachable leader (an election is under way, or the leader they name is gone and its
    ///   ZooKeeper session has not expired yet), ``NimbusClientError/unreachable(_:)`` when none
    ///   answered.
    public func send(
        _ method: String,
        path: String,
        body: [UInt8] = [],
        bodyFile: String? = nil,
        headers: [(name: String, value: String)] = []
    ) async throws(NimbusClientError) -> HTTPResponse {
        var queue = addresses
        var tried: Set<Endpoint> = []
        /// Who named each address as the leader.
        var namedBy: [Endpoint: Endpoint] = [:]
        /// Addresses that did not answer, with the reason, in the order tried.
        var unreachable: [(address: Endpoint, reason: String)] = []
        var leaderless: [String] = []
        while !queue.isEmpty {
            let address = queue.removeFirst()
            guard tried.insert(address).inserted else { continue }
            let response: HTTPResponse
            do {
                response = try await http.send(
                    method,
                    address: address.description,
                    path: path,
                    body: body,
                    bodyFile: bodyFile,
                    headers: headers + authorization
                )
            } catch {
                if let follower = namedBy[address] {
                    leaderless.append("\(follower) names \(address) as the leader, which does not answer (\(error))")
                } else {
                    unreachable.append((address, "\(error)"))
                }
                continue
            }
            guard response.status == 409,
                let answer = try? JSONDecoder().decode(NimbusAPI.ErrorBody.self, from: Data(response.body)),
                answer.notLeader == true
            else { return response }
            if let named = answer.leader.flatMap(Endpoint.init), named != address {
                if !tried.contains(named) {
                    namedBy[named] = address
                    queue.insert(named, at: 0)
                } else if let index = unreachable.firstIndex(where: { $0.address == named }) {
                    let reason = unreachable.remove(at: index).reason
                    leaderless.append("\(address) names \(named) as the leader, which does not answer (\(reason))")
                } else {
                    leaderless.append("\(address) names \(named) as the leader, which answered as a follower")
                }
            } else {
                leaderless.append("\(address) knows no leader")
            }
        }
        if !leaderless.isEmpty {
            throw .noLeader((leaderless + unreachable.map(\.reason)).joined(separator: "; "))
        }
        throw .unreachable(unreachable.map(\.reason))
    }
}

/// A nimbus request that found no leader to answer it.
public enum NimbusClientError: Error, Sendable, CustomStringConvertible {
    /// An entry of a nimbus address list is not `HOST:PORT`.
    case invalidAddress(String, list: String)
    /// No nimbus answered (each reason names its address).
    case unreachable([String])
    /// Nimbus processes answered, but none is a reachable leader.
    case noLeader(String)

    public var description: String {
        switch self {
        case .invalidAddress(let entry, let list):
            "invalid nimbus address '\(entry)' in '\(list)': expected HOST:PORT[,HOST:PORT...]"
        case .unreachable(let reasons):
            "nimbus unreachable: \(reasons.joined(separator: "; "))"
        case .noLeader(let detail):
            "no nimbus leader yet (election in progress): \(detail)"
        }
    }
}
