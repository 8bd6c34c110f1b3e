extension NimbusAPI {
    /// `GET /api/v1/topologies/{name}/workers/{worker}/log`: a byte range of a worker's log
    /// file, or with `grep` its matching lines (served by the worker's supervisor, proxied by
    /// nimbus).
    public struct LogChunk: Sendable, Codable, Equatable {
        /// The worker, `HOST:PORT`.
        public var worker: String
        /// The log file's name on the supervisor's host (`<worker id>.log`).
        public var file: String
        /// The file's size in bytes when it was read.
        public var size: Int
        /// Where ``text`` starts in the file (0 with `grep`).
        public var offset: Int
        /// Bytes of the file in ``text`` (0 with `grep`).
        public var length: Int
        /// The bytes read, as UTF-8 (invalid sequences replaced); empty with `grep`.
        public var text: String
        /// With `grep`: the lines holding the text, oldest first, at most 1,000, each with the
        /// offset of its first byte.
        public var matches: [LogMatch]?

        public init(
            worker: String,
            file: String,
            size: Int,
            offset: Int,
            length: Int,
            text: String,
            matches: [LogMatch]? = nil
        ) {
            self.worker = worker
            self.file = file
            self.size = size
            self.offset = offset
            self.length = length
            self.text = text
            self.matches = matches
        }
    }

    /// One line of a log that holds the text searched for.
    public struct LogMatch: Sendable, Codable, Equatable {
        /// The offset of the line's first byte in the file.
        public var offset: Int
        /// The line, without its line end (at most 4 KiB of it).
        public var line: String

        public init(offset: Int, line: String) {
            self.offset = offset
            self.line = line
        }
    }
}
