import Foundation
import GaleCoordination
import Logging
import ServiceLifecycle
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// ``HTTPServer`` and ``HTTPClient`` against each other (and against raw sockets) on loopback.
@Suite(.timeLimit(.minutes(2))) struct HTTPStackTests {
    static let logger = Logger(label: "http-test")

    /// A started server and its address.
    static func serve(
        maxBodyBytes: Int = 1 << 30,
        maxMemoryBodyBytes: Int = 16 << 20,
        admit: HTTPServer.Admission? = nil,
        spool: @escaping HTTPServer.SpoolPolicy = { _, _ in nil },
        handler: @escaping HTTPServer.Handler
    ) async throws -> (HTTPServer, String) {
        let server = HTTPServer(
            host: "127.0.0.1",
            port: 0,
            maxBodyBytes: maxBodyBytes,
            maxMemoryBodyBytes: maxMemoryBodyBytes,
            admit: admit,
            logger: logger,
            spool: spool,
            handler: handler
        )
        let port = try await server.start()
        return (server, "127.0.0.1:\(port)")
    }

    /// A fresh empty directory.
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "gale-http-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `count` random bytes written to a new file in `directory`.
    static func randomFile(_ count: Int, in directory: String) throws -> (path: String, data: Data) {
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        let data = random.readData(ofLength: count)
        let path = directory + "/random-\(count)"
        try data.write(to: URL(fileURLWithPath: path))
        return (path, data)
    }

    static func contents(of directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    // MARK: - Connections

    @Test func successiveRequestsOfAClientShareOneKeepAliveConnection() async throws {
        let (server, address) = try await Self.serve { request in .json(["from": request.remoteAddress ?? "?"]) }
        defer { Task { await server.stop() } }
        let client = HTTPClient(timeout: .seconds(5))
        var peers: [String] = []
        for _ in 0..<3 {
            let response = try await client.get(address: address, path: "/who")
            #expect(response.status == 200)
            #expect(!response.headers.contains { $0.name.lowercased() == "connection" && $0.value == "close" })
            peers.append(try response.decodeJSON([String: String].self)["from"] ?? "")
        }
        #expect(peers[0].hasPrefix("127.0.0.1:"), "\(peers)")
        #expect(Set(peers).count == 1, "each request came on its own connection: \(peers)")
    }

    @Test func aClientReachesAServerByHostName() async throws {
        let (server, address) = try await Self.serve { _ in .json(["ok": true]) }
        defer { Task { await server.stop() } }
        let port = try #require(address.split(separator: ":").last)
        let response = try await HTTPClient(timeout: .seconds(5)).get(address: "localhost:\(port)", path: "/")
        #expect(response.status == 200)
    }

    /// An idle keep-alive connection does not hold the server up: stop returns and the port is
    /// closed. (How quickly is a timing goal, not asserted here.)
    @Test func stopWithAnIdleKeepAliveConnectionClosesThePort() async throws {
        let (server, address) = try await Self.serve { _ in .json(["ok": true]) }
        let client = HTTPClient(timeout: .seconds(5))
        #expect(try await client.get(address: address, path: "/").status == 200)
        await server.stop()
        #expect(server.boundPort == nil)
        await #expect(throws: HTTPClientError.self) { try await client.get(address: address, path: "/") }
    }

    @Test func stopLetsARequestInFlightFinish() async throws {
        let (entered, enter) = AsyncStream.makeStream(of: Void.self)
        let (server, address) = try await Self.serve { _ in
            enter.yield()
            try? await Task.sleep(for: .milliseconds(500))
            return .json(["done": true])
        }
        let request = Task { try await HTTPClient(timeout: .seconds(10)).get(address: address, path: "/slow") }
        for await _ in entered { break }
        await server.stop()
        let response = try await request.value
        #expect(response.status == 200)
        #expect(try response.decodeJSON([String: Bool].self) == ["done": true])
    }

    @Test func aPortInUseFailsTheStart() async throws {
        let (server, address) = try await Self.serve { _ in .json(["ok": true]) }
        defer { Task { await server.stop() } }
        let port = try #require(Int(address.split(separator: ":").last ?? ""))
        let second = HTTPServer(host: "127.0.0.1", port: port, logger: Self.logger) { _ in .json(["ok": true]) }
        let error = await #expect(throws: HTTPServerError.self) { try await second.start() }
        guard case .cannotBind(let where_, _) = error else {
            Issue.record("expected cannotBind, got \(String(describing: error))")
            return
        }
        #expect(where_ == "127.0.0.1:\(port)")
    }

    @Test func theServerRunsAsAServiceUntilGracefulShutdown() async throws {
        let server = HTTPServer(host: "127.0.0.1", port: 0, logger: Self.logger) { _ in .json(["ok": true]) }
        let group = ServiceGroup(services: [server], logger: Self.logger)
        let running = Task { try await group.run() }
        var port = server.boundPort
        while port == nil {
            try await Task.sleep(for: .milliseconds(10))
            port = server.boundPort
        }
        let address = "127.0.0.1:\(port ?? 0)"
        #expect(try await HTTPClient(timeout: .seconds(5)).get(address: address, path: "/").status == 200)
        // One way of running at a time.
        await #expect(throws: HTTPServerError.self) { try await server.start() }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(server.boundPort == nil)
    }

    // MARK: - Requests

    @Test func thePathIsPercentDecodedAndTheQueryIsADictionary() async throws {
        let (server, address) = try await Self.serve { request in
            .json(
                [
                    "path": request.path,
                    "query": request.query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                        separator: ";"
                    ),
                    "host": request.header("Host") ?? "",
                ]
            )
        }
        defer { Task { await server.stop() } }
        let response = try await HTTPClient(timeout: .seconds(5))
            .get(address: address, path: "/api/v1/topologies/word%20count%2F2?wait=5&name=a%26b&flag&wait=7")
        let answer = try response.decodeJSON([String: String].self)
        #expect(answer["path"] == "/api/v1/topologies/word count/2")
        #expect(answer["query"] == "flag=;name=a&b;wait=7")
        #expect(answer["host"] == address)
    }

    @Test func anAnswerKeepsTheHandlersStatusAndHeaders() async throws {
        let (server, address) = try await Self.serve { _ in
            HTTPResponse.error(405, "GET is not served at /x; use POST").adding(header: "allow", value: "POST")
        }
        defer { Task { await server.stop() } }
        let response = try await HTTPClient(timeout: .seconds(5)).get(address: address, path: "/x")
        #expect(response.status == 405)
        #expect(response.errorMessage == "GET is not served at /x; use POST")
        #expect(response.headers.contains { $0.name.lowercased() == "allow" && $0.value == "POST" })
        #expect(response.headers.contains { $0.name.lowercased() == "content-type" && $0.value == "application/json" })
    }

    @Test func aBodyOverTheLimitIsAnswered413WithoutReachingTheHandler() async throws {
        let called = Atomic(0)
        let (server, address) = try await Self.serve(maxBodyBytes: 1024) { request in
            called.add(1, ordering: .relaxed)
            return .json(["size": request.body.count])
        }
        defer { Task { await server.stop() } }
        let client = HTTPClient(timeout: .seconds(5))
        let refused = try await client.send(
            "POST",
            address: address,
            path: "/x",
            body: Array(repeating: 7, count: 2048)
        )
        #expect(refused.status == 413)
        #expect(refused.errorMessage == "request body too large: 2048 bytes, the limit is 1024")
        #expect(called.load(ordering: .relaxed) == 0)
        let accepted = try await client.send(
            "POST",
            address: address,
            path: "/x",
            body: Array(repeating: 7, count: 1024)
        )
        #expect(try accepted.decodeJSON([String: Int].self) == ["size": 1024])
    }

    @Test func aSpooledBodyOverTheLimitIsAnswered413AndItsFileRemoved() async throws {
        let spool = try Self.directory()
        let sources = try Self.directory()
        defer {
            try? FileManager.default.removeItem(atPath: spool)
            try? FileManager.default.removeItem(atPath: sources)
        }
        let called = Atomic(0)
        let limit = 256 << 10
        let (server, address) = try await Self.serve(
            maxBodyBytes: limit,
            spool: { _, _ in spool },
            handler: { _ in
                called.add(1, ordering: .relaxed)
                return .json(["ok": true])
            }
        )
        defer { Task { await server.stop() } }
        // Declared too large: refused before a byte of it is read. The server answers 413 and
        // closes while the client may still be sending; the client then reports either the
        // answer or that the server stopped reading (AsyncHTTPClient's race), never success.
        let (big, _) = try Self.randomFile(limit + 1, in: sources)
        do {
            let refused = try await HTTPClient(timeout: .seconds(5)).send(
                "POST",
                address: address,
                path: "/up",
                bodyFile: big
            )
            #expect(refused.status == 413)
            #expect(refused.errorMessage == "request body too large: \(limit + 1) bytes, the limit is \(limit)")
        } catch {
            #expect(error == .badResponse(HTTPClient.stoppedReading))
        }
        // Chunked, of no declared length: refused once the limit is passed, the file removed.
        let port = try #require(UInt16(address.split(separator: ":").last ?? ""))
        let answer = try await RawConnection.exchange(port: port) { connection in
            connection.send("POST /up HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n")
            let chunk = String(repeating: "x", count: 64 << 10)
            for _ in 0..<8 { connection.send(String(chunk.count, radix: 16) + "\r\n" + chunk + "\r\n") }
            connection.send("0\r\n\r\n")
        }
        #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(200))")
        #expect(answer.lowercased().contains("connection: close"), "\(answer.prefix(300))")
        #expect(called.load(ordering: .relaxed) == 0)
        #expect(Self.contents(of: spool).isEmpty, "\(Self.contents(of: spool))")
    }

    /// A request the admission check refuses is answered without a byte of its body read: an
    /// upload that announces 100 MiB and sends 10 bytes gets its 401 and a closed connection,
    /// the handler is not asked and nothing is spooled; an admitted one is served.
    @Test func aRequestTheAdmissionCheckRefusesIsAnsweredWithoutReadingItsBody() async throws {
        let spool = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let called = Atomic(0)
        let (server, address) = try await Self.serve(
            admit: { request in request.header("authorization") == nil ? .error(401, "who are you?") : nil },
            spool: { _, _ in spool },
            handler: { _ in
                called.add(1, ordering: .relaxed)
                return .json(["ok": true])
            }
        )
        defer { Task { await server.stop() } }
        let port = try #require(UInt16(address.split(separator: ":").last ?? ""))
        let answer = try await RawConnection.exchange(port: port) { connection in
            connection.send("POST /up HTTP/1.1\r\nhost: test\r\ncontent-length: \(100 << 20)\r\n\r\n0123456789")
        }
        #expect(answer.hasPrefix("HTTP/1.1 401"), "\(answer.prefix(200))")
        #expect(answer.contains("who are you?") && answer.lowercased().contains("connection: close"))
        #expect(called.load(ordering: .relaxed) == 0)
        #expect(Self.contents(of: spool).isEmpty)
        let admitted = try await HTTPClient(timeout: .seconds(5)).send(
            "POST",
            address: address,
            path: "/up",
            body: Array("hello".utf8),
            headers: [(name: "authorization", value: "Bearer x")]
        )
        #expect(admitted.status == 200 && called.load(ordering: .relaxed) == 1)
    }

    /// A body kept in memory has its own, smaller limit than a spooled one.
    @Test func aBodyKeptInMemoryHasItsOwnLimit() async throws {
        let (server, address) = try await Self.serve(maxMemoryBodyBytes: 1024) { request in
            .json(["size": request.body.count])
        }
        defer { Task { await server.stop() } }
        let refused = try await HTTPClient(timeout: .seconds(5)).send(
            "POST",
            address: address,
            path: "/x",
            body: Array(repeating: 1, count: 4096)
        )
        #expect(refused.status == 413)
        #expect(refused.errorMessage == "request body too large: 4096 bytes, the limit is 1024")
    }

    @Test func aSpooledUploadOf64MiBArrivesIntactInItsFile() async throws {
        let spool = try Self.directory()
        let sources = try Self.directory()
        defer {
            try? FileManager.default.removeItem(atPath: spool)
            try? FileManager.default.removeItem(atPath: sources)
        }
        let (path, data) = try Self.randomFile(64 << 20, in: sources)
        let kept = sources + "/kept"
        let (server, address) = try await Self.serve(
            spool: { method, path in method == "POST" && path == "/blobs" ? spool : nil },
            handler: { request in
                guard let file = request.bodyFile, request.body.isEmpty else { return .error(400, "not spooled") }
                let name = (file as NSString).lastPathComponent
                let intact = (try? Data(contentsOf: URL(fileURLWithPath: file))) == data
                if request.query["keep"] != nil { try? FileManager.default.moveItem(atPath: file, toPath: kept) }
                return .json([
                    "directory": (file as NSString).deletingLastPathComponent, "name": name, "intact": "\(intact)",
                ])
            }
        )
        defer { Task { await server.stop() } }
        let client = HTTPClient(timeout: .seconds(60))
        for keep in [false, true] {
            let response = try await client.send(
                "POST",
                address: address,
                path: keep ? "/blobs?keep" : "/blobs",
                bodyFile: path
            )
            let answer = try response.decodeJSON([String: String].self)
            #expect(answer["intact"] == "true")
            #expect(answer["directory"] == spool)
            #expect(answer["name"]?.hasPrefix("upload-") == true && answer["name"]?.hasSuffix(".part") == true)
            // Removed once answered, unless the handler moved it away.
            #expect(Self.contents(of: spool).isEmpty)
        }
        #expect((try? Data(contentsOf: URL(fileURLWithPath: kept))) == data)
    }

    // MARK: - Answers

    @Test func aFileAnswerArrivesIntact() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (path, data) = try Self.randomFile((5 << 20) + 123, in: directory)
        let (server, address) = try await Self.serve { request in
            request.path == "/file" ? .file(path) : .file(directory + "/missing")
        }
        defer { Task { await server.stop() } }
        let client = HTTPClient(timeout: .seconds(30))
        let response = try await client.get(address: address, path: "/file")
        #expect(response.status == 200)
        #expect(response.body.count == data.count)
        #expect(Data(response.body) == data)
        let missing = try await client.get(address: address, path: "/missing")
        #expect(missing.status == 500)
        #expect(missing.errorMessage?.hasPrefix("cannot read \(directory)/missing") == true)
    }

    @Test func downloadWritesTheBodyToTheFile() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (path, data) = try Self.randomFile((3 << 20) + 7, in: directory)
        let (server, address) = try await Self.serve { request in
            request.path == "/blob" ? .file(path) : .error(404, "no such blob")
        }
        defer { Task { await server.stop() } }
        let client = HTTPClient(timeout: .seconds(30))
        let target = directory + "/downloaded"
        #expect(try await client.download(address: address, path: "/blob", to: target) == data.count)
        #expect((try? Data(contentsOf: URL(fileURLWithPath: target))) == data)
        #expect(!FileManager.default.fileExists(atPath: target + ".part"))
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.download(address: address, path: "/other", to: directory + "/other")
        }
        #expect(error == .status(404, message: "no such blob"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/other.part"))
    }

    // MARK: - Client errors

    @Test func aClosedPortIsUnreachableWithConnectionRefused() async throws {
        let (server, address) = try await Self.serve { _ in .json(["ok": true]) }
        await server.stop()
        let error = await #expect(throws: HTTPClientError.self) {
            try await HTTPClient(timeout: .seconds(5)).get(address: address, path: "/")
        }
        #expect(error == .unreachable(address: address, reason: "connection refused"))
        #expect(error?.description == "cannot reach \(address): connection refused")
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let listener = try RawListener()
        defer { listener.close() }
        let address = "127.0.0.1:\(listener.port)"
        // The server never answers: only the deadline can end the request.
        let error = await #expect(throws: HTTPClientError.self) {
            try await HTTPClient(timeout: .milliseconds(500)).get(address: address, path: "/")
        }
        #expect(error == .timeout(address: address, seconds: 0.5))
        #expect(error?.description == "\(address) did not answer within 0.5 s")
    }

    @Test(arguments: ["nohost", "host:notaport", ":80", "host:0", "host:70000", ""])
    func anAddressThatIsNotHostColonPortIsInvalid(_ address: String) async throws {
        let error = await #expect(throws: HTTPClientError.self) {
            try await HTTPClient(timeout: .seconds(1)).get(address: address, path: "/")
        }
        #expect(error == .invalidAddress(address))
    }
}

