import GaleCoordination
import Logging
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
}
