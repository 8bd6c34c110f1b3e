import Foundation
import Gale
import GaleCoordination

extension Nimbus {
    /// `GET /api/v1/topologies/{name}/workers/{worker}/log`: finds the supervisor that runs
    /// `worker` (`HOST:PORT` of the topology's assignment) and asks its HTTP endpoint (from its
    /// ZooKeeper record) for the log, with the cluster credential; answers the supervisor's
    /// ``NimbusAPI/LogChunk`` with `worker` set.
    func workerLog(topology name: String, worker: String, query: [String: String]) async -> HTTPResponse {
        guard let endpoint = Endpoint(worker) else {
            return .error(400, "'\(worker)' is not a worker address: use HOST:PORT of one of the topology's workers")
        }
        do {
            _ = try WorkerLogs.request(query: query)
        } catch {
            return .error(error.status, error.description)
        }
        let located: (record: TopologyRecord, supervisor: SupervisorRecord, assigned: [Endpoint])
        do {
            located = try locate(topology: name, worker: endpoint)
        } catch {
            return error.response
        }
        let supervisor = located.supervisor
        guard let address = supervisor.http else {
            return .error(
                503,
                "supervisor \(supervisor.id) of worker \(worker) serves no HTTP endpoint (it predates supervisor.http.port)"
            )
        }
        let tls = supervisor.httpTLS == true ? options.peerTLS : nil
        if supervisor.httpTLS == true && tls == nil {
            return .error(
                502,
                "supervisor \(supervisor.id) serves HTTPS but this nimbus has no tls.ca.file to verify its certificate"
            )
        }
        let workerId = WorkerLaunchSpec.workerId(topologyId: located.record.id, port: endpoint.port)
        let path = SupervisorDaemon.logPath(workerId: workerId) + Self.queryString(query)
        let client = HTTPClient(timeout: .seconds(60), tls: tls)
        let response: HTTPResponse
        do {
            response = try await client.send(
                "GET",
                address: address.description,
                path: path,
                headers: options.clusterSecret.map { [(name: "authorization", value: "Bearer \($0)")] } ?? []
            )
        } catch {
            return .error(502, "cannot reach supervisor \(supervisor.id) at \(address): \(error)")
        }
        guard response.status == 200 else {
            let message = response.errorMessage ?? "status \(response.status)"
            // The supervisor refusing nimbus's credential is the cluster's problem, not the caller's.
            let status = response.status == 401 || response.status == 403 ? 502 : response.status
            return .error(status, "supervisor \(supervisor.id): \(message)")
        }
        do {
            var chunk = try response.decodeJSON(NimbusAPI.LogChunk.self)
            chunk.worker = endpoint.description
            return .json(chunk)
        } catch {
            return .error(502, "supervisor \(supervisor.id) answered no log: \(error)")
        }
    }

    /// The topology, the supervisor that runs its worker `worker` and the topology's workers.
    private func locate(
        topology name: String,
        worker: Endpoint
    ) throws(LogLookupError) -> (record: TopologyRecord, supervisor: SupervisorRecord, assigned: [Endpoint]) {
        let record: TopologyRecord
        do {
            record = try topology(named: name)
        } catch {
            switch error {
            case .notFound(let message): throw LogLookupError(404, message)
            case .unavailable(let message), .badRequest(let message), .conflict(let message),
                .forbidden(let message):
                throw LogLookupError(503, message)
            }
        }
        let assignment: AssignmentRecord?
        let supervisors: [SupervisorRecord]
        do {
            assignment = try self.assignment(record.id)
            supervisors = try self.supervisors()
        } catch {
            throw LogLookupError(503, "ZooKeeper: \(error)")
        }
        let workers = assignment?.workers ?? []
        guard let assigned = workers.first(where: { $0.endpoint == worker }) else {
            let known = workers.map(\.endpoint.description).sorted()
            throw LogLookupError(
                404,
                "topology '\(name)' has no worker \(worker)"
                    + (known.isEmpty
                        ? " (no workers are assigned)" : "; its workers are \(known.joined(separator: ", "))")
            )
        }
        guard let supervisor = supervisors.first(where: { $0.id == assigned.supervisorId }) else {
            throw LogLookupError(503, "supervisor \(assigned.supervisorId) of worker \(worker) is not registered")
        }
        return (record, supervisor, workers.map(\.endpoint))
    }

    /// `?offset=..&length=..&grep=..` of the log parameters in `query`, percent-encoded.
    static func queryString(_ query: [String: String]) -> String {
        let allowed = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
        )
        let items = ["offset", "length", "grep"].compactMap { name in
            query[name].map { "\(name)=\($0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
        }
        return items.isEmpty ? "" : "?" + items.joined(separator: "&")
    }
}

/// Why nimbus cannot find a worker's supervisor: an HTTP status and the reason.
struct LogLookupError: Error {
    let status: Int
    let message: String

    init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    var response: HTTPResponse { .error(status, message) }
}
