import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A file sent or received as an HTTP body in chunks, so that it never sits in memory: the
/// server's and the client's shared file I/O.
struct HTTPFileBody {
    let fd: Int32
    let size: Int

    /// Opens `path` for reading. - Returns: `nil` (with `errno` set) when it cannot be read.
    static func open(_ path: String) -> HTTPFileBody? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        var info = stat()
        guard fd >= 0, fstat(fd, &info) == 0 else {
            if fd >= 0 { Glibc.close(fd) }
            return nil
        }
        return HTTPFileBody(fd: fd, size: Int(info.st_size))
    }

    func close() { Glibc.close(fd) }

    /// Sends the file in 1 MiB chunks through `send`, one chunk in flight at a time (the file is
    /// never read faster than the connection takes it).
    /// - Returns: `false` when reading or sending failed before the end.
    func send(allocator: ByteBufferAllocator, _ send: (ByteBuffer) async throws -> Void) async -> Bool {
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var sent = 0
        while sent < size {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(sent)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return false }
            var buffer = allocator.buffer(capacity: n)
            buffer.writeBytes(chunk[0..<n])
            sent += n
            do {
                try await send(buffer)
            } catch {
                return false
            }
        }
        return true
    }

    /// Writes all of `part` to `fd`. - Returns: `false` (with `errno` set) on a write error.
    static func write(_ part: ByteBuffer, to fd: Int32) -> Bool {
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
