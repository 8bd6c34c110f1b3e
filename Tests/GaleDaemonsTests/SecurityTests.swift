import Foundation
import GaleCoordination
import GaleDaemons
import Testing

/// Tokens, roles, the route access table, the failure throttle and the start-up policy.
@Suite struct SecurityTests {
    static let adminSecret = "admin-secret"
    static let viewerSecret = "viewer-secret"
    static let clusterSecret = "cluster-secret"

    static func entry(_ name: String, _ role: Role, _ secret: String) -> TokenEntry {
        guard
            case .success(let entry) = TokenEntry.parse(
                name: name,
                "\(role.rawValue) sha256:\(SHA256Digest.hex(of: Array(secret.utf8)))"
            )
        else { fatalError("bad test entry") }
        return entry
    }

    static let authenticator = Authenticator(
        tokens: [entry("ops", .admin, adminSecret), entry("grafana", .viewer, viewerSecret)],
        clusterSecret: clusterSecret
    )

    @Test func aTokenIsKnownByItsSecretAndTheClusterSecretByItsOwn() throws {
        #expect(
            try Self.authenticator.authenticate(authorization: "Bearer admin-secret").get()
                == .user(name: "ops", role: .admin)
        )
        #expect(
            try Self.authenticator.authenticate(authorization: "bearer viewer-secret").get()
                == .user(name: "grafana", role: .viewer)
        )
        #expect(try Self.authenticator.authenticate(authorization: "Bearer cluster-secret").get() == .cluster)
    }

    @Test func missingMalformedAndUnknownCredentialsAreRefusedEachWithItsReason() {
        for (header, expected) in [
            (nil, "no credentials"), ("", "no credentials"), ("Basic b3BzOng=", "not 'Bearer TOKEN'"),
            ("Bearer admin-secreT", "not valid"),
            ("Bearer sha256:" + SHA256Digest.hex(of: Array(Self.adminSecret.utf8)), "not valid"),
        ] as [(String?, String)] {
            guard case .failure(let failure) = Self.authenticator.authenticate(authorization: header) else {
                Issue.record("\(header ?? "nil") was accepted")
                continue
            }
            #expect(failure.description.contains(expected), "\(header ?? "nil"): \(failure)")
        }
    }

    @Test func anOpenAuthenticatorAcceptsAnyoneAsAnonymous() throws {
        #expect(Authenticator.open.isOpen)
        #expect(try Authenticator.open.authenticate(authorization: nil).get() == .anonymous)
        #expect(try Authenticator.open.authenticate(authorization: "Bearer whatever").get() == .anonymous)
    }

    @Test func tokenEntriesNameTheirProblem() {
        let hash = String(repeating: "ab", count: 32)
        #expect((try? TokenEntry.parse(name: "a", "admin sha256:\(hash)").get())?.role == .admin)
        for bad in ["root sha256:\(hash)", "admin \(hash)", "admin sha256:abc", "admin", "admin sha256:\(hash) extra"] {
            guard case .failure(let error) = TokenEntry.parse(name: "a", bad) else {
                Issue.record("'\(bad)' parsed")
                continue
            }
            #expect(error.description.hasPrefix("token 'a': "), "\(error)")
        }
    }

    @Test func constantTimeComparisonComparesWholeContents() {
        #expect(Secret.equal([1, 2, 3], [1, 2, 3]))
        #expect(!Secret.equal([1, 2, 3], [1, 2, 4]))
        #expect(!Secret.equal([1, 2, 3], [1, 2]))
        let a = Secret.generate()
        let b = Secret.generate()
        #expect(a.count == 64 && a != b)
    }

    /// Every route's access against every kind of caller, as docs/security.md tabulates it.
    @Test func theAccessTableGivesEachRoleItsRoutes() {
        let viewer = Principal.user(name: "v", role: .viewer)
        let submitter = Principal.user(name: "s", role: .submitter)
        let admin = Principal.user(name: "a", role: .admin)
        let expected: [NimbusRoute.Access: [Principal]] = [
            .open: [viewer, submitter, admin, .cluster],
            .read: [viewer, submitter, admin],
            .submit: [submitter, admin],
            .manage: [submitter, admin],
            .cluster: [.cluster],
            .clusterOrAdmin: [admin, .cluster],
        ]
        for access in NimbusRoute.Access.allCases {
            let allowed = [viewer, submitter, admin, Principal.cluster].filter { access.permits($0) }
            #expect(allowed == expected[access], "\(access)")
            #expect(access.permits(.anonymous), "an open cluster lets anyone call \(access)")
        }
        #expect(NimbusRoute.health.access == .open)
        #expect(
            NimbusRoute.all.filter { $0.access == .open }.map(\.pattern).sorted() == [
                "/", "/api/v1/health", "/api/v1/openapi.json", "/ui/{asset}",
            ]
        )
    }

    @Test func repeatedFailuresFromOneAddressAreSlowedDownAndASuccessResetsThem() {
        let throttle = AuthThrottle()
        let now = ContinuousClock.now
        let delays = (1...12).map { _ in throttle.failed("10.0.0.9:5000", now: now) }
        #expect(delays.prefix(4).allSatisfy { $0 == .zero })
        #expect(delays[4] == .milliseconds(100) && delays[5] == .milliseconds(200))
        #expect(delays.last == .seconds(5))
        #expect(throttle.failed("10.0.0.8:5000", now: now) == .zero, "another address is not slowed")
        throttle.succeeded("10.0.0.9:5000")
        #expect(throttle.failed("10.0.0.9:5000", now: now) == .zero)
        for _ in 0..<6 { _ = throttle.failed("10.0.0.7:1", now: now) }
        #expect(throttle.failed("10.0.0.7:1", now: now + .seconds(601)) == .zero, "quiet for 10 minutes: forgotten")
    }

    static func secretFile(_ text: String, mode: mode_t = 0o600) throws -> String {
        let path = NSTemporaryDirectory() + "gale-secret-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    /// The configuration of a file holding `yaml` (no environment).
    static func config(_ yaml: String) throws(ConfigError) -> GaleConfig {
        let path = NSTemporaryDirectory() + "gale-security-\(UUID().uuidString).yaml"
        FileManager.default.createFile(atPath: path, contents: Data(yaml.utf8))
        return try GaleConfig.load(file: path, environment: [:])
    }

    @Test func anOpenAPIIsRefusedOnANonLoopbackAddressUnlessAuthOpenIsSet() throws {
        #expect(throws: ConfigError.self) { try Self.config("").nimbusAuthenticator(host: "10.0.0.1", port: 8080) }
        do throws(ConfigError) {
            _ = try Self.config("").nimbusAuthenticator(host: "0.0.0.0", port: 8080)
        } catch {
            #expect(error.description.contains("nimbus.host 0.0.0.0 is not a loopback address"), "\(error)")
        }
        let (loopback, warning) = try Self.config("").nimbusAuthenticator(host: "127.0.0.1", port: 8080)
        #expect(loopback.isOpen && warning?.contains("OPEN") == true)
        let (open, loud) = try Self.config("auth.open: true").nimbusAuthenticator(host: "10.0.0.1", port: 8080)
        #expect(open.isOpen && loud?.contains("10.0.0.1:8080") == true)
    }

    @Test func tokensNeedAClusterSecretAndTheSecretFileMustBePrivate() throws {
        let hash = SHA256Digest.hex(of: Array("t".utf8))
        let tokens = "auth.tokens:\n  ops: admin sha256:\(hash)\n"
        #expect(throws: ConfigError.self) { try Self.config(tokens).nimbusAuthenticator(host: "10.0.0.1", port: 1) }
        let secret = try Self.secretFile("s3cret\n")
        let (auth, warning) = try Self.config(tokens + "cluster.secret.file: \(secret)\n").nimbusAuthenticator(
            host: "10.0.0.1",
            port: 1
        )
        #expect(!auth.isOpen && warning == nil)
        #expect(try auth.authenticate(authorization: "Bearer s3cret").get() == .cluster)
        let shared = try Self.secretFile("s3cret", mode: 0o644)
        do throws(ConfigError) {
            _ = try Self.config(tokens + "cluster.secret.file: \(shared)\n").clusterSecret()
            Issue.record("a world-readable secret file was accepted")
        } catch {
            #expect(error.description.contains("readable by other users"), "\(error)")
        }
        #expect(throws: ConfigError.self) {
            try Self.config("cluster.secret.file: \(secret)\n").nimbusAuthenticator(host: "127.0.0.1", port: 1)
        }
    }

    @Test func aBadTokenEntryStopsTheConfigurationWithFileAndLine() {
        do throws(ConfigError) {
            _ = try Self.config("auth.tokens:\n  ops: root sha256:00\n")
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains(".yaml:1: auth.tokens: token 'ops'"), "\(error)")
            #expect(error.description.contains("auth.tokens"), "\(error)")
        }
    }

    @Test func theZooKeeperCredentialsComeFromAPrivateFileOfUserAndPassword() throws {
        #expect(try Self.config("").zookeeperAuth() == nil)
        #expect(try Self.config("").zookeeperAuthFile() == nil)
        let file = try Self.secretFile("gale:s3cret\n")
        let config = try Self.config("zookeeper.auth.file: \(file)\n")
        #expect(try config.zookeeperAuth() == ZooKeeperAuth(user: "gale", password: "s3cret"))
        #expect(config.zookeeperAuthFile() == file)
        let fromEnvironment = try GaleConfig.load(file: nil, environment: ["GALE_ZOOKEEPER_AUTH_FILE": file])
        #expect(try fromEnvironment.zookeeperAuth()?.user == "gale")
        for (text, mode, problem) in [
            ("gale:s3cret", 0o644, "readable by other users"), ("s3cret", 0o600, "does not hold USER:PASSWORD"),
        ] as [(String, mode_t, String)] {
            let bad = try Self.secretFile(text, mode: mode)
            do throws(ConfigError) {
                _ = try Self.config("zookeeper.auth.file: \(bad)\n").zookeeperAuth()
                Issue.record("'\(text)' with mode \(String(mode, radix: 8)) was accepted")
            } catch {
                #expect(error.description.hasPrefix("zookeeper.auth.file ("), "\(error)")
                #expect(error.description.contains(bad) && error.description.contains(problem), "\(error)")
            }
        }
    }

    @Test func aRelativeCredentialsFileIsMadeAbsoluteForTheWorkers() throws {
        var config = GaleConfig()
        try config.set("zookeeper.auth.file", text: "conf/zk-auth", source: .flag("test"))
        let expected = FileManager.default.currentDirectoryPath + "/conf/zk-auth"
        #expect(config.zookeeperAuthFile() == URL(fileURLWithPath: expected).standardizedFileURL.path)
        #expect(config.zookeeperAuthFile()?.hasPrefix("/") == true)
    }

    /// A restarted supervisor checks its adopted workers' heartbeats before its first sync too:
    /// against the tokens their launch specs hold.
    @Test func adoptedWorkersHeartbeatTokensAreReadFromTheirLaunchSpecs() throws {
        let path = NSTemporaryDirectory() + "gale-spec-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var spec = WorkerLaunchSpec(
            workerId: "wc-1-6700",
            topologyId: "wc-1",
            topologyName: "wc",
            epoch: 3,
            endpoint: Endpoint(host: "127.0.0.1", port: 6700),
            taskEndpoints: [:],
            configOverrides: [:],
            parallelism: [:],
            active: true,
            supervisor: Endpoint(host: "127.0.0.1", port: 9),
            orphanTimeoutSeconds: 10
        )
        spec.heartbeatToken = WorkerLaunchSpec.heartbeatToken(secret: "s", workerId: spec.workerId)
        try JSONEncoder().encode(spec).write(to: URL(fileURLWithPath: path))
        func launch(_ id: String, _ arguments: [String]) -> WorkerLaunch {
            WorkerLaunch(
                id: id,
                executable: "/bin/true",
                arguments: arguments,
                environment: [:],
                workingDirectory: "/",
                logFile: "/dev/null"
            )
        }
        let tokens = SupervisorDaemon.heartbeatTokens(of: [
            launch("wc-1-6700", ["worker", "--log-level", "info", "--assignment", path]),
            launch("gone", ["worker", "--assignment", path + ".missing"]),
            launch("no-flag", ["worker", "--assignment"]),
        ])
        #expect(tokens == ["wc-1-6700": WorkerLaunchSpec.heartbeatToken(secret: "s", workerId: "wc-1-6700")])
    }

    @Test func theClientTokenComesFromGaleTokenThenFromItsFile() throws {
        let file = try Self.secretFile("from-file\n")
        let config = try Self.config("client.token.file: \(file)\n")
        #expect(try config.clientToken(environment: ["GALE_TOKEN": "from-env"]) == "from-env")
        #expect(try config.clientToken(environment: [:]) == "from-file")
        #expect(try Self.config("").clientToken(environment: [:]) == nil)
    }
}
