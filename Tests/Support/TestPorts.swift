import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Loopback ports for tests to give to daemons and workers before they start.
///
/// A port found by binding port 0 and closing the socket lies in the kernel's ephemeral range,
/// so the kernel may hand it to the next `bind(0)` or `connect` of any process before the daemon
/// it was meant for binds it (a supervisor's heartbeat server once took the port a test had just
/// given to another supervisor's slot: that slot's worker could never listen). These ports come
/// from below the ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`), which the kernel
/// never hands out by itself, each one at most once per process, and only after a bind on
/// 127.0.0.1 showed it free. Processes start at different offsets (by pid).
public enum TestPorts {
    /// The range ports come from: [10000, start of the ephemeral range).
    public static let range: Range<Int> = {
        let low = ephemeralLow() ?? 32768
        return 10000..<max(10001, low)
    }()

    private static let cursor = Mutex<Int>(0)

    /// A loopback port nothing listens on now, not handed out before by this process.
    public static func next() -> Int {
        cursor.withLock { cursor in
            let span = range.count
            let start = Int(getpid() % 509) * 37
            for _ in 0..<span {
                let port = range.lowerBound + (start + cursor) % span
                cursor += 1
                if canBind(port) { return port }
            }
            fatalError("TestPorts: no free loopback port in \(range)")
        }
    }

    /// `count` ports of ``next()``.
    public static func next(_ count: Int) -> [Int] { (0..<count).map { _ in next() } }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        } == 0
    }

    private static func ephemeralLow() -> Int? {
        let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        return text?.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) }
    }
}
