/// A growable run of raw bytes that the wire encoder writes into: little-endian integers,
/// LEB128 varints and byte runs, with one capacity check per write and no per-write allocation.
///
/// Threading: not synchronised; its owner guards it (``PeerLink`` holds it under its lock).
/// Memory: `storage` is owned by this value's owner, which calls ``deallocate()`` exactly once.
struct ByteWriter {
    private(set) var storage: UnsafeMutableRawPointer
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int = 16 * 1024) {
        self.capacity = max(64, capacity)
        self.storage = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    /// Frees the storage. The writer must not be used afterwards.
    func deallocate() {
        storage.deallocate()
    }

    /// The written bytes.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    /// Forgets the written bytes, keeping the storage (shrinking it when it grew past `keep`).
    mutating func reset(keepingAtMost keep: Int = 4 * 1024 * 1024) {
        count = 0
        if capacity > keep {
            storage.deallocate()
            capacity = max(64, keep / 4)
            storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        }
    }

    /// Drops everything written after `mark` (an earlier ``count``).
    mutating func truncate(to mark: Int) {
        if mark < count { count = max(0, mark) }
    }

    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count &+ n > capacity { grow(count &+ n) }
    }

    @inline(never)
    private mutating func grow(_ needed: Int) {
        var newCapacity = max(capacity, 64)
        while newCapacity < needed { newCapacity &*= 2 }
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newStorage.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }

    @inline(__always)
    mutating func writeByte(_ byte: UInt8) {
        reserve(1)
        storage.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    @inline(__always)
    mutating func writeUInt32(_ value: UInt32) {
        reserve(4)
        storage.storeBytes(of: value.littleEndian, toByteOffset: count, as: UInt32.self)
        count &+= 4
    }

    @inline(__always)
    mutating func writeUInt64(_ value: UInt64) {
        reserve(8)
        storage.storeBytes(of: value.littleEndian, toByteOffset: count, as: UInt64.self)
        count &+= 8
    }

    /// Overwrites the 4 bytes at `offset` (written earlier as a placeholder).
    @inline(__always)
    mutating func patchUInt32(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= count)
        storage.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    /// XORs `value` into the 8 bytes at `offset` (written earlier by ``writeUInt64(_:)``).
    @inline(__always)
    mutating func xorUInt64(_ value: UInt64, at offset: Int) {
        precondition(offset >= 0 && offset + 8 <= count)
        let old = UInt64(littleEndian: storage.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        storage.storeBytes(of: (old ^ value).littleEndian, toByteOffset: offset, as: UInt64.self)
    }

    /// An unsigned LEB128 varint (1 to 10 bytes).
    @inline(__always)
    mutating func writeVarint(_ value: UInt64) {
        reserve(10)
        var v = value
        var at = count
        while v >= 0x80 {
            storage.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: at, as: UInt8.self)
            v &>>= 7
            at &+= 1
        }
        storage.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: at, as: UInt8.self)
        count = at &+ 1
    }

    /// A signed integer as a zig-zag varint (small magnitudes take few bytes).
    @inline(__always)
    mutating func writeSignedVarint(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value &<< 1) ^ (value >> 63)))
    }

    @inline(__always)
    mutating func writeBytes(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0, let base = bytes.baseAddress else { return }
        reserve(n)
        (storage + count).copyMemory(from: base, byteCount: n)
        count &+= n
    }

    /// A length-prefixed UTF-8 string.
    mutating func writeString(_ string: String) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { utf8 in
            writeVarint(UInt64(utf8.count))
            writeBytes(UnsafeRawBufferPointer(utf8))
        }
        if done == nil {
            let utf8 = Array(string.utf8)
            writeVarint(UInt64(utf8.count))
            utf8.withUnsafeBytes { writeBytes($0) }
        }
    }
}
