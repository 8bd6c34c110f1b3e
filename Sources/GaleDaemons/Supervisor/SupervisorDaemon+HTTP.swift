import Foundation
import Gale
import GaleCoordination
import Logging
import Synchronization

/// The supervisor's HTTP endpoint (`supervisor.http.host`, `supervisor.http.port`): `GET
/// /metrics` (Prometheus text of the supervisor and its workers, open) and `GET
/// /api/v1/workers/{worker id}/log` (a worker's log, for nimbus's log route; with a cluster
/// secret only for the cluster credential). HTTPS with the host's `tls.cert.file`.
extension SupervisorDaemon {
    /// The route of a worker's log: `/api/v1/workers/{worker id}/log`.
    package static func logPath(workerId: String) -> String { "/api/v1/workers/\(workerId)/log" }

    /// Starts the HTTP endpoint and records where it listens (the address nimbus reaches it at:
    /// ``SupervisorOptions/host`` when it listens on every address).
    func startHTTPServer(executor: BlockingExecutor) async throws -> HTTPServer {
        let host = options.httpHost ?? options.host
        let server = HTTPServer(
            host: host,
            port: options.httpPort,
            maxBodyBytes: 64 << 10,
            logger: logger,
            tls: options.httpTLS
        ) { [self] request in
            // Reading logs and /proc blocks: off the cooperative pool.
            await withTaskExecutorPreference(executor) { await handleHTTP(request) }
        }
        let port = try await server.start()
        let advertised = ["0.0.0.0", "::", "[::]"].contains(host) ? options.host : host
        state.withLock { $0.http = Endpoint(host: advertised, port: port) }
        if options.clusterSecret == nil && !GaleConfig.isLoopback(host) {
            logger.warning(
                "worker logs are served on \(host):\(port) without credentials (no cluster.secret.file): anyone who reaches it can read them"
            )
        }
        return server
    }

    func handleHTTP(_ request: HTTPRequest) async -> HTTPResponse {
        let parts = request.segments
        if parts == ["metrics"] {
            guard request.method == "GET" else { return Self.notAllowed(request) }
            return HTTPResponse(
                status: 200,
                headers: [(name: "content-type", value: "text/plain; version=0.0.4; charset=utf-8")],
                body: Array(metricsText().utf8)
            )
        }
        if parts.count == 5, parts[0] == "api", parts[1] == "v1", parts[2] == "workers", parts[4] == "log" {
            guard request.method == "GET" else { return Self.notAllowed(request) }
            if let secret = options.clusterSecret {
                let presented = request.header("authorization").flatMap { value -> String? in
                    value.hasPrefix("Bearer ") ? String(value.dropFirst("Bearer ".count)) : nil
                }
                guard let presented, Secret.equal(Array(presented.utf8), Array(secret.utf8)) else {
                    logger.warning(
                        "refused \(request.method) \(request.path) from \(request.remoteAddress ?? "?"): worker logs need the cluster credential",
                        metadata: ["audit": "supervisor"]
                    )
                    return HTTPResponse.error(401, "worker logs need the cluster credential")
                        .adding(header: "www-authenticate", value: "Bearer realm=\"gale\"")
                }
            }
            return workerLog(parts[3], query: request.query)
        }
        return .error(404, "no such endpoint: \(request.method) \(request.path)")
    }

    private static func notAllowed(_ request: HTTPRequest) -> HTTPResponse {
        HTTPResponse.error(405, "\(request.method) is not served at \(request.path); use GET")
            .adding(header: "allow", value: "GET")
    }

    /// A range of, or the lines matching a text in, `DATA/logs/<workerId>.log`.
    func workerLog(_ workerId: String, query: [String: String]) -> HTTPResponse {
        guard WorkerLogs.isWorkerId(workerId) else {
            return .error(
                400,
                "'\(workerId)' is not a worker id (letters, digits, '.', '_', '-'; not starting with '.')"
            )
        }
        do {
            let request = try WorkerLogs.request(query: query)
            let path = "\(options.dataDirectory)/logs/\(workerId).log"
            return .json(try WorkerLogs.read(path: path, request: request, worker: workerId))
        } catch {
            return .error(error.status, error.description)
        }
    }

    /// The Prometheus text of this supervisor and its workers (docs/metrics.md).
    func metricsText() -> String {
        let slots = processes.snapshot()
        let now = Date()
        var sample = state.withLock { s in
            SupervisorSample(
                id: id,
                uptimeSeconds: now.timeIntervalSince(startedAt),
                slots: options.slots.count,
                usedSlots: s.desired.count,
                reportFailures: s.reportFailures,
                workers: s.desired.sorted { $0.key < $1.key }.map { (port, d) -> WorkerSample in
                    let slot = slots[port].flatMap { $0.assignment?.launch == d.launch ? $0 : nil }
                    var worker = WorkerSample(
                        topologyId: d.spec.topologyId,
                        endpoint: d.spec.endpoint,
                        state: slot?.workerState(now: now) ?? "failed",
                        restarts: slot?.restarts ?? 0,
                        pid: slot?.assignedProcess?.pid
                    )
                    worker.heartbeatAgeSeconds = slot?.lastHeartbeat.map { now.timeIntervalSince($0) }
                    // The last heartbeat counts only when it came from the running process.
                    if let beat = s.beats[d.spec.workerId], beat.pid == worker.pid {
                        worker.uptimeSeconds = beat.uptimeSeconds
                        worker.metrics = beat.metrics
                        worker.stats = beat.stats
                    }
                    return worker
                }
            )
        }
        // /proc is read outside the lock.
        for i in sample.workers.indices {
            if let pid = sample.workers[i].pid { sample.workers[i].process = ProcessSample.read(pid: pid) }
        }
        let families = SupervisorSeries.families(sample)
        if families.dropped > 0 {
            logger.debug(
                "left \(families.dropped) series out of /metrics (invalid or clashing names, labels or values)"
            )
        }
        return families.render()
    }
}
