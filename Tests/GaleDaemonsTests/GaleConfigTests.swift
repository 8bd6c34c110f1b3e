import Foundation
import GaleCoordination
import GaleDaemons
import Testing

/// `gale.yaml`: parsing, validation, Storm aliases, precedence, and the docs that list its keys.
@Suite struct GaleConfigTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The error `yaml` gives, or nil.
    static func error(_ yaml: String, path: String = "/etc/gale/gale.yaml") -> String? {
        do {
            _ = try GaleConfig.parse(yaml: yaml, path: path)
            return nil
        } catch {
            return error.description
        }
    }

    /// A temporary file holding `text`.
    static func file(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "gale-config-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func anUnknownKeyIsNamedWithItsFileAndLineAndTheKeyItProbablyMeant() {
        let yaml = """
            # cluster
            zookeeper.servers: [zk1]

            nimbus.prot: 8080
            """
        #expect(
            Self.error(yaml) == "/etc/gale/gale.yaml:4: unknown key 'nimbus.prot' (did you mean 'nimbus.port'?)"
        )
        #expect(Self.error("ui.port: 8080") == "/etc/gale/gale.yaml:1: unknown key 'ui.port'")
    }

    @Test func aValueOfTheWrongTypeIsNamedWithItsLineAndKey() {
        #expect(
            Self.error("nimbus.host: a\nnimbus.port: eighty")
                == "/etc/gale/gale.yaml:2: nimbus.port: expected a port number 0...65535, got 'eighty'"
        )
        #expect(
            Self.error("nimbus.port: \"8080\"")
                == "/etc/gale/gale.yaml:1: nimbus.port: expected a port number 0...65535, got '8080'"
        )
        #expect(
            Self.error("supervisor.slots.ports: [6700, x]")
                == "/etc/gale/gale.yaml:1: supervisor.slots.ports: expected a list of ports such as [6700, 6701], got a list"
        )
        #expect(
            Self.error("supervisor.keep.workers: maybe")
                == "/etc/gale/gale.yaml:1: supervisor.keep.workers: expected true or false, got 'maybe'"
        )
        #expect(Self.error("nimbus.host:")?.hasPrefix("/etc/gale/gale.yaml:1: nimbus.host: expected a string") == true)
        #expect(Self.error("log.level: loud")?.hasPrefix("/etc/gale/gale.yaml:1: log.level: 'loud' is not") == true)
    }

    @Test func aValueOutOfRangeIsNamedWithItsLineAndKey() {
        #expect(
            Self.error("nimbus.port: 70000") == "/etc/gale/gale.yaml:1: nimbus.port: 70000 is out of range 0...65535"
        )
        #expect(
            Self.error("supervisor.slots.ports:\n  - 6700\n  - 0")
                == "/etc/gale/gale.yaml:1: supervisor.slots.ports: port 0 is out of range 1...65535"
        )
        #expect(
            Self.error("supervisor.slots.ports: [6700, 6700]")
                == "/etc/gale/gale.yaml:1: supervisor.slots.ports: lists port 6700 twice"
        )
        #expect(
            Self.error("zookeeper.session.timeout.secs: 0.5")
                == "/etc/gale/gale.yaml:1: zookeeper.session.timeout.secs: 0.5 is out of range (must be at least 1 seconds)"
        )
        #expect(
            Self.error("zookeeper.servers: [\"zk1:99999\"]")
                == "/etc/gale/gale.yaml:1: zookeeper.servers: invalid address 'zk1:99999': expected HOST or HOST:PORT (port 1...65535)"
        )
    }

    @Test func invalidYAMLAndKeysSetTwiceAreNamedWithTheirLine() {
        #expect(Self.error("nimbus.port: 1\nnimbus.host: [a") != nil)
        #expect(Self.error("nimbus.port: 1\nnimbus.host: [a")?.hasPrefix("/etc/gale/gale.yaml:") == true)
        #expect(Self.error("just text") == "/etc/gale/gale.yaml:1: expected `key: value` lines at the top level")
        #expect(
            Self.error("storm.local.dir: /a\nlocal.dir: /b")
                == "/etc/gale/gale.yaml:2: 'local.dir' is already set at line 1 as 'storm.local.dir'"
        )
        #expect(
            Self.error("zookeeper.servers: [a]\nstorm.zookeeper.servers: [b]")
                == "/etc/gale/gale.yaml:2: 'storm.zookeeper.servers' is already set at line 1 as 'zookeeper.servers'"
        )
        #expect(
            Self.error("nimbus.port: 1\nnimbus.port: 2")
                == "/etc/gale/gale.yaml:1: 'nimbus.port' is set here and again below"
        )
        #expect(
            Self.error("nimbus=127.0.0.1:8080")
                == "/etc/gale/gale.yaml:1: expected `key: value` lines at the top level (a `nimbus=HOST:PORT` line is "
                + "now `nimbus.seeds: [HOST:PORT]`)"
        )
        #expect(Self.error("") == nil)
        #expect(Self.error("# only a comment\n") == nil)
    }

    @Test func stormNamesAreAliasesOfGaleKeys() throws {
        let path = try Self.file(
            """
            storm.zookeeper.servers:
              - "zk1"
              - "zk2:2191"
            storm.zookeeper.port: 2182
            storm.local.dir: /var/gale
            nimbus.seeds: [n1, "n2:9000"]
            nimbus.port: 8081
            nimbus.task.timeout.secs: 45
            supervisor.slots.ports: [6800, 6801]
            """
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try GaleConfig.load(file: path, environment: [:])
        #expect(try config.zookeeperConnectString() == "zk1:2182,zk2:2191")
        #expect(try config.nimbusSeeds() == [Endpoint(host: "n1", port: 8081), Endpoint(host: "n2", port: 9000)])
        #expect(config.dataDirectory("nimbus")?.path == "/var/gale/nimbus")
        #expect(config.dataDirectory("supervisor")?.path == "/var/gale/supervisor")
        #expect(config.seconds("nimbus.worker.timeout.secs") == 45)
        #expect(config.source("nimbus.worker.timeout.secs") == .file(path: path, line: 8))
        #expect(config.ports("supervisor.slots.ports") == [6800, 6801])
        #expect(config.file == path)
    }

    @Test func workerEnvironmentIsAMappingOfNamesToValues() throws {
        let entries = try GaleConfig.parse(
            yaml: "supervisor.worker.env:\n  MALLOC_ARENA_MAX: 2\n  MODE: fast\n",
            path: "f"
        )
        #expect(entries["supervisor.worker.env"]?.value == .map(["MALLOC_ARENA_MAX": "2", "MODE": "fast"]))
        #expect(
            Self.error("supervisor.worker.env: [A]", path: "f")
                == "f:1: supervisor.worker.env: expected a mapping of environment variable names to values, got a list"
        )
        #expect(GaleConfig().map("supervisor.worker.env") == [:])
    }

    @Test func nestedMappingsAreDottedKeys() throws {
        let entries = try GaleConfig.parse(yaml: "nimbus:\n  port: 9001\n  data.dir: /d\n", path: "f")
        #expect(entries["nimbus.port"]?.value == .int(9001))
        #expect(entries["nimbus.port"]?.source == .file(path: "f", line: 2))
        #expect(entries["nimbus.data.dir"]?.value == .text("/d"))
        #expect(
            Self.error("nimbus:\n  prot: 1", path: "f")
                == "f:2: unknown key 'nimbus.prot' (did you mean 'nimbus.port'?)"
        )
    }

    @Test func flagsOverrideEnvironmentVariablesWhichOverrideTheFileWhichOverridesDefaults() throws {
        let path = try Self.file("zookeeper.servers: [\"zk1:2181\"]\nlog.level: debug\nnimbus.port: 9000\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var config = try GaleConfig.load(
            file: path,
            environment: ["GALE_ZOOKEEPER": "zk2:2181,zk3:2181", "GALE_NIMBUS": "h:1"]
        )
        #expect(try config.zookeeperConnectString() == "zk2:2181,zk3:2181")
        #expect(config.source("zookeeper.servers") == .environment("GALE_ZOOKEEPER"))
        #expect(config.text("log.level") == "debug")
        #expect(config.source("log.level") == .file(path: path, line: 2))
        #expect(config.seconds("client.timeout.secs") == 30)
        #expect(config.source("client.timeout.secs") == .defaultValue)
        try config.set("nimbus.port", .int(9100), source: .flag("--port"))
        #expect(config.int("nimbus.port") == 9100)
        #expect(config.source("nimbus.port") == .flag("--port"))
        try config.set("zookeeper.servers", text: "zk4:1", source: .flag("--zookeeper"))
        #expect(try config.zookeeperConnectString() == "zk4:1")
        // A flag out of range, and an environment variable of the wrong type, name their source.
        #expect(throws: ConfigError("--port: nimbus.port: 65536 is out of range 0...65535")) {
            try config.set("nimbus.port", .int(65_536), source: .flag("--port"))
        }
        #expect(
            throws: ConfigError(
                "GALE_ZOOKEEPER: zookeeper.servers: invalid address 'zk:x': expected HOST or HOST:PORT (port 1...65535)"
            )
        ) {
            try GaleConfig.load(file: path, environment: ["GALE_ZOOKEEPER": "zk:x"])
        }
        // ...unless a flag sets that key.
        let flagged = try GaleConfig.load(
            file: path,
            environment: ["GALE_ZOOKEEPER": "zk:x"],
            flagged: ["zookeeper.servers"]
        )
        #expect(flagged.source("zookeeper.servers") == .file(path: path, line: 1))
    }

    @Test func theFileIsNamedByTheFlagElseGaleConfigElseTheDefaultLocations() throws {
        #expect(GaleConfig.locate(explicit: "/a.yaml", environment: ["GALE_CONFIG": "/b.yaml"])?.path == "/a.yaml")
        #expect(GaleConfig.locate(explicit: nil, environment: ["GALE_CONFIG": "/b.yaml"])?.namedBy == "GALE_CONFIG")
        let home = GaleConfig.locate(explicit: nil, environment: ["HOME": "/home/u"]) { $0.hasPrefix("/home") }
        #expect(home?.path == "/home/u/.gale/gale.yaml" && home?.namedBy == nil)
        let system = GaleConfig.locate(explicit: nil, environment: ["HOME": "/home/u"]) { _ in true }
        #expect(system?.path == "/etc/gale/gale.yaml")
        #expect(GaleConfig.locate(explicit: nil, environment: ["HOME": "/home/u"]) { _ in false } == nil)
        // A file named explicitly must exist.
        #expect(throws: ConfigError("/nonexistent/gale.yaml: no such configuration file (named by GALE_CONFIG)")) {
            try GaleConfig.load(file: nil, environment: ["GALE_CONFIG": "/nonexistent/gale.yaml"])
        }
    }

    @Test func aRequiredValueMissingEverywhereNamesTheFlagTheVariableAndTheKey() {
        let config = GaleConfig()
        #expect(
            throws: ConfigError(
                "no value for zookeeper.servers: pass --zookeeper, set GALE_ZOOKEEPER, set zookeeper.servers in a "
                    + "configuration file (--config-file FILE)"
            )
        ) {
            try config.zookeeperConnectString()
        }
        #expect(config.dataDirectory("nimbus") == nil)
        #expect(config.shown().first { $0.key == "nimbus.data.dir" }?.source == "unset (LOCAL_DIR/nimbus)")
    }

    @Test func docsConfigurationListsEveryKeyWithItsDefault() throws {
        let docs = try String(
            contentsOf: Self.repositoryRoot.appendingPathComponent("docs/configuration.md"),
            encoding: .utf8
        )
        let table = GaleConfigSchema.markdownTable()
        #expect(docs.contains(table), "docs/configuration.md must hold this table as written:\n\(table)")
    }

    @Test func theSampleConfigurationFileIsValid() throws {
        let path = Self.repositoryRoot.appendingPathComponent("deploy/config/gale.yaml").path
        let config = try GaleConfig.load(file: path, environment: [:])
        #expect(config.list("zookeeper.servers") != nil)
        #expect(config.dataDirectory("nimbus") != nil && config.dataDirectory("supervisor") != nil)
        #expect(try !config.nimbusSeeds().isEmpty)
    }
}
