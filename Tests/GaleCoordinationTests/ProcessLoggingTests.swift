import GaleCoordination
import Logging
import Synchronization
import Testing

@Suite(.serialized) struct ProcessLoggingTests {
    @Test func loggersCreatedAfterSettingTheLevelLogAtIt() {
        ProcessLogging.setLevel(.error)
        #expect(ProcessLogging.currentLevel == .error)
        #expect(Logger(label: "gale.test.a").logLevel == .error)
        ProcessLogging.setLevel(.debug)
        #expect(Logger(label: "gale.test.b").logLevel == .debug)
        // Back to swift-log's default level for the rest of the test process.
        ProcessLogging.setLevel(.info)
        #expect(Logger(label: "gale.test.c").logLevel == .info)
    }

    @Test func overridesChangeLoggersThatAlreadyExistAndGiveThemTheirLevelBack() {
        ProcessLogging.setLevel(.info)
        var own = Logger(label: "gale.test.own")
        own.logLevel = .warning
        let split = Logger(label: "split")
        let splitChild = Logger(label: "split.parser")
        let other = Logger(label: "splitter")
        defer { ProcessLogging.setOverrides(LogLevelOverrides()) }

        ProcessLogging.setOverrides(LogLevelOverrides(all: .debug))
        #expect(own.logLevel == .debug)
        #expect(split.logLevel == .debug)

        ProcessLogging.setOverrides(LogLevelOverrides(components: ["split": .trace]))
        #expect(split.logLevel == .trace)
        #expect(splitChild.logLevel == .trace)
        #expect(other.logLevel == .info, "a label that only starts with the component's id is another logger")
        #expect(own.logLevel == .warning)

        ProcessLogging.setOverrides(LogLevelOverrides())
        #expect(own.logLevel == .warning)
        #expect(split.logLevel == .info)
    }

    @Test func aComponentsOverrideReachesEveryLoggerItsCodeUses() {
        ProcessLogging.setLevel(.info)
        let running = Mutex<String?>(nil)
        ProcessLogging.setComponentLookup { running.withLock { $0 } }
        defer {
            ProcessLogging.setComponentLookup(nil)
            ProcessLogging.setOverrides(LogLevelOverrides())
        }
        let client = Logger(label: "gale.kafka.spout")
        ProcessLogging.setOverrides(LogLevelOverrides(all: .warning, components: ["reader": .debug]))
        #expect(client.logLevel == .warning)
        running.withLock { $0 = "reader" }
        #expect(client.logLevel == .debug)
        running.withLock { $0 = "writer" }
        #expect(client.logLevel == .warning)
    }

    @Test func theLevelOfALogCallFollowsComponentThenLabelThenEveryLogger() {
        let overrides = LogLevelOverrides(all: .error, components: ["a": .debug, "b": .trace])
        #expect(overrides.level(label: "x", runningComponent: "a", base: .info) == .debug)
        #expect(overrides.level(label: "b.y", runningComponent: "a", base: .info) == .debug)
        #expect(overrides.level(label: "b.y", runningComponent: nil, base: .info) == .trace)
        #expect(overrides.level(label: "b", runningComponent: "c", base: .info) == .trace)
        #expect(overrides.level(label: "x", runningComponent: "c", base: .info) == .error)
        #expect(LogLevelOverrides().level(label: "x", runningComponent: "a", base: .notice) == .notice)
    }
}
