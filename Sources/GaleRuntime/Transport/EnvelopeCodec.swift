import Gale

/// The binary encoding of ``Envelope``s and ``GaleValue``s (see ``WireFormat``).
///
/// An envelope: a kind byte, then
/// - tuples: `source varint` (a ``WireSources`` index), `sourceTask zig-zag`, for tracked tuples
///   `root u64, edge u64`, for multi-anchored ones `n varint` and `n` more u64 (root, edge pairs),
///   then `count varint` and the values;
/// - `ackInit`: `root u64, xor u64, spoutTask zig-zag`; `ack`: `root u64, xor u64`;
///   `fail`, `treeCompleted`, `treeFailed`: `root u64`.
///
/// The encoder writes straight into a ``ByteWriter``; the decoder checks every length, count, tag,
/// index and task id it reads.
struct EnvelopeEncoder {
    let sources: WireSources
    private var lastSource: ObjectIdentifier?
    private var lastIndex: UInt32 = 0

    init(sources: WireSources) {
        self.sources = sources
    }

    /// Appends `envelope`. - Returns: `false` (with nothing written) for what cannot cross the
    /// wire: a ``Envelope/sweep``, a tuple from outside the topology, values nested too deep.
    @inline(__always)
    mutating func encode(_ envelope: Envelope, into w: inout ByteWriter) -> Bool {
        typealias Kind = WireFormat.EnvelopeKind
        switch envelope {
        case .tuple(let tuple):
            return encode(tuple, into: &w)
        case .ackInit(let root, let xor, let spoutTask):
            w.reserve(1 + 16 + 10)
            w.writeByte(Kind.ackInit)
            w.writeUInt64(root)
            w.writeUInt64(xor)
            w.writeSignedVarint(Int64(spoutTask))
        case .ack(let root, let xor):
            w.reserve(17)
            w.writeByte(Kind.ack)
            w.writeUInt64(root)
            w.writeUInt64(xor)
        case .fail(let root):
            w.writeByte(Kind.fail)
            w.writeUInt64(root)
        case .treeCompleted(let root):
            w.writeByte(Kind.treeCompleted)
            w.writeUInt64(root)
        case .treeFailed(let root):
            w.writeByte(Kind.treeFailed)
            w.writeUInt64(root)
        case .sweep:
            return false
        }
        return true
    }

    @inline(__always)
    private mutating func sourceIndex(_ source: TupleSource) -> UInt32? {
        let id = ObjectIdentifier(source)
        if id == lastSource { return lastIndex }
        guard let index = sources.index(of: source) else { return nil }
        lastSource = id
        lastIndex = index
        return index
    }

    @inline(__always)
    private mutating func encode(_ tuple: Tuple, into w: inout ByteWriter) -> Bool {
        typealias Kind = WireFormat.EnvelopeKind
        guard let index = sourceIndex(tuple.source) else { return false }
        let mark = w.count
        w.reserve(1 + 5 + 10 + 16 + 5)
        if tuple.root == 0 {
            w.writeByte(Kind.tuple)
            w.writeVarint(UInt64(index))
            w.writeSignedVarint(Int64(tuple.sourceTask))
        } else if let more = tuple.moreAnchors {
            w.writeByte(Kind.multiAnchoredTuple)
            w.writeVarint(UInt64(index))
            w.writeSignedVarint(Int64(tuple.sourceTask))
            w.writeUInt64(tuple.root)
            w.writeUInt64(tuple.edge)
            let pairs = more.count / 2 * 2
            w.writeVarint(UInt64(pairs))
            for i in 0..<pairs { w.writeUInt64(more[i]) }
        } else {
            w.writeByte(Kind.trackedTuple)
            w.writeVarint(UInt64(index))
            w.writeSignedVarint(Int64(tuple.sourceTask))
            w.writeUInt64(tuple.root)
            w.writeUInt64(tuple.edge)
        }
        let values = tuple.storage
        w.writeVarint(UInt64(values.count))
        for i in 0..<values.count where !Self.encode(values[i], into: &w, depth: 0) {
            w.truncate(to: mark)
            return false
        }
        return true
    }

