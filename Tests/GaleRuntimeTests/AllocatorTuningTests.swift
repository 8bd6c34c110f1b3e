import CTCMalloc
import Testing

@testable import GaleRuntime

@Suite struct AllocatorTuningTests {
    @Test func tcmallocServesThisProcessWithTheThreadCacheCapped() throws {
        #expect(AllocatorTuning.applied)
        var cap = 0
        #expect(MallocExtension_GetNumericProperty("tcmalloc.max_total_thread_cache_bytes", &cap) == 1)
        #expect(cap == AllocatorTuning.defaultThreadCacheBytes)

        // If glibc served malloc, tcmalloc would see none of these bytes.
        var before = 0
        #expect(MallocExtension_GetNumericProperty("generic.current_allocated_bytes", &before) == 1)
        let block = [UInt8](repeating: 1, count: 8 << 20)
        var during = 0
        #expect(MallocExtension_GetNumericProperty("generic.current_allocated_bytes", &during) == 1)
        #expect(during >= before + block.count)
    }
}
