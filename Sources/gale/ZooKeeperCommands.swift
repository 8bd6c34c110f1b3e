import ArgumentParser
import Foundation
import GaleCoordination
import GaleDaemons
import Logging

/// `gale zookeeper`: what Gale keeps in ZooKeeper.
struct ZooKeeperCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zookeeper",
        abstract: "Manage the nodes Gale keeps in ZooKeeper.",
        subcommands: [SetACLs.self]
    )

    /// `gale zookeeper set-acls`: the migration of a tree made without ACLs.
    struct SetACLs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-acls",
            abstract: "Protect every node under /gale with the credentials of zookeeper.auth.file.",
            discussion: """
                Gives /gale and every node below it (ephemeral and sequential ones included) the ACL nimbus and \
                supervisors create their nodes with once zookeeper.auth.file is set: every permission for its \
                digest credentials, none for anyone else. Nodes that have it already are left as they are, so \
                running it again changes nothing. Prints how many nodes it changed. docs/security.md tells the \
                steps of turning ACLs on in a running cluster.
                """
        )

        @OptionGroup var file: ConfigFileOption

        @Option(help: "ZooKeeper connect string HOST:PORT[,HOST:PORT...] (zookeeper.servers).")
        var zookeeper: String?

        func validate() throws {
            if let zookeeper {
                for part in zookeeper.split(separator: ",") where Endpoint(String(part)) == nil {
                    throw ValidationError("invalid --zookeeper '\(zookeeper)': expected HOST:PORT[,HOST:PORT...]")
                }
            }
        }

        func run() throws {
            var config = try file.load(flagged: zookeeper == nil ? [] : ["zookeeper.servers"])
            let servers: String
            let auth: ZooKeeperAuth
            do {
                if let zookeeper { try config.set("zookeeper.servers", text: zookeeper, source: .flag("--zookeeper")) }
                servers = try config.zookeeperConnectString()
                guard let configured = try config.zookeeperAuth() else {
                    throw ConfigError(
                        "zookeeper.auth.file is not set: name the file of the credentials to protect the nodes with "
                            + "(set zookeeper.auth.file in \(config.file ?? "a configuration file (--config-file FILE)") "
                            + "or GALE_ZOOKEEPER_AUTH_FILE)"
                    )
                }
                auth = configured
            } catch {
                throw CLIError("\(error)")
            }
            var zkConfig = ZooKeeperConfig(connectString: servers, connectTimeout: .seconds(10))
            auth.apply(to: &zkConfig)
            let result: ZooKeeperProtectResult
            do throws(ZooKeeperError) {
                let zk = try ZooKeeperClient(zkConfig, logger: Logger(label: "gale.zookeeper"))
                defer { zk.close() }
                result = try zk.protect(ClusterPaths.root, with: auth)
            } catch .noAuth(let path) {
                throw CLIError(
                    "cannot protect \(path): its ACL does not let digest user '\(auth.user)' read it or change its ACL "
                        + "(it was protected with other credentials)"
                )
            } catch {
                throw CLIError("\(error)")
            }
            if result.nodes == 0 {
                print("no \(ClusterPaths.root) in ZooKeeper at \(servers): nothing to protect")
            } else {
                print(
                    "changed the ACL of \(result.changed) of \(result.nodes) nodes under \(ClusterPaths.root): every "
                        + "permission for digest user '\(auth.user)', none for anyone else"
                )
            }
        }
    }
}
