import Foundation

/// The kind of value a configuration key holds, with its allowed range.
public enum ConfigType: Sendable, Equatable {
    /// Non-empty text.
    case text
    /// One of the log levels.
    case logLevel
    /// A TCP port in the range.
    case port(ClosedRange<Int>)
    /// A non-empty list of distinct ports 1...65535.
    case ports
    /// A finite number of seconds, at least `minimum` (or above it when `exclusive`).
    case seconds(minimum: Double, exclusive: Bool)
    /// true or false.
    case bool
    /// A non-empty list of `HOST` or `HOST:PORT` (a comma-separated string in flags and
    /// environment variables).
    case servers
    /// A mapping of environment variable names to values.
    case environment
    /// A mapping of token names to `ROLE sha256:HEX` (``TokenEntry``).
    case tokens
    /// Group ids `FIRST-LAST`, 1 ≤ FIRST ≤ LAST ≤ 2147483647 (held as text).
    case gidRange
    /// A whole number in the range.
    case count(ClosedRange<Int>)
    /// A list of webhooks (``WebhookSpec``): file only.
    case webhooks

    /// How docs/configuration.md names the type.
    public var documentation: String {
        switch self {
        case .text: "string"
        case .logLevel: "log level"
        case .port(let range): "port \(range.lowerBound)–\(range.upperBound)"
        case .ports: "list of ports"
        case .seconds(let minimum, let exclusive): "seconds \(exclusive ? ">" : "≥") \(ConfigValue.double(minimum))"
        case .bool: "bool"
        case .servers: "list of HOST[:PORT]"
        case .environment: "map of NAME: value"
        case .tokens: "map of NAME: ROLE sha256:HEX"
        case .gidRange: "group ids FIRST-LAST"
        case .count(let range): "integer \(range.lowerBound)–\(range.upperBound)"
        case .webhooks: "list of webhooks"
        }
    }
}

/// A configuration value.
public enum ConfigValue: Sendable, Equatable, CustomStringConvertible, Encodable {
    case text(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case list([String])
    case ints([Int])
    case map([String: String])
    /// Webhooks, their URLs never shown.
    case webhooks([WebhookSpec])

    /// The value as YAML would write it (flow style for lists).
    public var description: String {
        switch self {
        case .text(let s): s
        case .int(let i): String(i)
        case .double(let d): d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .bool(let b): String(b)
        case .list(let l): "[" + l.joined(separator: ", ") + "]"
        case .ints(let l): "[" + l.map(String.init).joined(separator: ", ") + "]"
        case .map(let m):
            "{" + m.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .webhooks(let w): "[" + w.map(\.description).joined(separator: ", ") + "]"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let s): try container.encode(s)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .bool(let b): try container.encode(b)
        case .list(let l): try container.encode(l)
        case .ints(let l): try container.encode(l)
        case .map(let m): try container.encode(m)
        case .webhooks(let w): try container.encode(w)
        }
    }
}

/// One key of `gale.yaml`: its type, default, Storm alias, environment variable and flag.
public struct ConfigKey: Sendable {
    public let name: String
    public let type: ConfigType
    /// The value when nothing sets it; `nil`: unset (``defaultNote`` says what then).
    public let defaultValue: ConfigValue?
    /// The default as docs and `gale config show` tell it when ``defaultValue`` is `nil`.
    public let defaultNote: String?
    /// Storm's names for the same setting, accepted in the file.
    public let aliases: [String]
    public let environment: String?
    /// The command-line flags that set it.
    public let flags: String?
    /// The commands that read it.
    public let usedBy: String
    public let summary: String

    init(
        _ name: String,
        _ type: ConfigType,
        default defaultValue: ConfigValue? = nil,
        note: String? = nil,
        aliases: [String] = [],
        env: String? = nil,
        flags: String? = nil,
        usedBy: String,
        _ summary: String
    ) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.defaultNote = note
        self.aliases = aliases
        self.environment = env
        self.flags = flags
        self.usedBy = usedBy
        self.summary = summary
    }

    /// The default as docs/configuration.md writes it.
    public var defaultText: String { defaultValue?.description ?? defaultNote ?? "none" }
}

