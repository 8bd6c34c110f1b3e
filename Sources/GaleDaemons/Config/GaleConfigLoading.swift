public import Foundation
public import GaleCoordination
import Yams

/// The effective configuration of one `gale` command: each key's default, overridden by the
/// configuration file, then by environment variables, then by flags; every value with its source.
public struct GaleConfig: Sendable {
    public struct Entry: Sendable, Equatable {
        public var value: ConfigValue
        public var source: ConfigSource
    }

    public private(set) var entries: [String: Entry] = [:]
    /// The configuration file read, if any.
    public private(set) var file: String?

    /// The file read when neither `--config-file` nor `GALE_CONFIG` names one, before
    /// `~/.gale/gale.yaml`.
    public static let systemFile = "/etc/gale/gale.yaml"

    /// Only the defaults.
    public init() {
        for key in GaleConfigSchema.keys {
            if let value = key.defaultValue { entries[key.name] = Entry(value: value, source: .defaultValue) }
        }
    }

    /// The file to read and what named it: `explicit` (`--config-file`), else `GALE_CONFIG`, else
    /// the first of /etc/gale/gale.yaml and ~/.gale/gale.yaml that exists (`namedBy` nil).
    public static func locate(
        explicit: String?,
        environment: [String: String],
        exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
    ) -> (path: String, namedBy: String?)? {
        if let explicit { return (explicit, "--config-file") }
        if let named = environment["GALE_CONFIG"], !named.isEmpty { return (named, "GALE_CONFIG") }
        var candidates = [systemFile]
        if let home = environment["HOME"], !home.isEmpty { candidates.append(home + "/.gale/gale.yaml") }
        return candidates.first(where: exists).map { ($0, nil) }
    }

