import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A file sent or received as an HTTP body in chunks, so that it never sits in memory: the file
/// I/O the server and the client share. Opening, reading and writing run on NIO's blocking-I/O
/// thread pool (`NIOThreadPool.singleton`), never on an event loop or a cooperative thread.
enum HTTPFileBody {
    /// The size of the chunks a file is read and written in.
    static let chunkSize = 1 << 20

    /// A file that cannot be opened, read or written.
    struct FileError: Error, CustomStringConvertible {
        let path: String
        let code: Int32

        /// The system's text for ``code``, e.g. "No such file or directory".
        var reason: String { String(cString: strerror(code)) }
        var description: String { "\(path): \(reason)" }
    }

    /// A file open for reading, sent as a body: its size and its content in chunks. The
    /// descriptor closes when the last reference goes (a body handed to a connection holds it
    /// until the connection is done with it).
    final class Source: Sendable {
        let path: String
        let size: Int
        private let fd: Int32

        private init(path: String, fd: Int32, size: Int) {
            self.path = path
            self.fd = fd
            self.size = size
        }

        deinit { close(fd) }

        /// Opens `path` for reading.
        /// - Throws: ``FileError`` when it cannot be opened.
        static func open(_ path: String) async throws(FileError) -> Source {
            let opened: Result<(fd: Int32, size: Int), FileError>
            do {
                opened = try await NIOThreadPool.singleton.runIfActive {
                    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
                    let size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1
                    guard size >= 0 else {
                        let code = errno
                        if fd >= 0 { close(fd) }
                        return .failure(FileError(path: path, code: code))
                    }
                    return .success((fd, Int(size)))
                }
            } catch {
                throw FileError(path: path, code: ECANCELED)
            }
            let (fd, size) = try opened.get()
            return Source(path: path, fd: fd, size: size)
        }

        /// The content in chunks of at most ``HTTPFileBody/chunkSize`` bytes, each read from
        /// disk when the consumer asks for it, once each of `loops` has run what was queued on
        /// it (see ``Chunks``).
        func chunks(pacedBy loops: [any EventLoop]) -> Chunks { Chunks(source: self, loops: loops) }

        /// Reads up to `count` bytes at `offset`.
        fileprivate func read(at offset: Int, count: Int) async throws -> ByteBuffer {
            let fd = self.fd
            let path = self.path
            return try await NIOThreadPool.singleton.runIfActive {
                var buffer = ByteBufferAllocator().buffer(capacity: count)
                while true {
                    var n = 0
                    buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
                        n = pread(fd, raw.baseAddress, count, off_t(offset))
                        return max(n, 0)
                    }
                    if n > 0 { return buffer }
                    if n < 0, errno == EINTR { continue }
                    // The file shrank (n == 0) or cannot be read.
                    throw FileError(path: path, code: n == 0 ? EIO : errno)
                }
            }
        }
    }

    /// A file's content as an asynchronous sequence of chunks, read no faster than the
    /// connection sends them.
    ///
    /// NIO's async writers (Hummingbird's response body writer, AsyncHTTPClient's request body)
    /// hand each chunk to the connection's event loop and return at once; they stop taking
    /// chunks only once the loop has queued enough to make the channel unwritable. A producer
    /// that reads from disk faster than the loop gets to its queue can pile up dozens of chunks
    /// before that happens. So before reading the next chunk, the sequence waits until each of
    /// its event loops (the connection's, or every loop the connection may be on) has run what
    /// was queued on it: the previous chunk is then in the channel, the writer knows whether
    /// the channel is full, and about two chunks are in memory at any time.
    struct Chunks: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let source: Source
        let loops: [any EventLoop]

        struct AsyncIterator: AsyncIteratorProtocol {
            let source: Source
            let loops: [any EventLoop]
            var offset = 0

            mutating func next() async throws -> ByteBuffer? {
                guard offset < source.size else { return nil }
                if offset > 0 {
                    for loop in loops { try await loop.submit {}.get() }
                }
                let chunk = try await source.read(at: offset, count: Swift.min(chunkSize, source.size - offset))
                offset += chunk.readableBytes
                return chunk
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: source, loops: loops) }
    }

    /// A file being written from a body as it arrives. Parts are collected up to
    /// ``HTTPFileBody/chunkSize`` bytes and written together (one trip to the thread pool per
    /// chunk, not per network read). Used by one task at a time.
    final class Sink {
        let path: String
        private var fd: Int32
        private var pending: [ByteBuffer] = []
        private var pendingBytes = 0

        private init(path: String, fd: Int32) {
            self.path = path
            self.fd = fd
        }

        deinit {
            if fd >= 0 { close(fd) }
        }

        /// Creates `path` (mode 0600) for writing.
        /// - Parameter exclusive: fail when the file exists; otherwise an existing file is truncated.
        /// - Throws: ``FileError`` when it cannot be created.
        static func create(_ path: String, exclusive: Bool) async throws(FileError) -> Sink {
            let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC)
            let opened: Result<Int32, FileError>
            do {
                opened = try await NIOThreadPool.singleton.runIfActive {
                    let fd = Glibc.open(path, flags, 0o600)
                    return fd >= 0 ? .success(fd) : .failure(FileError(path: path, code: errno))
                }
            } catch {
                throw FileError(path: path, code: ECANCELED)
            }
            return Sink(path: path, fd: try opened.get())
        }

        /// Appends `part`; written to disk once a chunk's worth is collected.
        /// - Throws: ``FileError`` on a write error.
        func write(_ part: ByteBuffer) async throws(FileError) {
            pending.append(part)
            pendingBytes += part.readableBytes
            if pendingBytes >= chunkSize { try await flush() }
        }

        /// Writes what is collected and closes the file.
        /// - Throws: ``FileError`` on a write error.
        func finish() async throws(FileError) {
            try await flush()
            close(fd)
            fd = -1
        }

        private func flush() async throws(FileError) {
            guard !pending.isEmpty else { return }
            let parts = pending
            let fd = self.fd
            let path = self.path
            pending.removeAll(keepingCapacity: true)
            pendingBytes = 0
            let written: FileError?
            do {
                written = try await NIOThreadPool.singleton.runIfActive {
                    for part in parts {
                        guard Self.write(part, to: fd) else { return FileError(path: path, code: errno) }
                    }
                    return nil
                }
            } catch {
                throw FileError(path: path, code: ECANCELED)
            }
            if let written { throw written }
        }

        /// Writes all of `part` to `fd`. - Returns: `false` (with `errno` set) on a write error.
        private static func write(_ part: ByteBuffer, to fd: Int32) -> Bool {
            part.withUnsafeReadableBytes { raw -> Bool in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return false
                    }
                    offset += n
                }
                return true
            }
        }
    }
}
