import CDispatch
import Foundation

/// Reads the workers' log files (`DATA/logs/<worker id>.log`) for the supervisor's log route:
/// a byte range (the tail by default) or the lines holding a text. Nothing reads a whole file
/// into memory: a range is at most ``maxLength`` bytes, and a search reads ``scanChunk`` bytes at
/// a time and keeps at most ``maxLineScan`` bytes of one line.
package enum WorkerLogs {
    /// Bytes returned when the request names no length.
    package static let defaultLength = 64 << 10
    /// The most bytes one request returns (a longer length is cut to it).
    package static let maxLength = 1 << 20
    /// The most matching lines a search returns.
    package static let maxMatches = 1000
    /// The most bytes of a matching line returned.
    package static let maxLineBytes = 4096
    /// Bytes read at a time while searching.
    static let scanChunk = 64 << 10
    /// The most bytes of one line a search looks at (beyond, a line's rest is not searched).
    static let maxLineScan = 64 << 10
    /// The longest text searched for.
    static let maxGrepBytes = 1024

    /// What a request asks for.
    package struct Request: Sendable, Equatable {
        /// From the start (≥ 0) or from the end (< 0); `nil`: the last ``length`` bytes.
        package var offset: Int?
        package var length: Int
        /// Search for the lines holding this text instead.
        package var grep: String?

        package init(offset: Int? = nil, length: Int = WorkerLogs.defaultLength, grep: String? = nil) {
            self.offset = offset
            self.length = length
            self.grep = grep
        }
    }

    /// A request that cannot be served: its HTTP status and the reason.
    package struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        package var status: Int
        package var description: String

        init(_ status: Int, _ description: String) {
            self.status = status
            self.description = description
        }
    }

    /// The request the query `offset`, `length` and `grep` asks for.
    /// - Throws: 400 for an offset or length that is not a whole number, a length below 1, or
    ///   an empty or overlong grep text.
    package static func request(query: [String: String]) throws(Failure) -> Request {
        var request = Request()
        if let text = query["offset"] {
            guard let offset = Int(text) else {
                throw Failure(400, "offset must be a whole number of bytes, got '\(text)'")
            }
            request.offset = offset
        }
        if let text = query["length"] {
            guard let length = Int(text), length > 0 else {
                throw Failure(400, "length must be a positive whole number of bytes, got '\(text)'")
            }
            request.length = min(length, maxLength)
        }
        if let grep = query["grep"] {
            guard !grep.isEmpty, grep.utf8.count <= maxGrepBytes else {
                throw Failure(400, "grep must be a text of 1 to \(maxGrepBytes) bytes")
            }
            request.grep = grep
        }
        return request
    }

    /// Whether `id` can be a worker id: letters, digits, `.`, `_` and `-`, at most 200, not
    /// starting with `.` (so never `..` or a path).
    package static func isWorkerId(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= 200, !id.hasPrefix(".") else { return false }
        return id.unicodeScalars.allSatisfy {
            ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || "._-".unicodeScalars.contains($0)
        }
    }

    /// Serves `request` from the file at `path`, named `worker` in the answer.
    /// - Throws: 404 when there is no such regular file (a link is not followed), 500 when it
    ///   cannot be read.
    package static func read(path: String, request: Request, worker: String) throws(Failure) -> NimbusAPI.LogChunk {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw errno == ENOENT || errno == ELOOP
                ? Failure(404, "no log file for worker \(worker)")
                : Failure(500, "cannot open the log of \(worker): \(reason)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw Failure(404, "no log file for worker \(worker)")
        }
        let size = Int(info.st_size)
        let file = (path as NSString).lastPathComponent
        if let grep = request.grep {
            let matches = try search(fd: fd, size: size, text: Array(grep.utf8), worker: worker)
            return NimbusAPI.LogChunk(
                worker: worker,
                file: file,
                size: size,
                offset: 0,
                length: 0,
                text: "",
                matches: matches
            )
        }
        let (start, length) = range(size: size, offset: request.offset, length: request.length)
        var bytes = [UInt8](repeating: 0, count: length)
        var done = 0
        while done < length {
            let n = bytes.withUnsafeMutableBytes { buffer in
                pread(fd, buffer.baseAddress.map { $0 + done }, length - done, off_t(start + done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else {
                throw Failure(500, "cannot read the log of \(worker): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            done += n
        }
        return NimbusAPI.LogChunk(
            worker: worker,
            file: file,
            size: size,
            offset: start,
            length: done,
            text: String(decoding: bytes[..<done], as: UTF8.self)
        )
    }

    /// The byte range a request reads of a file of `size` bytes: `offset` from the start, or
    /// from the end when negative, or the last `length` bytes when `nil`; clamped to the file.
    package static func range(size: Int, offset: Int?, length: Int) -> (start: Int, length: Int) {
        let length = max(0, min(length, maxLength))
        let start: Int
        switch offset {
        case nil: start = max(0, size - length)
        case let o? where o < 0: start = max(0, size + max(o, -size))
        case let o?: start = min(o, size)
        }
        return (start, min(length, size - start))
    }

    /// The lines of the first `size` bytes of `fd` that hold `text`, at most ``maxMatches``.
    static func search(fd: Int32, size: Int, text: [UInt8], worker: String) throws(Failure) -> [NimbusAPI.LogMatch] {
        var matches: [NimbusAPI.LogMatch] = []
        var chunk = [UInt8](repeating: 0, count: scanChunk)
        var line: [UInt8] = []
        line.reserveCapacity(4096)
        var lineStart = 0
        var position = 0
        func finish() {
            if contains(line, text) {
                let shown = line.prefix(maxLineBytes)
                matches.append(NimbusAPI.LogMatch(offset: lineStart, line: String(decoding: shown, as: UTF8.self)))
            }
        }
        while position < size && matches.count < maxMatches {
            let want = min(scanChunk, size - position)
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(position)) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else {
                throw Failure(500, "cannot read the log of \(worker): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            for i in 0..<n {
                let byte = chunk[i]
                if byte == UInt8(ascii: "\n") {
                    finish()
                    line.removeAll(keepingCapacity: true)
                    lineStart = position + i + 1
                    if matches.count == maxMatches { break }
                } else if line.count < maxLineScan {
                    line.append(byte)
                }
            }
            position += n
        }
        if matches.count < maxMatches && !line.isEmpty { finish() }
        return matches
    }

    /// Whether `haystack` holds `needle`.
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }
}