    /// Appends one value. - Returns: `false` when lists and maps nest deeper than the decoder allows.
    @inline(__always)
    static func encode(_ value: GaleValue, into w: inout ByteWriter, depth: Int) -> Bool {
        typealias Tag = WireFormat.ValueTag
        switch value {
        case .string(let s):
            encodeString(s, into: &w)
        case .int(let i):
            w.reserve(11)
            w.writeByte(Tag.int)
            w.writeSignedVarint(i)
        case .null:
            w.writeByte(Tag.null)
        case .bool(let b):
            w.writeByte(b ? Tag.trueValue : Tag.falseValue)
        case .double(let d):
            w.reserve(9)
            w.writeByte(Tag.double)
            w.writeUInt64(d.bitPattern)
        case .bytes(let bytes):
            w.writeByte(Tag.bytes)
            w.writeVarint(UInt64(bytes.count))
            bytes.withUnsafeBytes { w.writeBytes($0) }
        case .list(let list):
            guard depth < WireFormat.maxValueDepth else { return false }
            w.writeByte(Tag.list)
            w.writeVarint(UInt64(list.count))
            for element in list where !encode(element, into: &w, depth: depth + 1) { return false }
        case .map(let map):
            guard depth < WireFormat.maxValueDepth else { return false }
            w.writeByte(Tag.map)
            w.writeVarint(UInt64(map.count))
            for (key, element) in map {
                w.writeString(key)
                guard encode(element, into: &w, depth: depth + 1) else { return false }
            }
        }
        return true
    }

    @inline(__always)
    static func encodeString(_ s: String, into w: inout ByteWriter) {
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { utf8 in
            let n = utf8.count
            w.reserve(n &+ 11)
            if n < 0x80 {
                w.writeByte(WireFormat.ValueTag.shortString | UInt8(truncatingIfNeeded: n))
            } else {
                w.writeByte(WireFormat.ValueTag.string)
                w.writeVarint(UInt64(n))
            }
            w.writeBytes(UnsafeRawBufferPointer(utf8))
        }
        if done == nil {
            w.writeByte(WireFormat.ValueTag.string)
            w.writeString(s)
        }
    }
}

/// Decodes what ``EnvelopeEncoder`` wrote.
enum EnvelopeDecoder {
    /// The body of a `batch` frame: the target task and its envelopes.
    static func decodeBatch(
        _ body: UnsafeRawBufferPointer,
        sources: WireSources
    ) throws(WireError) -> (task: Int, batch: ContiguousArray<Envelope>) {
        var r = ByteReader(body)
        let task = Int(try r.readUInt32())
        let count = Int(try r.readUInt32())
        guard count <= r.remaining else { throw .malformed("batch of \(count) envelopes in \(body.count) bytes") }
        var batch = ContiguousArray<Envelope>()
        batch.reserveCapacity(min(count, 4_096))
        for _ in 0..<count {
            batch.append(try decode(&r, sources: sources))
        }
        guard r.remaining == 0 else { throw .malformed("\(r.remaining) bytes after the last envelope") }
        return (task, batch)
    }

