import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What `/proc/<pid>/` tells of a worker process: resident memory, CPU time, open files.
package struct ProcessSample: Sendable, Equatable {
    /// Resident set size in bytes (`VmRSS` of `status`).
    package var residentBytes: UInt64?
    /// User and system CPU time in seconds (`utime` + `stime` of `stat`).
    package var cpuSeconds: Double?
    /// Open file descriptors (entries of `fd/`); `nil` when the directory cannot be read.
    package var openFiles: Int?

    package init(residentBytes: UInt64? = nil, cpuSeconds: Double? = nil, openFiles: Int? = nil) {
        self.residentBytes = residentBytes
        self.cpuSeconds = cpuSeconds
        self.openFiles = openFiles
    }

    /// Reads process `pid` (under `proc`); `nil` when it does not exist.
    package static func read(pid: Int32, proc: String = "/proc") -> ProcessSample? {
        guard pid > 0, let stat = try? String(contentsOfFile: "\(proc)/\(pid)/stat", encoding: .utf8) else {
            return nil
        }
        let status = (try? String(contentsOfFile: "\(proc)/\(pid)/status", encoding: .utf8)) ?? ""
        let files = try? FileManager.default.contentsOfDirectory(atPath: "\(proc)/\(pid)/fd")
        return ProcessSample(
            residentBytes: residentBytes(status: status),
            cpuSeconds: cpuSeconds(stat: stat, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK)))),
            openFiles: files?.count
        )
    }

    /// `VmRSS` of a `status` file, in bytes.
    static func residentBytes(status: String) -> UInt64? {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 2, let kib = UInt64(fields[1]) else { return nil }
        return kib * 1024
    }

    /// `utime` + `stime` (fields 14 and 15) of a `stat` line, in seconds. The command name
    /// (field 2) may hold spaces and parentheses: fields are counted after its last `)`.
    static func cpuSeconds(stat: String, ticksPerSecond: Double) -> Double? {
        guard ticksPerSecond > 0, let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return Double(user + system) / ticksPerSecond
    }
}