/// Where a value came from.
public enum ConfigSource: Sendable, Equatable, CustomStringConvertible {
    case defaultValue
    case file(path: String, line: Int)
    case environment(String)
    case flag(String)

    public var description: String {
        switch self {
        case .defaultValue: "default"
        case .file(let path, let line): "\(path):\(line)"
        case .environment(let name): "env \(name)"
        case .flag(let flag): "flag \(flag)"
        }
    }
}

/// A configuration problem, told in one line that names where it is (file and line, environment
/// variable or flag) and the key.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The keys of `gale.yaml`: the one table that parsing, validation, `gale config show` and the
/// test that checks docs/configuration.md read.
public enum GaleConfigSchema {
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public static let keys: [ConfigKey] = [
        ConfigKey(
            "zookeeper.servers",
            .servers,
            note: "required by the daemons",
            aliases: ["storm.zookeeper.servers"],
            env: "GALE_ZOOKEEPER",
            flags: "--zookeeper",
            usedBy: "nimbus, supervisor, zookeeper set-acls",
            "The ZooKeeper ensemble; an entry without a port uses `zookeeper.port`."
        ),
        ConfigKey(
            "zookeeper.port",
            .port(1...65_535),
            default: .int(2181),
            aliases: ["storm.zookeeper.port"],
            usedBy: "nimbus, supervisor, zookeeper set-acls",
            "The port of the `zookeeper.servers` entries that name none."
        ),
        ConfigKey(
            "zookeeper.session.timeout.secs",
            .seconds(minimum: 1, exclusive: false),
            default: .double(10),
            flags: "--session-timeout",
            usedBy: "nimbus, supervisor",
            "The ZooKeeper session timeout."
        ),
        ConfigKey(
            "zookeeper.auth.file",
            .text,
            note: "none: the nodes are open",
            env: "GALE_ZOOKEEPER_AUTH_FILE",
            usedBy: "nimbus, supervisor, zookeeper set-acls",
            "A file (mode 0600 or 0440) holding `USER:PASSWORD`: nimbus, supervisors and their workers "
                + "authenticate to ZooKeeper with these digest credentials, and every node they create under "
                + "`/gale` is readable and writable with them only (docs/security.md)."
        ),
        ConfigKey(
            "log.level",
            .logLevel,
            default: .text("info"),
            env: "GALE_LOG_LEVEL",
            flags: "--log-level",
            usedBy: "nimbus, supervisor",
            "trace, debug, info, notice, warning, error or critical; a supervisor's workers log at its level."
        ),
        ConfigKey(
            "local.dir",
            .text,
            aliases: ["storm.local.dir"],
            usedBy: "nimbus, supervisor",
            "The base of the data directories: nimbus uses `DIR/nimbus`, a supervisor `DIR/supervisor`."
        ),
        ConfigKey(
            "nimbus.seeds",
            .servers,
            aliases: [],
            env: "GALE_NIMBUS",
            flags: "--nimbus",
            usedBy: "client, supervisor",
            "The nimbus HTTP addresses the client commands and supervisors try; an entry without a port uses "
                + "`nimbus.port`."
        ),
        ConfigKey(
            "nimbus.host",
            .text,
            default: .text("127.0.0.1"),
            flags: "--host",
            usedBy: "nimbus",
            "The address nimbus listens on and advertises to the others."
        ),
        ConfigKey(
            "nimbus.port",
            .port(0...65_535),
            default: .int(8080),
            flags: "--port",
            usedBy: "nimbus, client, supervisor",
            "The port of nimbus's HTTP API (0: any free port)."
        ),
        ConfigKey(
            "nimbus.data.dir",
            .text,
            note: "LOCAL_DIR/nimbus",
            flags: "--data-dir",
            usedBy: "nimbus",
            "Where nimbus keeps topology binaries."
        ),
        ConfigKey(
            "nimbus.worker.timeout.secs",
            .seconds(minimum: 0, exclusive: true),
            default: .double(30),
            aliases: ["nimbus.task.timeout.secs"],
            flags: "--worker-timeout",
            usedBy: "nimbus",
            "Seconds of missing worker heartbeats before nimbus moves the worker to another slot."
        ),
        ConfigKey(
            "nimbus.ui.url",
            .text,
            note: "http(s)://NIMBUS_HOST:PORT of the leader",
            usedBy: "nimbus",
            "The web UI's address as its users reach it (behind a proxy, say): the links in webhook events point "
                + "there (docs/webhooks.md)."
        ),
        ConfigKey(
            "nimbus.webhooks",
            .webhooks,
            note: "none",
            usedBy: "nimbus",
            "Where the leader posts events (a topology submitted, killed or rebalanced; a worker in a crash loop, a "
                + "supervisor lost, a binary missing, a Kafka partition not committing, sustained backpressure, "
                + "transactional batches failing): a list of `{url or url.file, format: slack or json, events?, "
                + "name?, ca.file?}` (docs/webhooks.md). A URL is a secret: logs show only its host."
        ),
        ConfigKey(
            "nimbus.webhook.timeout.secs",
            .seconds(minimum: 0, exclusive: true),
            default: .double(10),
            usedBy: "nimbus",
            "The deadline of one webhook request, connecting included."
        ),
        ConfigKey(
            "nimbus.webhook.attempts",
            .count(1...100),
            default: .int(5),
            usedBy: "nimbus",
            "Attempts per event and webhook (a timeout, no answer, 408, 429 or 5xx is tried again after 1 s, "
                + "doubling to 60 s) before the event is dropped and logged."
        ),
        ConfigKey(
            "nimbus.webhook.queue.size",
            .count(1...100_000),
            default: .int(1000),
            usedBy: "nimbus",
            "Events waiting per webhook; beyond it the oldest is dropped and logged."
        ),
        ConfigKey(
            "nimbus.events.renotify.secs",
            .seconds(minimum: 0, exclusive: false),
            default: .double(0),
            usedBy: "nimbus",
            "A condition still firing is posted again this often (0: only once, until it clears)."
        ),
        ConfigKey(
            "nimbus.events.crash.loop.restarts",
            .count(1...10_000),
            default: .int(3),
            usedBy: "nimbus",
            "A worker restarted this many times within `nimbus.events.crash.loop.window.secs` is in a crash loop."
        ),
        ConfigKey(
            "nimbus.events.crash.loop.window.secs",
            .seconds(minimum: 0, exclusive: true),
            default: .double(300),
            usedBy: "nimbus",
            "The crash-loop window; a crash loop clears after a whole window without a restart."
        ),
        ConfigKey(
            "nimbus.events.partition.stuck.secs",
            .seconds(minimum: 0, exclusive: true),
            default: .double(300),
            usedBy: "nimbus",
            "A Kafka spout's partition with a lag that has not committed for this long is stuck."
        ),
        ConfigKey(
            "nimbus.events.backpressure.secs",
            .seconds(minimum: 0, exclusive: true),
            default: .double(60),
            usedBy: "nimbus",
            "A component overloaded this long (breaks under 10 s do not count) is under sustained backpressure."
        ),
        ConfigKey(
            "nimbus.events.batch.replays",
            .count(1...10_000),
            default: .int(3),
            usedBy: "nimbus",
            "Transactional batches replayed this many times within `nimbus.events.batch.window.secs` are failing."
        ),
        ConfigKey(
            "nimbus.events.batch.window.secs",
            .seconds(minimum: 0, exclusive: true),
            default: .double(300),
            usedBy: "nimbus",
            "The failing-batches window; it clears after a whole window without a replay."
        ),
        ConfigKey(
            "nimbus.events.supervisor.timeout.secs",
            .seconds(minimum: 0, exclusive: true),
            default: .double(30),
            usedBy: "nimbus",
            "A registered supervisor without a report for this long is lost."
        ),
        ConfigKey(
            "supervisor.slots.ports",
            .ports,
            default: .ints([6700, 6701, 6702, 6703]),
            flags: "--slots",
            usedBy: "supervisor",
            "The worker ports this supervisor offers."
        ),
        ConfigKey(
            "supervisor.host",
            .text,
            default: .text("127.0.0.1"),
            flags: "--host",
            usedBy: "supervisor",
            "The address the workers listen on (other hosts' workers connect to it)."
        ),
        ConfigKey(
            "supervisor.http.host",
            .text,
            note: "`supervisor.host`",
            flags: "--http-host",
            usedBy: "supervisor",
            "The address of the supervisor's HTTP endpoint: `/metrics` (Prometheus text of the supervisor and its "
                + "workers) and the worker logs nimbus reads (docs/metrics.md); `0.0.0.0` for every address."
        ),
        ConfigKey(
            "supervisor.http.port",
            .port(0...65_535),
            default: .int(8000),
            flags: "--http-port",
            usedBy: "supervisor",
            "The port of the supervisor's HTTP endpoint (0: any free port). It serves HTTPS with `tls.cert.file` "
                + "and `tls.key.file` when they are set; the worker logs need the cluster secret when "
                + "`cluster.secret.file` is set."
        ),
        ConfigKey(
            "supervisor.data.dir",
            .text,
            note: "LOCAL_DIR/supervisor",
            flags: "--data-dir",
            usedBy: "supervisor",
            "Where a supervisor keeps binaries, worker files and worker logs."
        ),
        ConfigKey(
            "supervisor.id",
            .text,
            note: "kept in the data directory",
            flags: "--id",
            usedBy: "supervisor",
            "The supervisor's id; by default one is created once and kept in its data directory."
        ),
        ConfigKey(
            "supervisor.worker.orphan.timeout.secs",
            .seconds(minimum: 0, exclusive: true),
            default: .double(20),
            flags: "--orphan-timeout",
            usedBy: "supervisor",
            "A worker that cannot reach its supervisor for this long stops itself."
        ),
        ConfigKey(
            "supervisor.keep.workers",
            .bool,
            default: .bool(false),
            flags: "--keep-workers, --no-keep-workers",
            usedBy: "supervisor",
            "On SIGTERM, leave the workers running for the supervisor's next run to adopt."
        ),
        ConfigKey(
            "supervisor.worker.env",
            .environment,
            default: .map([:]),
            usedBy: "supervisor",
            "Environment variables set for every worker, over those it inherits from its supervisor."
        ),
        ConfigKey(
            "supervisor.worker.user",
            .text,
            note: "the supervisor's own user; required when it runs as root",
            flags: "--worker-user",
            usedBy: "supervisor",
            "The user (a name or a uid) the workers run as. A supervisor running as root starts them as this "
                + "unprivileged user with no supplementary groups and one group per topology from "
                + "`supervisor.worker.gid.range`, so that a topology's workers cannot read another's files "
                + "(docs/security.md); any other supervisor runs them as its own user."
        ),
        ConfigKey(
            "supervisor.worker.gid.range",
            .gidRange,
            default: .text("60600-61099"),
            usedBy: "supervisor",
            "The group ids a supervisor running as root gives its topologies' workers, one per topology (the same "
                + "on every host unless taken); ids the host's group database knows are skipped, and none needs a "
                + "group entry."
        ),
        ConfigKey(
            "auth.tokens",
            .tokens,
            note: "none: the API is open",
            usedBy: "nimbus",
            "Who may call nimbus's API: each token's name, role (admin, submitter or viewer) and the SHA-256 of its "
                + "secret, as `gale token create` prints them. Set, every call but the health check and the OpenAPI "
                + "document needs a token or the cluster secret (docs/security.md)."
        ),
        ConfigKey(
            "auth.open",
            .bool,
            default: .bool(false),
            usedBy: "nimbus",
            "Without `auth.tokens`, nimbus listens only on a loopback address unless this is true: an open API lets "
                + "anyone who reaches it run any program on every supervisor host."
        ),
        ConfigKey(
            "cluster.secret.file",
            .text,
            env: "GALE_CLUSTER_SECRET_FILE",
            usedBy: "nimbus, supervisor",
            "A file (mode 0600) holding the secret supervisors and nimbus processes show each other; required with "
                + "`auth.tokens`."
        ),
        ConfigKey(
            "client.token.file",
            .text,
            env: "GALE_TOKEN_FILE",
            usedBy: "client",
            "A file (mode 0600) holding the client commands' token; `GALE_TOKEN` (the token itself) takes "
                + "precedence."
        ),
        ConfigKey(
            "client.timeout.secs",
            .seconds(minimum: 0, exclusive: true),
            default: .double(30),
            flags: "--timeout",
            usedBy: "client",
            "Seconds a client command waits for each nimbus."
        ),
        ConfigKey(
            "tls.cert.file",
            .text,
            note: "none: plain HTTP",
            env: "GALE_TLS_CERT_FILE",
            usedBy: "nimbus, supervisor",
            "This host's certificate (PEM, its own first, then any intermediates). On a nimbus host nimbus serves its "
                + "API over HTTPS only, and the subjectAltName must name `nimbus.host` and every name clients use; "
                + "needs `tls.key.file` and `tls.ca.file`. On a supervisor host with `transport.tls` its workers "
                + "show it to each other, and with `tls.key.file` the supervisor serves its HTTP endpoint over HTTPS "
                + "(docs/security.md)."
        ),
        ConfigKey(
            "tls.key.file",
            .text,
            env: "GALE_TLS_KEY_FILE",
            usedBy: "nimbus, supervisor",
            "The private key (PEM, mode 0600 or 0440) of `tls.cert.file`."
        ),
        ConfigKey(
            "tls.ca.file",
            .text,
            note: "none: plain HTTP",
            env: "GALE_TLS_CA_FILE",
            usedBy: "nimbus, supervisor, client",
            "The CA certificates (PEM) nimbus's certificate must verify against: set, the client commands, "
                + "supervisors and nimbus (calling the other nimbus processes) reach nimbus over HTTPS and refuse a "
                + "certificate that does not verify. With `transport.tls`, workers' certificates must verify "
                + "against it too."
        ),
        ConfigKey(
            "transport.tls",
            .bool,
            default: .bool(false),
            usedBy: "supervisor",
            "Mutual TLS between the workers of this supervisor and those of every other: each worker shows this "
                + "host's `tls.cert.file` (which needs extendedKeyUsage serverAuth and clientAuth) and refuses a peer "
                + "whose certificate does not verify against `tls.ca.file`. Needs `tls.cert.file`, `tls.key.file` "
                + "and `tls.ca.file`; set it on every supervisor of the cluster (docs/security.md)."
        ),
    ]

