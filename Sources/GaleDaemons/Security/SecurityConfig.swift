public import Foundation
public import GaleCoordination

extension GaleConfig {
    /// The cluster secret, read from `cluster.secret.file`, or `nil` when that is unset.
    /// - Throws: the file cannot be read, is empty or is readable by other users.
    public func clusterSecret() throws(ConfigError) -> String? {
        guard let path = text("cluster.secret.file") else { return nil }
        return try Secret.read(
            file: path,
            key: "cluster.secret.file (\(source("cluster.secret.file").map(Self.label) ?? "default"))"
        )
    }

    /// The absolute path of `zookeeper.auth.file` (relative to the working directory when given
    /// relative), or `nil` when that is unset.
    public func zookeeperAuthFile() -> String? {
        guard let path = text("zookeeper.auth.file") else { return nil }
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The ZooKeeper digest credentials, read from `zookeeper.auth.file`, or `nil` when that is
    /// unset.
    /// - Throws: the file cannot be read, is readable by other users, or does not hold
    ///   `USER:PASSWORD`: one line naming the key and the file.
    public func zookeeperAuth() throws(ConfigError) -> ZooKeeperAuth? {
        guard let path = zookeeperAuthFile() else { return nil }
        let key = "zookeeper.auth.file (\(source("zookeeper.auth.file").map(Self.label) ?? "default"))"
        guard let auth = ZooKeeperAuth(parsing: try Secret.read(file: path, key: key)) else {
            throw ConfigError("\(key): \(path) does not hold USER:PASSWORD (one line, neither part empty)")
        }
        return auth
    }

    /// The client commands' token: `GALE_TOKEN`, else the content of `client.token.file`.
    public func clientToken(
        environment: [String: String] = ProcessInfo.processInfo.environment
    )
        throws(ConfigError) -> String?
    {
        if let token = environment["GALE_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty {
            return token
        }
        guard let path = text("client.token.file") else { return nil }
        return try Secret.read(
            file: path,
            key: "client.token.file (\(source("client.token.file").map(Self.label) ?? "default"))"
        )
    }

    /// Nimbus's authenticator from `auth.tokens` and `cluster.secret.file`, checked against the
    /// address nimbus listens on.
    /// - Returns: the authenticator, and a warning to log at start when the API is open.
    /// - Throws: tokens without a cluster secret (supervisors could not report), a cluster
    ///   secret without tokens, or an open API on an address other hosts can reach without
    ///   `auth.open: true`.
    public func nimbusAuthenticator(host: String, port: Int) throws(ConfigError) -> (Authenticator, warning: String?) {
        var tokens: [TokenEntry] = []
        for (name, text) in (map("auth.tokens") ?? [:]).sorted(by: { $0.key < $1.key }) {
            switch TokenEntry.parse(name: name, text) {
            case .success(let entry): tokens.append(entry)
            case .failure(let error): throw error
            }
        }
        let secret = try clusterSecret()
        switch (tokens.isEmpty, secret) {
        case (false, nil):
            throw ConfigError(
                "auth.tokens is set but cluster.secret.file is not: supervisors and the other nimbus processes "
                    + "could not authenticate (docs/security.md)"
            )
        case (true, .some):
            throw ConfigError(
                "cluster.secret.file is set but auth.tokens is not: configure the tokens of the people and tools "
                    + "that call nimbus too (docs/security.md)"
            )
        case (false, .some(let secret)):
            return (Authenticator(tokens: tokens, clusterSecret: secret), nil)
        case (true, nil):
            let exposure = "anyone who reaches \(host):\(port) can run any program on every supervisor host"
            guard Self.isLoopback(host) || bool("auth.open") == true else {
                throw ConfigError(
                    "nimbus.host \(host) is not a loopback address and auth.tokens is not set: \(exposure). "
                        + "Configure auth.tokens and cluster.secret.file (docs/security.md), or set auth.open: true "
                        + "to run an open API anyway"
                )
            }
            return (.open, "the API is OPEN (no auth.tokens): \(exposure)")
        }
    }

    /// The CA file the clients of nimbus verify its certificate against (`tls.ca.file`), read;
    /// `nil` when unset (plain HTTP).
    /// - Throws: the file cannot be read or holds no PEM certificate: one line naming the key
    ///   and the file.
    public func clientTLS() throws(ConfigError) -> HTTPClientTLS? {
        guard let path = text("tls.ca.file") else { return nil }
        do {
            return try HTTPClientTLS(caFile: path)
        } catch {
            throw ConfigError("\(label("tls.ca.file")): \(error.reason)")
        }
    }

    /// Nimbus's TLS: the certificate and key it serves HTTPS with (`tls.cert.file`,
    /// `tls.key.file`), and the CA it verifies the other nimbus processes against
    /// (`tls.ca.file`); `nil` when none of the three is set (plain HTTP).
    /// - Throws: some of the three set but not all, or a file that cannot be used (unreadable,
    ///   not PEM, a key readable by other users or not matching the certificate, an expired
    ///   certificate): one line naming the key and the file.
    public func nimbusTLS() throws(ConfigError) -> (server: HTTPServerTLS, peers: HTTPClientTLS)? {
        let names = ["tls.cert.file", "tls.key.file", "tls.ca.file"]
        let set = names.filter { text($0) != nil }
        guard !set.isEmpty else { return nil }
        guard let certificate = text("tls.cert.file"), let key = text("tls.key.file"),
            let peers = try clientTLS()
        else {
            let unset = names.filter { !set.contains($0) }
            throw ConfigError(
                "\(set.map(label).joined(separator: ", ")) \(set.count == 1 ? "is" : "are") set but "
                    + "\(unset.joined(separator: " and ")) \(unset.count == 1 ? "is" : "are") not: nimbus serves HTTPS with "
                    + "tls.cert.file and tls.key.file, and verifies the other nimbus processes against tls.ca.file "
                    + "(docs/security.md)"
            )
        }
        do {
            return (try HTTPServerTLS(certificateFile: certificate, keyFile: key), peers)
        } catch {
            let name = error.file == key && error.file != certificate ? "tls.key.file" : "tls.cert.file"
            throw ConfigError("\(label(name)): \(error.reason)")
        }
    }

    /// The TLS material a supervisor hands its workers for the transport between them when
    /// `transport.tls` is true: this host's certificate (`tls.cert.file`), its key
    /// (`tls.key.file`) and the cluster's CA certificates (`tls.ca.file`), read as PEM text;
    /// `nil` when `transport.tls` is false.
    /// - Throws: `transport.tls` without all three files, or a file that cannot be used
    ///   (unreadable, not PEM, a key readable by other users or not matching the certificate,
    ///   an expired certificate): one line naming the key and the file.
    public func transportTLS() throws(ConfigError) -> WorkerTransportTLS? {
        guard bool("transport.tls") == true else { return nil }
        let names = ["tls.cert.file", "tls.key.file", "tls.ca.file"]
        let unset = names.filter { text($0) == nil }
        guard let certificate = text("tls.cert.file"), let key = text("tls.key.file"), let ca = text("tls.ca.file")
        else {
            throw ConfigError(
                "\(label("transport.tls")) is true but \(unset.joined(separator: " and ")) "
                    + "\(unset.count == 1 ? "is" : "are") not set: workers show each other this host's certificate "
                    + "(tls.cert.file, tls.key.file) and verify theirs against tls.ca.file (docs/security.md)"
            )
        }
        // The same checks as nimbus's: readable, PEM, a private key, matching, valid now.
        do {
            _ = try HTTPServerTLS(certificateFile: certificate, keyFile: key)
        } catch {
            let name = error.file == key && error.file != certificate ? "tls.key.file" : "tls.cert.file"
            throw ConfigError("\(label(name)): \(error.reason)")
        }
        _ = try clientTLS()
        let keyText: String
        do {
            keyText = try PrivateFile.read(key)
        } catch {
            throw ConfigError("\(label("tls.key.file")): \(error.description)")
        }
        guard let certificateText = FileManager.default.contents(atPath: certificate),
            let caText = FileManager.default.contents(atPath: ca)
        else {
            throw ConfigError("\(label("tls.cert.file")): cannot read \(certificate) or \(ca)")
        }
        return WorkerTransportTLS(
            ca: String(decoding: caText, as: UTF8.self),
            cert: String(decoding: certificateText, as: UTF8.self),
            key: keyText + "\n"
        )
    }

    /// `key (where it is set)`, e.g. `tls.ca.file (/etc/gale/gale.yaml:12)`.
    func label(_ key: String) -> String {
        "\(key) (\(source(key).map(Self.label) ?? "default"))"
    }

    /// `localhost`, `127.0.0.0/8` or `::1`.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}
