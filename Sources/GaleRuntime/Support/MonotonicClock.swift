#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Nanoseconds on the monotonic clock (vDSO on Linux: no system call).
@inline(__always)
package func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// `seconds` in nanoseconds, saturating at about 146 years instead of trapping on overflow.
package func nanoseconds(fromSeconds seconds: Double) -> UInt64 {
    let limit = Double(UInt64.max / 4)
    let nanos = seconds * 1e9
    guard nanos.isFinite, nanos < limit else { return UInt64.max / 4 }
    return nanos <= 0 ? 0 : UInt64(nanos)
}