    public static let byName: [String: ConfigKey] = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })

    /// Storm's names, and Gale's own, to the key they set.
    public static let canonicalNames: [String: String] = {
        var names: [String: String] = [:]
        for key in keys {
            names[key.name] = key.name
            for alias in key.aliases { names[alias] = key.name }
        }
        return names
    }()

    /// The table of keys docs/configuration.md holds (a test checks it is there as written).
    public static func markdownTable() -> String {
        var lines = [
            "| key | type | default | flag | environment | Storm alias | used by | meaning |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        func code(_ text: String?) -> String { text.map { "`\($0)`" } ?? "" }
        for key in keys {
            let cells = [
                code(key.name), key.type.documentation,
                key.defaultValue.map { code($0.description) } ?? (key.defaultNote ?? ""),
                key.flags.map { $0.split(separator: ", ").map { "`\($0)`" }.joined(separator: ", ") } ?? "",
                code(key.environment), key.aliases.map { "`\($0)`" }.joined(separator: ", "), key.usedBy,
                key.summary,
            ]
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// The known name closest to `name`, when it is a likely misspelling.
    static func suggestion(for name: String) -> String? {
        var best: (String, Int)?
        for candidate in canonicalNames.keys.sorted() {
            let distance = editDistance(name, candidate)
            if distance <= max(2, name.count / 6), distance < (best?.1 ?? Int.max) { best = (candidate, distance) }
        }
        return best?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
