import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Loopback endpoints of the ZooKeeper and Kafka (Tansu) services that `scripts/services` runs.
///
/// Resolution order, once per test process:
/// 1. the `GALE_ZOOKEEPER` and `GALE_KAFKA` environment variables (`make test` exports them);
/// 2. the env file `scripts/services` writes (`$GALE_SERVICES_DIR/env`, default `<repo>/.services/env`),
///    if both endpoints in it accept a TCP connection;
/// 3. otherwise `scripts/services start all` is run, and the env file it writes is read.
///    Services started this way keep running after the tests; `scripts/services stop` ends them.
struct TestServices: Sendable {
    /// `host:port` of ZooKeeper, for `zookeeper_init`.
    var zooKeeper: String
    /// `host:port` of the Kafka broker, for `bootstrap.servers`.
    var kafka: String

    static func resolve() throws -> TestServices {
        try resolved.get()
    }

    private static let resolved: Result<TestServices, any Error> = Result { try locate() }

    /// `<repo>`, from this file's path `<repo>/Tests/IntegrationTests/TestServices.swift`.
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()

    private static func locate() throws -> TestServices {
        let environment = ProcessInfo.processInfo.environment
        if let zooKeeper = environment["GALE_ZOOKEEPER"], let kafka = environment["GALE_KAFKA"],
            !zooKeeper.isEmpty, !kafka.isEmpty
        {
            return TestServices(zooKeeper: zooKeeper, kafka: kafka)
        }

        let stateDirectory: URL
        if let configured = environment["GALE_SERVICES_DIR"], !configured.isEmpty {
            stateDirectory = URL(fileURLWithPath: configured, relativeTo: repositoryRoot)
        } else {
            stateDirectory = repositoryRoot.appendingPathComponent(".services")
        }
        let envFile = stateDirectory.appendingPathComponent("env")

        if let services = read(envFile: envFile, environment: environment),
            acceptsConnection(services.zooKeeper), acceptsConnection(services.kafka)
        {
            return services
        }

        try startServices()
        guard let services = read(envFile: envFile, environment: environment) else {
            throw SmokeTestFailure("scripts/services start did not write both endpoints to \(envFile.path)")
        }
        return services
    }

    /// Parses `KEY=VALUE` lines; a variable set in the environment wins over the file.
    private static func read(envFile: URL, environment: [String: String]) -> TestServices? {
        guard let text = try? String(contentsOf: envFile, encoding: .utf8) else { return nil }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            values[key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        guard let zooKeeper = environment["GALE_ZOOKEEPER"] ?? values["GALE_ZOOKEEPER"],
            let kafka = environment["GALE_KAFKA"] ?? values["GALE_KAFKA"]
        else { return nil }
        return TestServices(zooKeeper: zooKeeper, kafka: kafka)
    }

    /// Runs `scripts/services start all` and waits for it. (posix_spawn and waitpid rather than
    /// Foundation's `Process`, whose `waitUntilExit` was seen to hang in the test process after
    /// the child had exited.)
    private static func startServices() throws {
        let script = repositoryRoot.appendingPathComponent("scripts/services").path
        let arguments = ["/bin/bash", script, "start", "all"]
        let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }

        // The calling thread may block or ignore signals (Swift's and librdkafka's threads do),
        // and a spawned process inherits that. The services must see SIGTERM from
        // `scripts/services stop`, so the child starts with an empty mask and default handlers.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var pid = pid_t()
        let spawned = posix_spawn(&pid, "/bin/bash", nil, &attributes, &argv, &envp)
        guard spawned == 0 else {
            throw SmokeTestFailure("cannot run \(script): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else {
                throw SmokeTestFailure("waitpid for \(script): \(String(cString: strerror(errno)))")
            }
        }
        // WIFEXITED / WEXITSTATUS are macros that Swift does not import.
        let exited = status & 0x7f == 0
        let exitCode = (status >> 8) & 0xff
        guard exited, exitCode == 0 else {
            throw SmokeTestFailure("\(script) start all failed (wait status \(status)); see its output above")
        }
    }

    /// Whether `127.0.0.1:PORT` (IPv4 literal and port) accepts a TCP connection right now.
    private static func acceptsConnection(_ endpoint: String) -> Bool {
        let parts = endpoint.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { return false }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, String(parts[0]), &address.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// A failed step of a smoke test, with what went wrong in words.
struct SmokeTestFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Runs blocking C calls (librdkafka polls, synchronous `zoo_*` calls) on a thread of their own,
/// off Swift's cooperative pool.
func onBlockingThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = "smoke-test-blocking"
        thread.start()
    }
}

/// The text in a NUL-terminated C buffer such as librdkafka's `errstr`.
func string(fromCBuffer buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
