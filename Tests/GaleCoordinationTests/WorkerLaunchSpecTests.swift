import Foundation
import GaleCoordination
import Testing

@Suite struct WorkerLaunchSpecTests {
    /// A spec as supervisors wrote it before `zookeeper` (and `supervisorPortFile`) existed.
    static let oldJSON = """
        {"active":true,"configOverrides":{"test.rate":"5"},"endpoint":{"host":"127.0.0.1","port":6701},\
        "epoch":3,"orphanTimeoutSeconds":20,"parallelism":{"split":2},\
        "supervisor":{"host":"127.0.0.1","port":7000},\
        "taskEndpoints":{"1":{"host":"127.0.0.1","port":6701},"2":{"host":"127.0.0.2","port":6702}},\
        "topologyId":"words-1","topologyName":"words","v":1,"workerId":"words-1-6701"}
        """

    static func spec(zookeeper: String?, overrides: [String: String] = [:]) -> WorkerLaunchSpec {
        WorkerLaunchSpec(
            workerId: "words-1-6701",
            topologyId: "words-1",
            topologyName: "words",
            epoch: 3,
            endpoint: Endpoint(host: "127.0.0.1", port: 6701),
            taskEndpoints: [1: Endpoint(host: "127.0.0.1", port: 6701)],
            configOverrides: overrides,
            parallelism: [:],
            active: true,
            supervisor: Endpoint(host: "127.0.0.1", port: 7000),
            orphanTimeoutSeconds: 20,
            zookeeper: zookeeper
        )
    }

    @Test func specWithoutTheZooKeeperFieldStillDecodes() throws {
        let spec = try ClusterJSON.decode(WorkerLaunchSpec.self, from: Array(Self.oldJSON.utf8))
        #expect(spec.zookeeper == nil)
        #expect(spec.supervisorPortFile == nil)
        #expect(spec.topologyId == "words-1")
        #expect(spec.configOverrides == ["test.rate": "5"])
        #expect(spec.taskEndpoints[2] == Endpoint(host: "127.0.0.2", port: 6702))
    }

    @Test(arguments: ["127.0.0.1:2181", "zk1:2181,zk2:2181,zk3:2181"])
    func zooKeeperFieldSurvivesEncodeAndDecode(servers: String) throws {
        let spec = Self.spec(zookeeper: servers)
        let bytes = try ClusterJSON.encode(spec)
        #expect(String(decoding: bytes, as: UTF8.self).contains("\"zookeeper\":\"\(servers)\""))
        #expect(try ClusterJSON.decode(WorkerLaunchSpec.self, from: bytes) == spec)
    }

    @Test func specWithoutZooKeeperEncodesNoKeyAndRoundTrips() throws {
        let spec = Self.spec(zookeeper: nil)
        let bytes = try ClusterJSON.encode(spec)
        #expect(!String(decoding: bytes, as: UTF8.self).contains("zookeeper"))
        #expect(try ClusterJSON.decode(WorkerLaunchSpec.self, from: bytes) == spec)
    }

    @Test func topologySettingsAddTheServersAndTheTopologyId() {
        let settings = Self.spec(zookeeper: "127.0.0.1:2181", overrides: ["test.rate": "5"]).topologySettings
        #expect(
            settings == [
                "test.rate": "5", ClusterSettings.zooKeeperServers: "127.0.0.1:2181",
                ClusterSettings.topologyId: "words-1",
            ]
        )
    }

    @Test func topologySettingsWithoutServersHaveOnlyTheTopologyId() {
        #expect(Self.spec(zookeeper: nil).topologySettings == [ClusterSettings.topologyId: "words-1"])
        #expect(Self.spec(zookeeper: "").topologySettings == [ClusterSettings.topologyId: "words-1"])
    }

    @Test func theCredentialsFileGoesWithTheSupervisorsServersAndIsOnlyAPath() throws {
        var spec = Self.spec(zookeeper: "127.0.0.1:2181")
        spec.zookeeperAuthFile = "/etc/gale/zookeeper-auth"
        #expect(spec.topologySettings[ClusterSettings.zooKeeperAuthFile] == "/etc/gale/zookeeper-auth")
        let bytes = try ClusterJSON.encode(spec)
        #expect(String(decoding: bytes, as: UTF8.self).contains("\"zookeeperAuthFile\":"))
        #expect(try ClusterJSON.decode(WorkerLaunchSpec.self, from: bytes) == spec)
        #expect(!String(decoding: try ClusterJSON.encode(Self.spec(zookeeper: "z:1")), as: UTF8.self).contains("Auth"))

        // Servers the submission names are not the supervisor's: its credentials stay out.
        var other = Self.spec(zookeeper: "127.0.0.1:2181", overrides: [ClusterSettings.zooKeeperServers: "other:2181"])
        other.zookeeperAuthFile = "/etc/gale/zookeeper-auth"
        #expect(other.topologySettings[ClusterSettings.zooKeeperAuthFile] == nil)
    }

    @Test func submittedServersWinButTheTopologyIdIsTheSpecs() {
        let spec = Self.spec(
            zookeeper: "127.0.0.1:2181",
            overrides: [ClusterSettings.zooKeeperServers: "other:2181", ClusterSettings.topologyId: "forged"]
        )
        #expect(spec.topologySettings[ClusterSettings.zooKeeperServers] == "other:2181")
        #expect(spec.topologySettings[ClusterSettings.topologyId] == "words-1")
    }
}
