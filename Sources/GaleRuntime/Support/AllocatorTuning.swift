internal import CTCMalloc

/// The allocator of processes that run executors: tcmalloc, with a small thread-cache budget.
///
/// Tuples are allocated on one thread and freed on another. Under glibc's allocator word count
/// ran at 2.2 to 4.9 million words/s from run to run on the same machine (about one run in six
/// fell into a slow mode), and with tcmalloc's default 32 MB of thread caches it still did now
/// and then. GaleRuntime links tcmalloc (so every topology binary allocates with it) and caps the
/// thread caches at 4 MB: 6.2 to 6.5 million words/s in every run measured, peak RSS about 32 MB.
/// Applied once, by the first ``TopologyRuntime``. `GALE_TCMALLOC_THREAD_CACHE_BYTES` overrides
/// the cap.
enum AllocatorTuning {
    /// Total bytes of tcmalloc's per-thread caches.
    static let defaultThreadCacheBytes = 4 << 20

    static let applied: Bool = {
        var bytes = defaultThreadCacheBytes
        if let setting = getenv("GALE_TCMALLOC_THREAD_CACHE_BYTES"),
            let value = Int(String(cString: setting)), value > 0
        {
            bytes = value
        }
        return MallocExtension_SetNumericProperty("tcmalloc.max_total_thread_cache_bytes", bytes) == 1
    }()
}

#if canImport(Glibc)
import Glibc
#endif
