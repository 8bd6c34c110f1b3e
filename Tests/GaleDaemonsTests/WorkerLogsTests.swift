import Foundation
import GaleTestSupport
import Testing

@testable import GaleDaemons

/// Reading the workers' log files for the supervisor's log route: ranges, the tail, searches.
@Suite struct WorkerLogsTests {
    /// A file of `lines` lines `line <n> ...` in a directory of its own.
    static func logFile(lines: Int, extra: String = "") throws -> String {
        let directory = NSTemporaryDirectory() + "gale-logs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let text = (0..<lines).map { "line \($0) \($0 % 10 == 7 ? "needle" : "hay")\n" }.joined() + extra
        let path = directory + "/t-1-6700.log"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func rangesAreClampedToTheFile() {
        #expect(WorkerLogs.range(size: 100, offset: nil, length: 30) == (70, 30))
        #expect(WorkerLogs.range(size: 10, offset: nil, length: 30) == (0, 10))
        #expect(WorkerLogs.range(size: 100, offset: -20, length: 30) == (80, 20))
        #expect(WorkerLogs.range(size: 100, offset: -500, length: 30) == (0, 30))
        #expect(WorkerLogs.range(size: 100, offset: 90, length: 30) == (90, 10))
        #expect(WorkerLogs.range(size: 100, offset: 150, length: 30) == (100, 0))
        #expect(WorkerLogs.range(size: 5 << 20, offset: 0, length: 9 << 20) == (0, 1 << 20))
        #expect(WorkerLogs.range(size: 100, offset: Int.min, length: 10) == (0, 10))
    }

    @Test func queriesAreCheckedWithClearMessages() throws {
        #expect(try WorkerLogs.request(query: [:]) == .init(offset: nil, length: 65_536, grep: nil))
        #expect(
            try WorkerLogs.request(query: ["offset": "-10", "length": "99999999", "grep": "x"])
                == .init(offset: -10, length: 1 << 20, grep: "x")
        )
        for bad in [["offset": "ten"], ["length": "0"], ["length": "-5"], ["grep": ""], ["offset": "1e3"]] {
            #expect(throws: WorkerLogs.Failure.self, "\(bad)") { try WorkerLogs.request(query: bad) }
        }
        do {
            _ = try WorkerLogs.request(query: ["length": "x"])
        } catch {
            #expect(error.status == 400)
            #expect(error.description.contains("length"))
        }
    }

    @Test func workerIdsCannotNameAPath() {
        #expect(WorkerLogs.isWorkerId("wc-1700000000-6700"))
        #expect(WorkerLogs.isWorkerId("my_top.v2-17-6701"))
        for bad in [
            "", ".", "..", "../etc/passwd", "a/b", ".hidden", "a b", "a\0b", "é", String(repeating: "a", count: 201),
        ] {
            #expect(!WorkerLogs.isWorkerId(bad), "\(bad)")
        }
    }

    @Test func theTailAndPagesOfAFile() throws {
        let path = try Self.logFile(lines: 1000)
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let tail = try WorkerLogs.read(path: path, request: .init(length: 20), worker: "w")
        #expect(tail.size == size && tail.offset == size - 20 && tail.length == 20)
        #expect(tail.text.hasSuffix("line 999 hay\n"))
        #expect(tail.file == "t-1-6700.log")
        #expect(tail.matches == nil)
        let first = try WorkerLogs.read(path: path, request: .init(offset: 0, length: 30), worker: "w")
        #expect(first.text == "line 0 hay\nline 1 hay\nline 2 h")
        let next = try WorkerLogs.read(
            path: path,
            request: .init(offset: first.offset + first.length, length: 8),
            worker: "w"
        )
        #expect(next.offset == 30 && next.text == "ay\nline ")
        let end = try WorkerLogs.read(path: path, request: .init(offset: size + 10, length: 8), worker: "w")
        #expect(end.offset == size && end.length == 0 && end.text.isEmpty)
        let fromEnd = try WorkerLogs.read(path: path, request: .init(offset: -13, length: 100), worker: "w")
        #expect(fromEnd.text == "line 999 hay\n")
    }

    @Test func aSearchFindsEveryMatchingLineWithItsOffset() throws {
        let path = try Self.logFile(lines: 100, extra: "last needle without an end")
        let chunk = try WorkerLogs.read(path: path, request: .init(grep: "needle"), worker: "w")
        let matches = try #require(chunk.matches)
        #expect(matches.count == 11)
        #expect(matches.first?.line == "line 7 needle")
        #expect(matches.last?.line == "last needle without an end")
        #expect(chunk.text.isEmpty && chunk.offset == 0 && chunk.length == 0)
        let bytes = try #require(FileManager.default.contents(atPath: path))
        for match in matches {
            let line = bytes[match.offset...].prefix { $0 != UInt8(ascii: "\n") }
            #expect(String(decoding: line, as: UTF8.self) == match.line)
        }
    }

    @Test func aSearchStopsAtAThousandMatchesAndCutsLongLines() throws {
        let path = try Self.logFile(lines: 20_000)
        let chunk = try WorkerLogs.read(path: path, request: .init(grep: "needle"), worker: "w")
        #expect(chunk.matches?.count == WorkerLogs.maxMatches)
        #expect(chunk.matches?.last?.line == "line 9997 needle")
        // One line longer than what a search looks at: a match within its first 64 KiB is found
        // and shown cut to 4 KiB; one beyond is not.
        let long = "x" + String(repeating: "a", count: 100_000) + "late\n"
        let longPath = try Self.logFile(lines: 0, extra: "early " + long + "short late\n")
        let early = try WorkerLogs.read(path: longPath, request: .init(grep: "early"), worker: "w")
        #expect(early.matches?.count == 1)
        #expect(early.matches?.first?.line.utf8.count == WorkerLogs.maxLineBytes)
        let late = try WorkerLogs.read(path: longPath, request: .init(grep: "late"), worker: "w")
        #expect(late.matches?.map(\.line) == ["short late"])
        #expect(late.matches?.first?.offset == 6 + long.utf8.count)
    }

    @Test func aMissingFileOrALinkIsNotFound() throws {
        let path = try Self.logFile(lines: 3)
        let link = path + ".link.log"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        for missing in [path + ".nope", link, (path as NSString).deletingLastPathComponent] {
            do {
                _ = try WorkerLogs.read(path: missing, request: .init(), worker: "w")
                Issue.record("read \(missing)")
            } catch {
                #expect(error.status == 404, "\(missing): \(error)")
            }
        }
    }
}
