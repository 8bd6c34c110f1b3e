import Gale
import Testing

/// One `key=value` that ``TopologyConfig/set(_:_:)`` must reject.
struct RejectedSetting: Sendable, CustomTestStringConvertible {
    let key: String
    let value: String
    let reason: String

    var testDescription: String { "\(key)=\(value)" }

    static let all: [RejectedSetting] = [
        RejectedSetting(key: "topology.max.spout.pending", value: "many", reason: "not an integer"),
        RejectedSetting(key: "topology.max.spout.pending", value: "0", reason: "must be positive"),
        RejectedSetting(key: "topology.max.spout.pending", value: "-5", reason: "must be positive"),
        RejectedSetting(key: "topology.message.timeout.secs", value: "soon", reason: "not a number"),
        RejectedSetting(key: "topology.message.timeout.secs", value: "-1", reason: "must be positive"),
        RejectedSetting(key: "topology.message.timeout.secs", value: "inf", reason: "must be positive"),
        RejectedSetting(key: "topology.acker.executors", value: "1.5", reason: "not an integer"),
        RejectedSetting(key: "topology.acker.executors", value: "-1", reason: "must not be negative"),
        RejectedSetting(key: "topology.workers", value: "0", reason: "must be positive"),
        RejectedSetting(key: "topology.executor.receive.buffer.size", value: "32", reason: "must be at least 64"),
        RejectedSetting(key: "topology.debug", value: "yes", reason: "not true or false"),
        RejectedSetting(key: "topology.no.such.setting", value: "1", reason: "unknown setting"),
    ]
}

@Suite struct TopologyConfigTests {
    @Test func defaultsMatchStorm() throws {
        let config = TopologyConfig()
        #expect(config.messageTimeoutSeconds == 30)
        #expect(config.maxSpoutPending == nil)
        #expect(config.ackers == 1)
        #expect(config.debug == false)
        #expect(config.workers == 1)
        #expect(config.executorQueueCapacity == 16_384)
        #expect(config.custom.isEmpty)
        try config.validate()
    }

    @Test(arguments: RejectedSetting.all)
    func setRejectsABadValueNamingKeyAndValue(_ setting: RejectedSetting) {
        var config = TopologyConfig()
        let error = #expect(throws: TopologyError.self) { try config.set(setting.key, setting.value) }
        guard case .invalidConfig(let key, _, let reason) = error else {
            Issue.record("unexpected error \(String(describing: error))")
            return
        }
        #expect(key == setting.key)
        #expect(reason == setting.reason)
        let description = error?.description ?? ""
        #expect(description.contains("[\(setting.key)]"))
    }

    @Test func unparsableValueIsQuotedVerbatimInTheError() {
        var config = TopologyConfig()
        #expect(
            throws: TopologyError.invalidConfig(key: "topology.workers", value: "two", reason: "not an integer")
        ) {
            try config.set("topology.workers", "two")
        }
    }

    @Test func setParsesEveryKnownKey() throws {
        var config = TopologyConfig()
        try config.set("topology.message.timeout.secs", "2.5")
        try config.set("topology.max.spout.pending", "100")
        try config.set("topology.acker.executors", "0")
        try config.set("topology.debug", "true")
        try config.set("topology.workers", "3")
        try config.set("topology.executor.receive.buffer.size", "1024")
        #expect(config.messageTimeoutSeconds == 2.5)
        #expect(config.maxSpoutPending == 100)
        #expect(config.ackers == 0)
        #expect(config.debug)
        #expect(config.workers == 3)
        #expect(config.executorQueueCapacity == 1024)
        try config.set("topology.max.spout.pending", "none")
        #expect(config.maxSpoutPending == nil)
        try config.set("topology.max.spout.pending", "7")
        try config.set("topology.max.spout.pending", "null")
        #expect(config.maxSpoutPending == nil)
    }

    @Test func everyAdvertisedKeyIsUnderstood() throws {
        let values = [
            "topology.message.timeout.secs": "1", "topology.max.spout.pending": "1",
            "topology.acker.executors": "1", "topology.debug": "false", "topology.workers": "1",
            "topology.executor.receive.buffer.size": "64",
        ]
        #expect(Set(TopologyConfig.knownKeys) == Set(values.keys))
        for key in TopologyConfig.knownKeys {
            var config = TopologyConfig()
            try config.set(key, try #require(values[key]))
        }
    }

    @Test func keysOutsideTheTopologyNamespaceBecomeCustomSettings() throws {
        var config = TopologyConfig()
        try config.set("wordcount.min.length", "3")
        try config.set("topologyish", "x")
        #expect(config.custom == ["wordcount.min.length": "3", "topologyish": "x"])
    }

    @Test func validateRejectsANonPositiveMaxSpoutPending() {
        var config = TopologyConfig()
        config.maxSpoutPending = 0
        #expect(
            throws: TopologyError.invalidConfig(
                key: "topology.max.spout.pending",
                value: "0",
                reason: "must be positive"
            )
        ) {
            try config.validate()
        }
    }

    @Test func validateRejectsANanMessageTimeout() {
        var config = TopologyConfig()
        config.messageTimeoutSeconds = .nan
        #expect(throws: TopologyError.self) { try config.validate() }
    }

    @Test func aRejectedValueLeavesTheConfigurationUnchanged() {
        var config = TopologyConfig()
        #expect(throws: TopologyError.self) { try config.set("topology.workers", "0") }
        #expect(config.workers == 1, "the rejected value was kept")
        // A later, valid setting must not fail because of the earlier rejected one.
        #expect(throws: Never.self) { try config.set("wordcount.min.length", "3") }
    }
}