    /// Defaults, then the file ``locate(explicit:environment:exists:)`` finds, then the
    /// environment variables of the keys that have one, but for the keys in `flagged` (which the
    /// caller sets from flags next).
    /// - Throws: a file named by `--config-file` or `GALE_CONFIG` that does not exist, or any
    ///   problem of the file or of an environment variable.
    public static func load(
        file explicit: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        flagged: Set<String> = []
    ) throws(ConfigError) -> GaleConfig {
        var config = GaleConfig()
        if let (path, namedBy) = locate(explicit: explicit, environment: environment) {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ConfigError("\(path): no such configuration file (named by \(namedBy ?? "default"))")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError("\(path): cannot read the configuration file: \(String(cString: strerror(errno)))")
            }
            for (name, entry) in try parse(yaml: String(decoding: data, as: UTF8.self), path: path) {
                config.entries[name] = entry
            }
            config.file = path
        }
        for key in GaleConfigSchema.keys where !flagged.contains(key.name) {
            guard let variable = key.environment, let text = environment[variable], !text.isEmpty else { continue }
            try config.set(key.name, text: text, source: .environment(variable))
        }
        return config
    }

    // MARK: - The file

    /// The keys `yaml` sets, by their Gale names, each with its line.
    /// - Throws: invalid YAML, an unknown key, a key set twice (under its own name or an alias),
    ///   a value of the wrong type or out of range: one line naming `path`, the line and the key.
    public static func parse(yaml: String, path: String) throws(ConfigError) -> [String: Entry] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigError(describe(error, path: path))
        } catch {
            throw ConfigError("\(path): invalid YAML: \(error)")
        }
        guard let root else { return [:] }
        guard case .mapping(let mapping) = root else {
            let old = yaml.contains("nimbus=") ? " (a `nimbus=HOST:PORT` line is now `nimbus.seeds: [HOST:PORT]`)" : ""
            throw ConfigError("\(path):\(root.mark?.line ?? 1): expected `key: value` lines at the top level\(old)")
        }
        var items: [(name: String, line: Int, value: Node)] = []
        try flatten(mapping, prefix: "", path: path, into: &items)
        var result: [String: Entry] = [:]
        var setBy: [String: (name: String, line: Int)] = [:]
        for item in items {
            guard let canonical = GaleConfigSchema.canonicalNames[item.name],
                let key = GaleConfigSchema.byName[canonical]
            else {
                let hint = GaleConfigSchema.suggestion(for: item.name).map { " (did you mean '\($0)'?)" } ?? ""
                throw ConfigError("\(path):\(item.line): unknown key '\(item.name)'\(hint)")
            }
            if let earlier = setBy[canonical] {
                let alias = earlier.name == item.name ? "" : " as '\(earlier.name)'"
                throw ConfigError("\(path):\(item.line): '\(item.name)' is already set at line \(earlier.line)\(alias)")
            }
            setBy[canonical] = (item.name, item.line)
            switch convert(item.value, key.type) {
            case .success(let value):
                result[canonical] = Entry(value: value, source: .file(path: path, line: item.line))
            case .failure(let problem):
                throw ConfigError("\(path):\(item.line): \(item.name): \(problem.description)")
            }
        }
        return result
    }

    /// Nested mappings become dotted names (`nimbus: {port: 1}` is `nimbus.port: 1`).
    private static func flatten(
        _ mapping: Node.Mapping,
        prefix: String,
        path: String,
        into items: inout [(name: String, line: Int, value: Node)]
    ) throws(ConfigError) {
        for (keyNode, value) in mapping {
            let line = keyNode.mark?.line ?? value.mark?.line ?? 1
            guard case .scalar(let scalar) = keyNode, !scalar.string.isEmpty else {
                throw ConfigError("\(path):\(line): a key must be a name such as nimbus.port")
            }
            let name = prefix.isEmpty ? scalar.string : prefix + "." + scalar.string
            if case .mapping(let nested) = value, GaleConfigSchema.canonicalNames[name] == nil {
                try flatten(nested, prefix: name, path: path, into: &items)
            } else {
                items.append((name, line, value))
            }
        }
    }

    private static func describe(_ error: YamlError, path: String) -> String {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text))" } ?? ""
            return "\(path):\(mark.line): invalid YAML: \(problem)\(during)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "\(path):\(context.mark.line): '\(duplicates.first ?? "?")' is set here and again below"
        default:
            let first = String(describing: error).split(separator: "\n").first.map(String.init) ?? ""
            return "\(path): invalid YAML: \(first)"
        }
    }

    // MARK: - Values

    /// A YAML node as a value of `type`, range checked.
    static func convert(_ node: Node, _ type: ConfigType) -> Result<ConfigValue, ConfigError> {
        let tag = Tag.Name(rawValue: node.tag.rawValue)
        let value: ConfigValue?
        switch (type, node) {
        case (.text, .scalar(let scalar)), (.logLevel, .scalar(let scalar)):
            value = tag == .null ? nil : .text(scalar.string)
        case (.gidRange, .scalar(let scalar)):
            value = tag == .str ? .text(scalar.string) : nil
        case (.port, .scalar), (.count, .scalar):
            value = tag == .int ? node.int.map(ConfigValue.int) : nil
        case (.webhooks, _):
            switch WebhookSpec.parse(node) {
            case .success(let specs): value = .webhooks(specs)
            case .failure(let problem): return .failure(problem)
            }
        case (.seconds, .scalar):
            value =
                tag == .int || tag == .float ? (node.int.map { Double($0) } ?? node.float).map(ConfigValue.double) : nil
        case (.bool, .scalar):
            value = tag == .bool ? node.bool.map(ConfigValue.bool) : nil
        case (.ports, .sequence(let sequence)):
            let ports = sequence.map { Tag.Name(rawValue: $0.tag.rawValue) == .int ? $0.int : nil }
            value = ports.allSatisfy { $0 != nil } ? .ints(ports.compactMap { $0 }) : nil
        case (.servers, .sequence(let sequence)):
            let entries = sequence.map { element -> String? in
                guard case .scalar(let scalar) = element, Tag.Name(rawValue: element.tag.rawValue) != .null else {
                    return nil
                }
                return scalar.string
            }
            value = entries.allSatisfy { $0 != nil } ? .list(entries.compactMap { $0 }) : nil
        case (.environment, .mapping(let mapping)), (.tokens, .mapping(let mapping)):
            var variables: [String: String] = [:]
            for (name, value) in mapping {
                guard case .scalar(let n) = name, case .scalar(let v) = value else {
                    return .failure(ConfigError("expected \(type.expectation), got \(Self.describe(value))"))
                }
                variables[n.string] = Tag.Name(rawValue: value.tag.rawValue) == .null ? "" : v.string
            }
            value = .map(variables)
        case (.ports, .scalar(let scalar)) where tag == .str, (.servers, .scalar(let scalar)) where tag == .str:
            return convert(text: scalar.string, type)
        default:
            value = nil
        }
        guard let value else {
            return .failure(ConfigError("expected \(type.expectation), got \(Self.describe(node))"))
        }
        if let problem = check(value, type) { return .failure(ConfigError(problem)) }
        return .success(value)
    }

    /// Text from an environment variable or a flag (lists comma separated) as a value of `type`,
    /// range checked.
    static func convert(text: String, _ type: ConfigType) -> Result<ConfigValue, ConfigError> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let value: ConfigValue?
        switch type {
        case .text, .logLevel, .gidRange: value = .text(trimmed)
        case .port, .count: value = Int(trimmed).map(ConfigValue.int)
        case .webhooks: value = nil
        case .seconds: value = Double(trimmed).map(ConfigValue.double)
        case .bool: value = ["true": true, "false": false][trimmed.lowercased()].map(ConfigValue.bool)
        case .ports:
            let ports = parts.map { Int($0) }
            value = ports.allSatisfy { $0 != nil } ? .ints(ports.compactMap { $0 }) : nil
        case .servers: value = .list(parts)
        case .environment, .tokens:
            var variables: [String: String] = [:]
            for part in parts where !part.isEmpty {
                let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                variables[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
            }
            value = .map(variables)
        }
        guard let value else { return .failure(ConfigError("expected \(type.expectation), got '\(text)'")) }
        if let problem = check(value, type) { return .failure(ConfigError(problem)) }
        return .success(value)
    }

    /// What is wrong with `value` for `type`, if anything.
    static func check(_ value: ConfigValue, _ type: ConfigType) -> String? {
        switch (type, value) {
        case (.text, .text(let s)):
            return s.isEmpty ? "must not be empty" : nil
        case (.logLevel, .text(let s)):
            return GaleConfigSchema.logLevels.contains(s)
                ? nil : "'\(s)' is not a log level (\(GaleConfigSchema.logLevels.joined(separator: ", ")))"
        case (.port(let range), .int(let port)):
            return range.contains(port) ? nil : "\(port) is out of range \(range.lowerBound)...\(range.upperBound)"
        case (.ports, .ints(let ports)):
            if ports.isEmpty { return "must list at least one port" }
            if let bad = ports.first(where: { !(1...65_535).contains($0) }) {
                return "port \(bad) is out of range 1...65535"
            }
            if let twice = ports.first(where: { p in ports.filter { $0 == p }.count > 1 }) {
                return "lists port \(twice) twice"
            }
            return nil
        case (.seconds(let minimum, let exclusive), .double(let seconds)):
            let ok = seconds.isFinite && (exclusive ? seconds > minimum : seconds >= minimum)
            let bound =
                exclusive ? "more than \(ConfigValue.double(minimum))" : "at least \(ConfigValue.double(minimum))"
            return ok ? nil : "\(ConfigValue.double(seconds)) is out of range (must be \(bound) seconds)"
        case (.count(let range), .int(let n)):
            return range.contains(n) ? nil : "\(n) is out of range \(range.lowerBound)...\(range.upperBound)"
        case (.bool, .bool), (.webhooks, .webhooks):
            return nil
        case (.gidRange, .text(let s)):
            return Self.parseGidRange(s) == nil
                ? "'\(s)' is not a range FIRST-LAST of group ids (1 ≤ FIRST ≤ LAST ≤ 2147483647)" : nil
        case (.environment, .map(let variables)):
            if let bad = variables.keys.sorted().first(where: { $0.isEmpty || $0.contains("=") || $0.contains("\0") }) {
                return "'\(bad)' is not an environment variable name"
            }
            return nil
        case (.tokens, .map(let tokens)):
            for (name, text) in tokens.sorted(by: { $0.key < $1.key }) {
                if name.isEmpty || name.contains(where: { $0.isWhitespace || $0 == "=" }) {
                    return "'\(name)' is not a token name (no spaces)"
                }
                if case .failure(let error) = TokenEntry.parse(name: name, text) { return error.description }
            }
            return nil
        case (.servers, .list(let entries)):
            if entries.isEmpty { return "must list at least one HOST or HOST:PORT" }
            for entry in entries where !Self.isServer(entry) {
                return "invalid address '\(entry)': expected HOST or HOST:PORT (port 1...65535)"
            }
            return nil
        default:
            return "expected \(type.expectation), got \(value)"
        }
    }

    private static func isServer(_ entry: String) -> Bool {
        if entry.contains(":") { return Endpoint(entry) != nil }
        return !entry.isEmpty && !entry.contains(where: { $0.isWhitespace || $0 == "," })
    }

    private static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): Tag.Name(rawValue: node.tag.rawValue) == .null ? "no value" : "'\(scalar.string)'"
        case .sequence: "a list"
        case .mapping: "a mapping"
        case .alias: "an alias"
        }
    }

    // MARK: - Setting and reading

    /// Sets `name` from text (an environment variable or a flag).
    /// - Throws: the text is not a valid value: one line naming the source and the key.
    public mutating func set(_ name: String, text: String, source: ConfigSource) throws(ConfigError) {
        guard let key = GaleConfigSchema.byName[name] else { throw ConfigError("unknown key '\(name)'") }
        switch Self.convert(text: text, key.type) {
        case .success(let value): entries[name] = Entry(value: value, source: source)
        case .failure(let problem): throw ConfigError("\(Self.label(source)): \(name): \(problem.description)")
        }
    }

    /// Sets `name` to `value` (a flag's), when it is given.
    /// - Throws: the value is out of range: one line naming the source and the key.
    public mutating func set(_ name: String, _ value: ConfigValue?, source: ConfigSource) throws(ConfigError) {
        guard let value else { return }
        guard let key = GaleConfigSchema.byName[name] else { throw ConfigError("unknown key '\(name)'") }
        if let problem = Self.check(value, key.type) {
            throw ConfigError("\(Self.label(source)): \(name): \(problem)")
        }
        entries[name] = Entry(value: value, source: source)
    }

    static func label(_ source: ConfigSource) -> String {
        switch source {
        case .defaultValue: "default"
        case .file(let path, let line): "\(path):\(line)"
        case .environment(let name), .flag(let name): name
        }
    }

    public func value(_ name: String) -> ConfigValue? { entries[name]?.value }
    public func source(_ name: String) -> ConfigSource? { entries[name]?.source }

    public func text(_ name: String) -> String? {
        if case .text(let s) = value(name) { return s }
        return nil
    }

    public func int(_ name: String) -> Int? {
        if case .int(let i) = value(name) { return i }
        return nil
    }

    public func seconds(_ name: String) -> Double? {
        if case .double(let d) = value(name) { return d }
        return nil
    }

    public func bool(_ name: String) -> Bool? {
        if case .bool(let b) = value(name) { return b }
        return nil
    }

    public func ports(_ name: String) -> [Int]? {
        if case .ints(let ports) = value(name) { return ports }
        return nil
    }

    public func map(_ name: String) -> [String: String]? {
        if case .map(let map) = value(name) { return map }
        return nil
    }

    public func list(_ name: String) -> [String]? {
        if case .list(let list) = value(name) { return list }
        return nil
    }

    /// The error for a key that nothing sets: names its flag, environment variable and the file.
    public func missing(_ name: String) -> ConfigError {
        let key = GaleConfigSchema.byName[name]
        var ways: [String] = []
        if let flags = key?.flags { ways.append("pass \(flags.split(separator: ",")[0])") }
        if let variable = key?.environment { ways.append("set \(variable)") }
        ways.append("set \(name) in " + (file ?? "a configuration file (--config-file FILE)"))
        return ConfigError("no value for \(name): " + ways.joined(separator: ", "))
    }

    /// The ZooKeeper connect string: `zookeeper.servers`, each entry without a port given
    /// `zookeeper.port`.
    public func zookeeperConnectString() throws(ConfigError) -> String {
        guard let servers = list("zookeeper.servers") else { throw missing("zookeeper.servers") }
        let port = int("zookeeper.port") ?? 2181
        return servers.map { $0.contains(":") ? $0 : "\($0):\(port)" }.joined(separator: ",")
    }

    /// `nimbus.seeds` as addresses, each entry without a port given `nimbus.port`; empty when unset.
    public func nimbusSeeds() throws(ConfigError) -> [Endpoint] {
        guard let seeds = list("nimbus.seeds") else { return [] }
        let port = int("nimbus.port") ?? 8080
        var endpoints: [Endpoint] = []
        for seed in seeds {
            guard let endpoint = Endpoint(seed.contains(":") ? seed : "\(seed):\(port)") else {
                let origin = source("nimbus.seeds").map { Self.label($0) } ?? "nimbus.seeds"
                throw ConfigError("\(origin): nimbus.seeds: '\(seed)' has no port and nimbus.port is \(port)")
            }
            if !endpoints.contains(endpoint) { endpoints.append(endpoint) }
        }
        return endpoints
    }

    /// `nimbus.data.dir` or `supervisor.data.dir` (`daemon` is `nimbus` or `supervisor`), else
    /// `local.dir`/`daemon`; with where it came from.
    public func dataDirectory(_ daemon: String) -> (path: String, source: String)? {
        let name = daemon + ".data.dir"
        if let path = text(name), let source = source(name) { return (path, source.description) }
        if let base = text("local.dir"), let source = source("local.dir") {
            let trimmed = base.hasSuffix("/") && base.count > 1 ? String(base.dropLast()) : base
            return (trimmed + "/" + daemon, "local.dir, \(source)")
        }
        return nil
    }

    /// One row of `gale config show`.
    public struct Shown: Sendable, Encodable, Equatable {
        public var key: String
        public var value: ConfigValue?
        public var source: String
    }

    /// Every key with its effective value and source, in the schema's order.
    public func shown() -> [Shown] {
        GaleConfigSchema.keys.map { key in
            if let entry = entries[key.name] {
                return Shown(key: key.name, value: entry.value, source: entry.source.description)
            }
            if key.name.hasSuffix(".data.dir"), let (path, source) = dataDirectory(String(key.name.dropLast(9))) {
                return Shown(key: key.name, value: .text(path), source: source)
            }
            return Shown(key: key.name, value: nil, source: "unset (\(key.defaultText))")
        }
    }
}

extension ConfigType {
    /// What a value of this type looks like, for "expected ..." messages.
    var expectation: String {
        switch self {
        case .text: "a string"
        case .logLevel: "a log level (\(GaleConfigSchema.logLevels.joined(separator: ", ")))"
        case .port(let range): "a port number \(range.lowerBound)...\(range.upperBound)"
        case .ports: "a list of ports such as [6700, 6701]"
        case .seconds: "a number of seconds"
        case .bool: "true or false"
        case .servers: "a list of HOST or HOST:PORT"
        case .environment: "a mapping of environment variable names to values"
        case .tokens: "a mapping of token names to 'ROLE sha256:HEX'"
        case .gidRange: "a range of group ids such as 60600-61099"
        case .count(let range): "a whole number \(range.lowerBound)...\(range.upperBound)"
        case .webhooks: "a list of webhooks ({url or url.file, format})"
        }
    }
}
