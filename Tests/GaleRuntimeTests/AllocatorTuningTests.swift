import CTCMalloc
import Testing

@testable import GaleRuntime

@Suite struct AllocatorTuningTests {
    @Test func tcmallocServesThisProcessWithTheThreadCacheCapped() throws {
        #expect(AllocatorTuning.applied)
        var cap = 0
        #expect(MallocExtension_GetNumericProperty("tcmalloc.max_total_thread_cache_bytes", &cap) == 1)
        #expect(cap == AllocatorTuning.defaultThreadCacheBytes)

        // tcmalloc owns what malloc (through Swift's allocator) hands out; under glibc's malloc it
        // would own none of it. (Asked of the block itself: comparing the process's allocated
        // bytes before and after raced with the tests running beside this one, which free memory
        // meanwhile.)
        let block = [UInt8](repeating: 1, count: 8 << 20)
        let owned = block.withUnsafeBufferPointer { buffer in
            MallocExtension_GetOwnership(UnsafeRawPointer(buffer.baseAddress))
        }
        #expect(owned == MallocExtension_kOwned)
        let small = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
        defer { small.deallocate() }
        #expect(MallocExtension_GetOwnership(small) == MallocExtension_kOwned)
        // A pointer malloc never returned is not tcmalloc's: the check can fail.
        var local = 0
        #expect(withUnsafePointer(to: &local) { MallocExtension_GetOwnership($0) } == MallocExtension_kNotOwned)
    }
}
