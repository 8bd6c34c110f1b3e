import Foundation
import GaleCoordination
import Testing

/// Digest credentials: parsing `USER:PASSWORD`, the identity ZooKeeper records, the private file.
@Suite struct ZooKeeperAuthTests {
    static func file(_ text: String, mode: mode_t = 0o600) throws -> String {
        let path = NSTemporaryDirectory() + "gale-zk-auth-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    @Test func credentialsSplitAtTheFirstColon() {
        #expect(ZooKeeperAuth(parsing: "gale:pw") == ZooKeeperAuth(user: "gale", password: "pw"))
        #expect(ZooKeeperAuth(parsing: "gale:p:w") == ZooKeeperAuth(user: "gale", password: "p:w"))
        for bad in ["gale", "gale:", ":pw", "ga le:pw", "gale:pw\nother:pw", ""] {
            #expect(ZooKeeperAuth(parsing: bad) == nil, "'\(bad)' parsed")
        }
    }

    /// The identity `zkCli.sh` shows for `addauth digest gale:pw` followed by
    /// `setAcl /gale auth::cdrwa`.
    @Test func theDigestIdIsZooKeepersOwn() {
        let auth = ZooKeeperAuth(user: "gale", password: "pw")
        #expect(auth.digestId == "gale:B+MyJXintAFizqPVwo9gek1cnAo=")
        #expect(auth.acl == [ZooKeeperACL(scheme: "digest", id: auth.digestId, permissions: .all)])
        #expect(auth.acl[0].description == "digest:gale:B+MyJXintAFizqPVwo9gek1cnAo=:cdrwa")
    }

    @Test func applyingCredentialsSetsTheClientsDigest() {
        var config = ZooKeeperConfig(connectString: "127.0.0.1:2181")
        ZooKeeperAuth(user: "gale", password: "pw").apply(to: &config)
        #expect(config.digest?.user == "gale" && config.digest?.password == "pw")
    }

    @Test func theFileMustBePrivateAndHoldUserAndPassword() throws {
        #expect(
            try ZooKeeperAuth.read(file: try Self.file("gale:s3cret\n"))
                == ZooKeeperAuth(user: "gale", password: "s3cret")
        )
        #expect(try ZooKeeperAuth.read(file: try Self.file("gale:s3cret", mode: 0o440)).user == "gale")
        for (text, mode, problem) in [
            ("gale:s3cret", 0o644, "readable by other users"), ("gale:s3cret", 0o604, "readable by other users"),
            ("s3cret", 0o600, "does not hold USER:PASSWORD"), ("\n", 0o600, "is empty"),
        ] as [(String, mode_t, String)] {
            let path = try Self.file(text, mode: mode)
            do throws(PrivateFileError) {
                _ = try ZooKeeperAuth.read(file: path)
                Issue.record("\(text) with mode \(String(mode, radix: 8)) was accepted")
            } catch {
                #expect(error.description.contains(path) && error.description.contains(problem), "\(error)")
            }
        }
        #expect(throws: PrivateFileError.self) { try ZooKeeperAuth.read(file: "/nonexistent/gale-zk-auth") }
    }
}