    /// One envelope.
    /// - Throws: ``WireError`` on truncation, an unknown kind or tag, an unknown source, a task id
    ///   outside the topology, or a tuple whose value count differs from its stream's fields.
    @inline(__always)
    static func decode(_ r: inout ByteReader, sources: WireSources) throws(WireError) -> Envelope {
        typealias Kind = WireFormat.EnvelopeKind
        let kind = try r.readByte()
        switch kind {
        case Kind.tuple, Kind.trackedTuple, Kind.multiAnchoredTuple:
            let source = try sources.source(at: try r.readVarint())
            let sourceTask = try r.readSignedVarint()
            guard sourceTask >= -1, sourceTask <= Int64(sources.maxTaskId) else {
                throw .malformed("tuple from task \(sourceTask), outside the topology")
            }
            var root: UInt64 = 0
            var edge: UInt64 = 0
            var more: [UInt64]?
            if kind != Kind.tuple {
                root = try r.readUInt64()
                edge = try r.readUInt64()
                if kind == Kind.multiAnchoredTuple {
                    let n = try r.readCount(minimumSize: 8)
                    guard n % 2 == 0 else { throw .malformed("odd anchor list of \(n) ids") }
                    var ids = [UInt64]()
                    ids.reserveCapacity(min(n, 1_024))
                    for _ in 0..<n { ids.append(try r.readUInt64()) }
                    more = ids
                }
            }
            let n = try r.readCount()
            guard n == source.fields.count else {
                throw .malformed(
                    "tuple of \(n) values on stream [\(source.streamId)] of [\(source.componentId)] "
                        + "with \(source.fields.count) fields"
                )
            }
            let values: TupleValues
            if n == 1 {
                values = .one(try decodeValue(&r, depth: 0))
            } else {
                // `n` equals the stream's field count, checked above: safe to reserve.
                var array = [GaleValue]()
                array.reserveCapacity(n)
                for _ in 0..<n { array.append(try decodeValue(&r, depth: 0)) }
                values = .many(array)
            }
            return .tuple(
                Tuple(
                    storage: values,
                    sourceRef: Unmanaged.passUnretained(source),
                    sourceTask: Int(sourceTask),
                    root: root,
                    edge: edge,
                    moreAnchors: more
                )
            )
        case Kind.ackInit:
            let root = try r.readUInt64()
            let xor = try r.readUInt64()
            let spoutTask = try r.readSignedVarint()
            guard spoutTask >= 1, spoutTask <= Int64(sources.maxTaskId) else {
                throw .malformed("ackInit for spout task \(spoutTask), outside the topology")
            }
            return .ackInit(root: root, xor: xor, spoutTask: Int32(spoutTask))
        case Kind.ack:
            let root = try r.readUInt64()
            return .ack(root: root, xor: try r.readUInt64())
        case Kind.fail:
            return .fail(root: try r.readUInt64())
        case Kind.treeCompleted:
            return .treeCompleted(root: try r.readUInt64())
        case Kind.treeFailed:
            return .treeFailed(root: try r.readUInt64())
        default:
            throw .malformed("unknown envelope kind \(kind)")
        }
    }

    /// One value.
    static func decodeValue(_ r: inout ByteReader, depth: Int) throws(WireError) -> GaleValue {
        typealias Tag = WireFormat.ValueTag
        let tag = try r.readByte()
        if tag >= Tag.shortString {
            return .string(try r.readString(length: Int(tag & 0x7f)))
        }
        switch tag {
        case Tag.int:
            return .int(try r.readSignedVarint())
        case Tag.null:
            return .null
        case Tag.falseValue:
            return .bool(false)
        case Tag.trueValue:
            return .bool(true)
        case Tag.double:
            return .double(Double(bitPattern: try r.readUInt64()))
        case Tag.string:
            return .string(try r.readString())
        case Tag.bytes:
            let n = try r.readCount()
            return .bytes(Array(try r.readBytes(n)))
        case Tag.list:
            guard depth < WireFormat.maxValueDepth else { throw .malformed("values nested too deep") }
            let n = try r.readCount()
            var list = [GaleValue]()
            list.reserveCapacity(min(n, 1_024))
            for _ in 0..<n { list.append(try decodeValue(&r, depth: depth + 1)) }
            return .list(list)
        case Tag.map:
            guard depth < WireFormat.maxValueDepth else { throw .malformed("values nested too deep") }
            let n = try r.readCount(minimumSize: 2)
            var map = [String: GaleValue](minimumCapacity: min(n, 1_024))
            for _ in 0..<n {
                let key = try r.readString()
                map[key] = try decodeValue(&r, depth: depth + 1)
            }
            return .map(map)
        default:
            throw .malformed("unknown value tag \(tag)")
        }
    }
}
