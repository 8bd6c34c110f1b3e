import Foundation
import Gale
import GaleCoordination
import Logging

extension Nimbus {
    /// Routes one API request.
    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let parts = request.segments
        func match(_ route: NimbusRoute) -> [String]? { route.match(method: request.method, parts: parts) }
        let principal: Principal
        switch await authorize(request, route: NimbusRoute.all.first { match($0) != nil }) {
        case .allowed(let caller): principal = caller
        case .refused(let refusal):
            count { $0.apiErrors += 1 }
            return refusal
        }
        func owned(_ name: String) throws(NimbusAPIError) {
            try checkOwner(of: name, principal, request)
        }
        let response: HTTPResponse
        if match(.health) != nil {
            response = .json(health())
        } else if match(.openAPI) != nil {
            response = HTTPResponse(
                status: 200,
                headers: [(name: "content-type", value: "application/json")],
                body: Array(NimbusOpenAPI.document(for: options.authenticator).utf8)
            )
        } else if match(.metrics) != nil {
            response = HTTPResponse(
                status: 200,
                headers: [(name: "content-type", value: "text/plain; version=0.0.4")],
                body: Array(prometheusText().utf8)
            )
        } else if match(.webUI) != nil {
            // Every nimbus serves the UI; on a follower its API calls say where the leader is.
            response = WebUI.page(request)
        } else if let c = match(.webUIAsset) {
            response = WebUI.asset(c[0], request)
        } else if let c = match(.blob) {
            // Any nimbus serves the binaries it holds (to supervisors and to other nimbus).
            response = download(c[0])
        } else if let c = match(.replicateBlob) {
            // A replica pushed by the leader; stored only under its own digest.
            response = storeReplica(c[0], request)
        } else if parts.starts(with: ["api", "v1"]), !zookeeperConnected {
            response = .error(
                503,
                "ZooKeeper (\(options.zookeeper)) is unavailable: nimbus \(identity) cannot read or change the cluster's state until it is back"
            )
        } else if parts.starts(with: ["api", "v1"]), !isLeader {
            let leader = leaderIdentity()
            response = .json(
                NimbusAPI.ErrorBody(
                    error: "nimbus \(identity) is not the leader"
                        + (leader.map { "; the leader is \($0)" } ?? "; no leader is elected yet"),
                    leader: leader,
                    notLeader: true
                ),
                status: 409
            )
        } else if match(.uploadBlob) != nil {
            response = await upload(request)
        } else if match(.report) != nil {
            do {
                record(try request.decodeJSON(SupervisorReport.self))
                response = .json(["ok": true])
            } catch {
                response = .error(400, "\(error)")
            }
        } else if match(.cluster) != nil {
            response = respond { () throws(NimbusAPIError) in try clusterSummary() }
        } else if let c = match(.component) {
            response = respond { () throws(NimbusAPIError) in try componentPage(c[0], c[1]) }
        } else if match(.supervisors) != nil {
            response = respond { () throws(NimbusAPIError) in try supervisorRows() }
        } else if match(.topologies) != nil {
            response = respond { () throws(NimbusAPIError) in try summaries() }
        } else if match(.submit) != nil {
            response = respond(status: 201) { () throws(NimbusAPIError) in
                try submit(try decode(NimbusAPI.SubmitRequest.self, request), by: principal)
            }
        } else if let c = match(.topology) {
            response = respond { () throws(NimbusAPIError) in try status(of: c[0]) }
        } else if let c = match(.kill) {
            response = respond { () throws(NimbusAPIError) in
                try owned(c[0])
                let body =
                    request.body.isEmpty
                    ? NimbusAPI.KillRequest(waitSeconds: nil) : try decode(NimbusAPI.KillRequest.self, request)
                return try kill(c[0], wait: body.waitSeconds)
            }
        } else if let c = match(.activate) {
            response = respond { () throws(NimbusAPIError) in
                try owned(c[0])
                return try setStatus(c[0], .active)
            }
        } else if let c = match(.deactivate) {
            response = respond { () throws(NimbusAPIError) in
                try owned(c[0])
                return try setStatus(c[0], .inactive)
            }
        } else if let c = match(.rebalance) {
            response = respond { () throws(NimbusAPIError) in
                try owned(c[0])
                return try rebalance(c[0], try decode(NimbusAPI.RebalanceRequest.self, request))
            }
        } else if let c = match(.workerLog) {
            response = await workerLog(topology: c[0], worker: c[1], query: request.query)
        } else if let c = match(.logLevel) {
            response = respond { () throws(NimbusAPIError) in
                try owned(c[0])
                return try setLogLevel(c[0], try decode(NimbusAPI.LogLevelRequest.self, request))
            }
        } else if let c = match(.debug) {
            response = respond { () throws(NimbusAPIError) in
                try owned(c[0])
                return try setSampling(c[0], try decode(NimbusAPI.DebugRequest.self, request))
            }
        } else if let c = match(.samples) {
            response = respond { () throws(NimbusAPIError) in try samples(c[0], component: request.query["component"]) }
        } else if case let allowed = NimbusRoute.all.filter({ $0.match(method: $0.method, parts: parts) != nil }),
            !allowed.isEmpty
        {
            let methods = allowed.map(\.method).joined(separator: ", ")
            response = HTTPResponse.error(405, "\(request.method) is not served at \(request.path); use \(methods)")
                .adding(header: "allow", value: methods)
        } else {
            response = .error(404, "no such endpoint: \(request.method) \(request.path)")
        }
        if response.status >= 400 { count { $0.apiErrors += 1 } }
        if request.method != "GET", response.status < 300, principal != .cluster {
            audit.info(
                "\(principal) \(request.method) \(request.path) from \(request.remoteAddress ?? "?"): \(response.status)"
            )
        }
        return response
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: HTTPRequest) throws(NimbusAPIError) -> T {
        do {
            return try request.decodeJSON(type)
        } catch {
            throw .badRequest("\(error)")
        }
    }

    private func respond<T: Encodable>(status: Int = 200, _ body: () throws(NimbusAPIError) -> T) -> HTTPResponse {
        do {
            return .json(try body(), status: status)
        } catch {
            switch error {
            case .badRequest(let message): return .error(400, message)
            case .notFound(let message): return .error(404, message)
            case .conflict(let message): return .error(409, message)
            case .forbidden(let message): return .error(403, message)
            case .unavailable(let message): return .error(503, message)
            }
        }
    }

    // MARK: - Blobs

    /// Stores an upload (spooled to disk by the server), then pushes it to every live follower
    /// before answering, so that the binary survives the loss of this nimbus.
    private func upload(_ request: HTTPRequest) async -> HTTPResponse {
        let digest: String
        do {
            digest = try storeBody(of: request, expected: nil)
        } catch {
            return .error(500, "\(error)")
        }
        guard let path = blobs.existingPath(of: digest), let size = blobs.size(of: digest), size > 0 else {
            blobs.remove(digest)
            return .error(400, "empty upload: send the topology binary as the body")
        }
        if let problem = Self.notAnExecutable(path) {
            // Unless a topology already uses the same bytes (they passed this check then).
            if !((try? topologies())?.contains { $0.binaryDigest == digest } ?? false) { blobs.remove(digest) }
            return .error(400, "the upload is not a topology binary: \(problem)")
        }
        let (stored, failed) = await replication.push(file: path, digest: digest, to: peers())
        let notTo = failed.isEmpty ? "" : "; not to \(failed.map { "\($0.key) (\($0.value))" }.sorted())"
        logger.info("stored blob \(digest) (\(size) bytes), replicated to \(stored.count) other nimbus\(notTo)")
        return .json(
            NimbusAPI.BlobResponse(digest: digest, size: size, replicas: [identity] + stored, notReplicated: failed),
            status: 201
        )
    }

    /// Why the file at `path` is not a Linux executable (an ELF file of type EXEC or DYN, as
    /// position-independent executables are), or `nil` when it is one.
    static func notAnExecutable(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "cannot read it" }
        defer { try? handle.close() }
        let header = Array((try? handle.read(upToCount: 18)) ?? Data())
        guard header.count == 18, header[0..<4] == [0x7f, 0x45, 0x4c, 0x46] else { return "no ELF header" }
        // e_type, little-endian on the platforms Gale runs on: 2 = EXEC, 3 = DYN.
        guard header[5] == 1, [2, 3].contains(Int(header[16]) | Int(header[17]) << 8) else {
            return "an ELF file, but not a little-endian executable"
        }
        return nil
    }

    /// Stores a request's body as a blob: the file the server spooled it to (see the spool
    /// policy in ``start()``).
    @discardableResult
    private func storeBody(of request: HTTPRequest, expected: String?) throws -> String {
        guard let file = request.bodyFile else {
            throw BlobStoreError.writeFailed(path: blobs.incomingDirectory, reason: "the body was not spooled to disk")
        }
        return try blobs.install(file: file, expected: expected)
    }

    private func storeReplica(_ digest: String, _ request: HTTPRequest) -> HTTPResponse {
        guard BlobStore.isDigest(digest) else { return .error(400, "'\(digest)' is not a SHA-256 digest") }
        do {
            try storeBody(of: request, expected: digest)
            logger.info("stored replica of blob \(digest) (\(blobs.size(of: digest) ?? 0) bytes)")
            return .json(NimbusAPI.BlobResponse(digest: digest, size: blobs.size(of: digest) ?? 0), status: 201)
        } catch let error as BlobStoreError {
            if case .digestMismatch = error { return .error(400, "\(error)") }
            return .error(500, "\(error)")
        } catch {
            return .error(500, "\(error)")
        }
    }

    private func download(_ digest: String) -> HTTPResponse {
        guard let path = blobs.existingPath(of: digest) else { return .error(404, "no blob \(digest)") }
        return .file(path)
    }

    // MARK: - Topologies

    private func zookeeper<T>(_ body: () throws(ZooKeeperError) -> T) throws(NimbusAPIError) -> T {
        do {
            return try body()
        } catch {
            throw .unavailable("ZooKeeper: \(error)")
        }
    }

    /// The live (not yet removed) topology named `name`.
    func topology(named name: String) throws(NimbusAPIError) -> TopologyRecord {
        let all = try zookeeper { () throws(ZooKeeperError) in try topologies() }
        guard let record = all.first(where: { $0.name == name || $0.id == name }) else {
            throw .notFound("unknown topology '\(name)'")
        }
        return record
    }

    private func save(_ record: TopologyRecord) throws(NimbusAPIError) {
        let bytes: [UInt8]
        do {
            bytes = try ClusterJSON.encode(record)
        } catch {
            throw .badRequest("cannot encode topology record: \(error)")
        }
        _ = try zookeeper { () throws(ZooKeeperError) in
            try zk.set(ClusterPaths.topology(record.id), data: bytes)
        }
        wake()
    }

    private func submit(
        _ request: NimbusAPI.SubmitRequest,
        by principal: Principal
    ) throws(NimbusAPIError) -> NimbusAPI.SubmitResponse {
        let name = request.name
        guard !name.isEmpty, name.utf8.count <= 100,
            name.unicodeScalars.allSatisfy({
                CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)
            })
        else {
            throw .badRequest("invalid topology name '\(name)': use letters, digits, '-', '_' or '.' (at most 100)")
        }
        guard let size = blobs.size(of: request.digest) else {
            throw .badRequest("no uploaded binary with digest \(request.digest): upload it to /api/v1/blobs first")
        }
        var description = request.description
        guard description.v == 1, !description.components.isEmpty else {
            throw .badRequest(
                "the description is not a Gale topology (format v\(description.v), \(description.components.count) components)"
            )
        }
        for (key, value) in request.config.sorted(by: { $0.key < $1.key }) {
            // Beyond the topology's own settings only an admin may set a key (say, the
            // gale.zookeeper.servers its workers' stores use).
            if case .user(_, let role) = principal, role != .admin, !TopologyConfig.knownKeys.contains(key),
                description.config.custom[key] == nil
            {
                throw .forbidden(
                    "\(principal) may not set '\(key)': a submitter sets only topology.* settings and the keys the "
                        + "topology's own configuration has; an admin may set any"
                )
            }
            do {
                try description.config.set(key, value)
            } catch {
                throw .badRequest("\(error)")
            }
        }
        if let workers = request.workers {
            guard workers > 0 else { throw .badRequest("--workers must be positive, got \(workers)") }
            description.config.workers = workers
        }
        let existing = try zookeeper { () throws(ZooKeeperError) in try topologies() }
        if let clash = existing.first(where: { $0.name == name }) {
            throw .conflict(
                "a topology named '\(name)' is already \(clash.status == .killed ? "being killed" : "running") (\(clash.id))"
            )
        }
        let id = "\(name)-\(Int(Date().timeIntervalSince1970))"
        let record = TopologyRecord(
            id: id,
            name: name,
            status: .active,
            binaryDigest: request.digest,
            binarySize: size,
            description: description,
            configOverrides: request.config,
            parallelism: [:],
            workers: description.config.workers,
            submittedAt: Date().timeIntervalSince1970,
            owner: principal.ownerName
        )
        let bytes: [UInt8]
        do {
            bytes = try ClusterJSON.encode(record)
        } catch {
            throw .badRequest("cannot encode topology record: \(error)")
        }
        try zookeeper { () throws(ZooKeeperError) in
            _ = try zk.create(ClusterPaths.topology(id), data: bytes)
        }
        count { $0.submissions += 1 }
        logger.info(
            "submitted \(id): \(description.components.count) components, \(record.workers) workers, binary \(request.digest)"
        )
        wake()
        return NimbusAPI.SubmitResponse(id: id, name: name)
    }

    private func kill(_ name: String, wait: Double?) throws(NimbusAPIError) -> NimbusAPI.TopologySummary {
        var record = try topology(named: name)
        let seconds = wait ?? record.description.config.messageTimeoutSeconds
        guard seconds >= 0, seconds.isFinite else {
            throw .badRequest("--wait must be a non-negative number of seconds")
        }
        if record.status != .killed {
            record.status = .killed
            record.killAt = Date().timeIntervalSince1970 + seconds
            try save(record)
            logger.info("killing \(record.id) in \(seconds) s (spouts deactivated)")
        }
        return try summary(record)
    }

    private func setStatus(_ name: String, _ status: TopologyStatus) throws(NimbusAPIError) -> NimbusAPI.TopologySummary
    {
        var record = try topology(named: name)
        guard record.status != .killed else { throw .conflict("topology '\(name)' is being killed") }
        if record.status != status {
            record.status = status
            try save(record)
            logger.info("\(status == .active ? "activated" : "deactivated") \(record.id)")
        }
        return try summary(record)
    }

    private func rebalance(
        _ name: String,
        _ request: NimbusAPI.RebalanceRequest
    ) throws(NimbusAPIError) -> NimbusAPI.TopologySummary {
        var record = try topology(named: name)
        guard record.status != .killed else { throw .conflict("topology '\(name)' is being killed") }
        if let workers = request.workers {
            guard workers > 0 else { throw .badRequest("--workers must be positive, got \(workers)") }
            record.workers = workers
            record.description.config.workers = workers
        }
        if let parallelism = request.parallelism, !parallelism.isEmpty {
            let known = record.description.components.map(\.id)
            if let unknown = parallelism.keys.sorted().first(where: { !known.contains($0) }) {
                throw .badRequest(
                    "topology '\(name)' has no component '\(unknown)'; its components are \(known.joined(separator: ", "))"
                )
            }
            do {
                record.description = try record.description.rescaled(parallelism)
            } catch {
                throw .badRequest("\(error)")
            }
            record.parallelism.merge(parallelism) { $1 }
        }
        try save(record)
        logger.info("rebalancing \(record.id): \(record.workers) workers, parallelism \(record.parallelism)")
        return try summary(record)
    }

    // MARK: - Status

    private func workerReports(for topologyId: String) -> [Endpoint: WorkerReport] {
        var result: [Endpoint: WorkerReport] = [:]
        for (report, at) in reports().values where Date().timeIntervalSince(at) < 30 {
            for worker in report.workers where worker.topologyId == topologyId {
                if let existing = result[worker.endpoint], existing.epoch > worker.epoch { continue }
                result[worker.endpoint] = worker
            }
        }
        return result
    }

    private func summary(_ record: TopologyRecord) throws(NimbusAPIError) -> NimbusAPI.TopologySummary {
        let assignment = try zookeeper { () throws(ZooKeeperError) -> AssignmentRecord? in
            try self.assignment(record.id)
        }
        let reports = workerReports(for: record.id)
        let running = (assignment?.workers ?? []).filter { reports[$0.endpoint]?.state == "running" }.count
        return NimbusAPI.TopologySummary(
            id: record.id,
            name: record.name,
            status: record.status,
            requestedWorkers: record.workers,
            assignedWorkers: assignment?.workers.count ?? 0,
            runningWorkers: running,
            tasks: record.description.taskIds.values.reduce(0) { $0 + $1.count },
            epoch: assignment?.epoch ?? 0,
            uptimeSeconds: Date().timeIntervalSince1970 - record.submittedAt,
            problems: problems(record, reports: reports)
        )
    }

    /// What keeps `record` from running: its binary missing here, or workers whose supervisor
    /// cannot get it.
    private func problems(_ record: TopologyRecord, reports: [Endpoint: WorkerReport]) -> [String] {
        var result: [String] = []
        if let why = replication.missing(record.binaryDigest) {
            result.append("binary \(record.binaryDigest) is not on the leader nimbus \(identity): \(why)")
        }
        let stranded = reports.values.filter { $0.state == "no-binary" }.map(\.workerId).sorted()
        if !stranded.isEmpty {
            result.append(
                "\(stranded.count) worker(s) cannot get the binary from any nimbus: \(stranded.joined(separator: ", ")) (see errors)"
            )
        }
        return result
    }

    private func summaries() throws(NimbusAPIError) -> [NimbusAPI.TopologySummary] {
        let all = try zookeeper { () throws(ZooKeeperError) in try topologies() }
        var result: [NimbusAPI.TopologySummary] = []
        for record in all.sorted(by: { $0.name < $1.name }) { result.append(try summary(record)) }
        return result
    }

    func status(of name: String) throws(NimbusAPIError) -> NimbusAPI.TopologyStatusResponse {
        try statusAndHistory(of: name).status
    }

    /// The status of topology `name` and the statistics it was built from.
    private func statusAndHistory(
        of name: String
    ) throws(NimbusAPIError) -> (status: NimbusAPI.TopologyStatusResponse, history: StatsHistory.View) {
        let record = try topology(named: name)
        let assignment = try zookeeper { () throws(ZooKeeperError) -> AssignmentRecord? in
            try self.assignment(record.id)
        }
        let workerReports = workerReports(for: record.id)
        let now = Date().timeIntervalSince1970
        let order = record.description.components.map(\.id) + [Topology.ackerComponentId]
        let history = statistics.view(of: record.id, components: order, now: now, submittedAt: record.submittedAt)
        let status = TopologyView.status(
            record: record,
            assignment: assignment,
            reports: workerReports,
            history: history,
            supervisorErrors: reports().values.flatMap { $0.report.errors }.filter { $0.contains(record.id) },
            problems: problems(record, reports: workerReports),
            now: now
        )
        return (status, history)
    }

    private func componentPage(_ name: String, _ component: String) throws(NimbusAPIError) -> NimbusAPI.ComponentPage {
        let (status, history) = try statusAndHistory(of: name)
        guard let page = TopologyView.component(component, of: status, history: history) else {
            throw .notFound("topology \(status.name) has no component \(component)")
        }
        return page
    }

    private func clusterSummary() throws(NimbusAPIError) -> NimbusAPI.ClusterSummary {
        let candidates = try zookeeper { () throws(ZooKeeperError) in
            try LeaderElection.identities(client: zk, path: ClusterPaths.nimbus)
        }
        var nimbuses = candidates.enumerated().map { NimbusAPI.NimbusRow(identity: $1, leader: $0 == 0) }
        if !nimbuses.contains(where: { $0.identity == identity }) {
            nimbuses.append(NimbusAPI.NimbusRow(identity: identity, leader: isLeader))
        }
        return NimbusAPI.ClusterSummary(
            version: Gale.version,
            nimbusTime: Date().timeIntervalSince1970,
            nimbuses: nimbuses,
            supervisors: try supervisorRows(),
            topologies: try summaries()
        )
    }

    private func supervisorRows() throws(NimbusAPIError) -> [NimbusAPI.SupervisorRow] {
        let supervisors = try zookeeper { () throws(ZooKeeperError) in try self.supervisors() }
        let topologies = try zookeeper { () throws(ZooKeeperError) in try self.topologies() }
        var used: [String: [Int]] = [:]
        for topology in topologies {
            for worker
                in (try zookeeper { () throws(ZooKeeperError) -> AssignmentRecord? in try assignment(topology.id) })?
                .workers ?? []
            {
                used[worker.supervisorId, default: []].append(worker.endpoint.port)
            }
        }
        let reports = reports()
        return supervisors.sorted { $0.id < $1.id }.map { s in
            NimbusAPI.SupervisorRow(
                id: s.id,
                host: s.host,
                slots: s.slots,
                usedSlots: (used[s.id] ?? []).sorted(),
                lastReportAgeSeconds: reports[s.id].map { Date().timeIntervalSince($0.at) }
            )
        }
    }

    private func health() -> NimbusAPI.Health {
        NimbusAPI.Health(
            identity: identity,
            leader: isLeader,
            leaderIdentity: leaderIdentity(),
            zookeeperConnected: zookeeperConnected,
            uptimeSeconds: uptime,
            version: Gale.version
        )
    }

    /// Prometheus text exposition of nimbus's counters and each topology's totals
    /// (docs/metrics.md), rendered by swift-prometheus.
    private func prometheusText() -> String {
        let m = metricsSnapshot
        var f = MetricFamilies()
        f.gauge("gale_nimbus_leader", "1 on the leader nimbus, 0 on the others.", [], isLeader ? 1 : 0)
        f.gauge("gale_nimbus_uptime_seconds", "Seconds since this nimbus started.", [], uptime)
        f.counter("gale_nimbus_submissions_total", "Topologies submitted to this nimbus.", [], Double(m.submissions))
        f.counter(
            "gale_nimbus_assignments_total",
            "Assignments this nimbus wrote as leader (each a new epoch: a rise means workers or supervisors were lost).",
            [],
            Double(m.reassignments)
        )
        f.counter("gale_nimbus_reports_total", "Supervisor reports received.", [], Double(m.reportsReceived))
        f.counter("gale_nimbus_api_errors_total", "API calls answered with an error.", [], Double(m.apiErrors))
        f.gauge("gale_nimbus_supervisors", "Supervisors whose reports this nimbus holds.", [], Double(reports().count))
        // All-time totals (StatsHistory): a worker that goes away keeps its share, so the
        // counters never go backwards. Only the leader receives reports.
        let now = Date().timeIntervalSince1970
        let records = isLeader ? (try? topologies()) ?? [] : []
        for record in records.sorted(by: { $0.id < $1.id }) {
            let spouts = record.description.components.filter { $0.kind == .spout }.map(\.id)
            let view = statistics.view(of: record.id, components: spouts, now: now, submittedAt: record.submittedAt)
            let totals = spouts.compactMap { view.totals[$0] }
            f.counter(
                "gale_topology_acked_total",
                "Tuple trees the topology's spouts completed, all time (the leader's count: dead workers' shares kept).",
                [("topology", record.id)],
                totals.reduce(0) { $0 + $1.acked }
            )
            f.counter(
                "gale_topology_failed_total",
                "Tuple trees that failed or timed out, all time (the leader's count: dead workers' shares kept).",
                [("topology", record.id)],
                totals.reduce(0) { $0 + $1.failed }
            )
        }
        return f.render()
    }
}

/// An API call that cannot be served.
enum NimbusAPIError: Error {
    case badRequest(String)
    case notFound(String)
    case conflict(String)
    case unavailable(String)
    case forbidden(String)
}
