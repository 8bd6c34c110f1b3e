import Foundation
import GaleDaemons
import GaleTestSupport
import Testing

/// The supervisor's handling of its workers' files and processes: directories and files with
/// the topology's group, removal that follows no link, and the spawn that switches user.
@Suite struct WorkerFilesTests {
    static let isRoot = geteuid() == 0

    /// A new empty directory, removed by the caller.
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "gale-worker-files-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, 0o755)
        return path
    }

    static func info(_ path: String) -> FileInfo { FileInfo(path) }

    @Test func directoriesAndFilesGetTheirGroupAndModeAndAreCorrectedWhenTheyDiffer() throws {
        let root = try Self.directory()
        defer { _ = WorkerFiles.removeTree(root) }
        let group: gid_t? = Self.isRoot ? 60_999 : nil
        let dir = root + "/topology"
        try WorkerFiles.ensureDirectory(dir, group: group, mode: 0o750)
        #expect(Self.info(dir).mode == 0o750)
        chmod(dir, 0o777)
        try WorkerFiles.ensureDirectory(dir, group: group, mode: 0o750)
        #expect(Self.info(dir).mode == 0o750)
        if let group { #expect(Self.info(dir).gid == group) }

        let file = dir + "/spec.json"
        try WorkerFiles.write(Array("one".utf8), to: file, group: group, mode: 0o640)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "one")
        #expect(Self.info(file).mode == 0o640)
        if let group { #expect(Self.info(file).gid == group) }
        let inode = Self.info(file).inode
        // The same content, group and mode: left alone.
        try WorkerFiles.write(Array("one".utf8), to: file, group: group, mode: 0o640)
        #expect(Self.info(file).inode == inode)
        // Another mode or content: replaced.
        try WorkerFiles.write(Array("one".utf8), to: file, group: group, mode: 0o600)
        #expect(Self.info(file).mode == 0o600)
        try WorkerFiles.write(Array("two".utf8), to: file, group: group, mode: 0o600)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "two")
        // A link where a file is to be written is replaced, not followed.
        let outside = root + "/outside"
        try "keep".write(toFile: outside, atomically: true, encoding: .utf8)
        unlink(file)
        symlink(outside, file)
        try WorkerFiles.write(Array("three".utf8), to: file, group: group, mode: 0o600)
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "keep")
        #expect(Self.info(file).type == .typeRegular)
        // A directory where a link to one is: refused.
        symlink(root, dir + "/linked")
        do {
            try WorkerFiles.ensureDirectory(dir + "/linked", group: group, mode: 0o750)
            Issue.record("a link counted as a directory")
        } catch {
            #expect(error.description == "\(dir)/linked is not a directory")
        }
    }

    @Test func aLinkToTheBinaryIsTheSameFileAndIsReplacedWhenTheBinaryChanges() throws {
        let root = try Self.directory()
        defer { _ = WorkerFiles.removeTree(root) }
        #expect(try WorkerFiles.link(root + "/missing", at: root + "/binary") == false)
        try "a".write(toFile: root + "/a", atomically: true, encoding: .utf8)
        try "b".write(toFile: root + "/b", atomically: true, encoding: .utf8)
        #expect(try WorkerFiles.link(root + "/a", at: root + "/binary"))
        #expect(Self.info(root + "/binary").inode == Self.info(root + "/a").inode)
        #expect(try WorkerFiles.link(root + "/a", at: root + "/binary"))
        #expect(try WorkerFiles.link(root + "/b", at: root + "/binary"))
        #expect(try String(contentsOfFile: root + "/binary", encoding: .utf8) == "b")
    }

    @Test func removingATreeFollowsNoLinkAndGivesUpBelowItsDepthLimit() throws {
        let root = try Self.directory()
        defer { _ = WorkerFiles.removeTree(root) }
        let outside = root + "/outside"
        try FileManager.default.createDirectory(atPath: outside + "/deep", withIntermediateDirectories: true)
        try "keep".write(toFile: outside + "/deep/file", atomically: true, encoding: .utf8)
        let tree = root + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/a/b/c", withIntermediateDirectories: true)
        for (i, dir) in ["", "/a", "/a/b", "/a/b/c"].enumerated() {
            try "x".write(toFile: "\(tree)\(dir)/file\(i)", atomically: true, encoding: .utf8)
        }
        symlink(outside, tree + "/a/link")
        symlink(outside + "/deep/file", tree + "/a/b/file-link")
        #expect(WorkerFiles.removeTree(tree) == nil)
        #expect(!FileManager.default.fileExists(atPath: tree))
        #expect(try String(contentsOfFile: outside + "/deep/file", encoding: .utf8) == "keep")
        #expect(WorkerFiles.removeTree(tree) == nil, "a missing tree is removed already")

        var deep = root + "/deep"
        for _ in 0..<70 { deep += "/d" }
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        let failure = WorkerFiles.removeTree(root + "/deep")
        #expect(failure?.hasPrefix("cannot remove \(root)/deep: ") == true, "\(failure ?? "removed")")
    }

    @Test func theDataDirectoryMustBeSearchableByTheWorkersUser() throws {
        let root = try Self.directory()
        defer { _ = WorkerFiles.removeTree(root) }
        let nobody = WorkerUser(name: "nobody", uid: 65_534, home: "/nonexistent")
        try FileManager.default.createDirectory(atPath: root + "/closed/data", withIntermediateDirectories: true)
        try WorkerFiles.checkReachable(root + "/closed/data", by: nobody)
        chmod(root + "/closed", 0o750)
        do {
            try WorkerFiles.checkReachable(root + "/closed/data", by: nobody)
            Issue.record("\(root)/closed (0750) counted as searchable")
        } catch {
            #expect(
                error.description.contains(
                    "the workers' user nobody cannot reach \(root)/closed/data: \(root)/closed is mode 750"
                )
            )
        }
        chown(root + "/closed", 65_534, UInt32.max)
        if Self.isRoot { try WorkerFiles.checkReachable(root + "/closed/data", by: nobody) }
    }

    // MARK: - Spawning

    static func status(_ pid: pid_t) -> [String: String] { processStatus(pid) }

    static func launch(_ root: String, identity: WorkerIdentity?, executable: String = "/bin/sleep") -> WorkerLaunch {
        WorkerLaunch(
            id: "wc-1-6700",
            executable: executable,
            arguments: ["30"],
            environment: ["GALE_SPAWN_TEST": "1"],
            workingDirectory: root + "/work",
            logFile: root + "/logs/wc-1-6700.log",
            identity: identity
        )
    }

    /// Without a user switch, and (as root) with one.
    static let identities: [WorkerIdentity?] =
        [nil] + (isRoot ? [WorkerIdentity(user: "nobody", uid: 65_534, gid: 60_999)] : [])

    @Test(arguments: identities)
    func aWorkerHasItsOwnProcessGroupDirectoryAndLogAndNoOtherDescriptor(identity: WorkerIdentity?) throws {
        let root = try Self.directory()
        defer { _ = WorkerFiles.removeTree(root) }
        try WorkerFiles.ensureDirectory(root + "/work", group: identity?.gid, mode: 0o770)
        // A descriptor without close-on-exec, as the ZooKeeper client opens them.
        let marker = root + "/not-for-workers"
        _ = FileManager.default.createFile(atPath: marker, contents: Data())
        let leaked = open(marker, O_RDONLY)
        defer { close(leaked) }
        let pid = try WorkerProcessManager.spawn(Self.launch(root, identity: identity))
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        #expect(getpgid(pid) == pid)
        // What the child has open (the program may hold a file of its own for a moment, never ours).
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
        let targets = descriptors.map {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) ?? ""
        }
        #expect(!targets.contains(marker), "\(targets)")
        let log = root + "/logs/wc-1-6700.log"
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/0") == "/dev/null")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/1") == log)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/2") == log)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd") == root + "/work")
        // spawn returns once the exec closed the child's close-on-exec pipe, which the kernel does
        // before it lays out the new program's environment: until then environ reads empty.
        var environment = Data()
        for _ in 0..<10_000 {
            environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") ?? Data()
            if !environment.isEmpty { break }
            usleep(1_000)
        }
        #expect(environment.split(separator: 0).contains(Data("GALE_SPAWN_TEST=1".utf8)))
        let status = Self.status(pid)
        #expect(status["SigBlk"] == "0000000000000000")
        // The log is the supervisor's, opened before any switch.
        #expect(Self.info(log).uid == geteuid() && Self.info(log).mode == 0o640)
        let uid = identity?.uid ?? geteuid()
        let gid = identity?.gid ?? getegid()
        #expect(status["Uid"] == "\(uid)\t\(uid)\t\(uid)\t\(uid)")
        #expect(status["Gid"] == "\(gid)\t\(gid)\t\(gid)\t\(gid)")
        if identity != nil { #expect(status["Groups"] == "") }
    }

    @Test(.enabled(if: isRoot, "switching users needs root"))
    func aWorkerThatCannotStartAsItsUserFailsWithTheStepAndTheReason() throws {
        let root = try Self.directory()
        defer { _ = WorkerFiles.removeTree(root) }
        let identity = WorkerIdentity(user: "nobody", uid: 65_534, gid: 60_999)
        // A working directory the user may not enter.
        try WorkerFiles.ensureDirectory(root + "/work", group: nil, mode: 0o700)
        do {
            _ = try WorkerProcessManager.spawn(Self.launch(root, identity: identity))
            Issue.record("nobody entered \(root)/work")
        } catch {
            #expect(
                "\(error)"
                    == "cannot enter the working directory \(root)/work as user nobody (uid 65534): Permission denied"
            )
        }
        // An executable only root may run.
        chmod(root + "/work", 0o777)
        let binary = root + "/private-binary"
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: binary)
        chmod(binary, 0o700)
        do {
            _ = try WorkerProcessManager.spawn(Self.launch(root, identity: identity, executable: binary))
            Issue.record("\(binary) started as nobody")
        } catch {
            #expect("\(error)" == "cannot start \(binary) as user nobody (uid 65534): Permission denied")
        }
    }
}
