import Logging
import Testing

@testable import GaleZooKeeper

@Suite struct ZooKeeperCLogTests {
    @Test(arguments: [
        (
            "2026-12-07 00:01:02,345:4242(0x7f00):ZOO_ERROR@check_events@2456: Socket [127.0.0.1:2181] zk retcode=-4\n",
            Logger.Level.error, "check_events@2456: Socket [127.0.0.1:2181] zk retcode=-4"
        ),
        (
            "x:ZOO_WARN@zookeeper_interest@1234: Exceeded deadline by 13ms", .warning,
            "zookeeper_interest@1234: Exceeded deadline by 13ms"
        ),
        (
            "x:ZOO_INFO@log_env@1250: Client environment:zookeeper.version", .debug,
            "log_env@1250: Client environment:zookeeper.version"
        ),
        ("x:ZOO_DEBUG@zoo_awget@3000: Sending request", .trace, "zoo_awget@3000: Sending request"),
        ("a line without a level tag", .warning, "a line without a level tag"),
    ])
    func aCLibraryLineKeepsItsLevelAndLosesItsTimestamp(line: String, level: Logger.Level, text: String) {
        let parsed = ZooKeeperCLog.parse(line)
        #expect(parsed.level == level)
        #expect(parsed.text == text[...])
    }

    @Test func theCLibrarysThresholdFollowsTheProcessLevel() {
        // ZooLogLevel: ERROR 1, WARN 2, INFO 3, DEBUG 4.
        #expect(ZooKeeperCLog.cLevel(for: .trace) == 4)
        #expect(ZooKeeperCLog.cLevel(for: .debug) == 3)
        #expect(ZooKeeperCLog.cLevel(for: .info) == 2)
        #expect(ZooKeeperCLog.cLevel(for: .critical) == 1)
    }
}
