#if canImport(Glibc)
import Glibc
#endif

/// Process-wide allocator settings for the per-tuple path.
///
/// Tuples are allocated on one thread and freed on another. With glibc's dynamic mmap and trim
/// thresholds, that pattern makes the allocator return and re-fault heap memory over and over:
/// word count ran at 2.3 to 4.9 million words/s from run to run. A fixed mmap threshold (which
/// also fixes the trim threshold) keeps it at 4.8 to 4.9 million. Applied once, by the first
/// ``TopologyRuntime``; set `GALE_MALLOC_TUNING=0` to leave the allocator alone.
enum AllocatorTuning {
    /// Allocations at or above this size are mapped directly.
    static let mmapThreshold: Int32 = 4 << 20

    /// `M_MMAP_THRESHOLD` from glibc's `<malloc.h>`, which the Glibc module does not import.
    static let mallocMmapThreshold: Int32 = -3

    static let applied: Bool = {
        #if canImport(Glibc)
        if let setting = getenv("GALE_MALLOC_TUNING"), String(cString: setting) == "0" { return false }
        return gale_mallopt(mallocMmapThreshold, mmapThreshold) == 1
        #else
        return false
        #endif
    }()
}

#if canImport(Glibc)
/// glibc's `mallopt(3)` (declared in `<malloc.h>`, outside the Glibc module).
@_silgen_name("mallopt")
private func gale_mallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