/// A blocking client socket for what ``HTTPClient`` does not send (e.g. a chunked body); its
/// calls run on a Dispatch thread, never on the cooperative pool.
struct RawConnection {
    let fd: Int32

    /// Connects to `port` on loopback, runs `send`, then reads the answer until the server
    /// closes the connection.
    static func exchange(port: UInt16, _ send: @escaping @Sendable (RawConnection) -> Void) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = port.bigEndian
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                guard fd >= 0, connected == 0 else {
                    continuation.resume(throwing: POSIXError(.ECONNREFUSED))
                    return
                }
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let connection = RawConnection(fd: fd)
                send(connection)
                var answer: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let n = recv(fd, &buffer, buffer.count, 0)
                    guard n > 0 else { break }
                    answer += buffer[0..<n]
                }
                Glibc.close(fd)
                continuation.resume(returning: String(decoding: answer, as: UTF8.self))
            }
        }
    }

    /// Sends `text`, ignoring errors (the server may close the connection early).
    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            offset += n
        }
    }
}

/// A loopback socket that listens but never accepts: connections complete (the kernel queues
/// them), and nothing ever answers.
struct RawListener {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard fd >= 0, bound else { throw POSIXError(.EADDRNOTAVAIL) }
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    func close() { Glibc.close(fd) }
}
