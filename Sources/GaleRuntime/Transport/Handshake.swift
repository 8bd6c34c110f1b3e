/// The first frame on a connection (`hello` from the connecting worker, `welcome` in answer):
/// who the worker is and which topology build and assignment it runs.
package struct Handshake: Sendable, Equatable {
    package var magic: UInt32 = WireFormat.magic
    package var version: UInt32 = WireFormat.version
    package var topologyId: String
    package var epoch: Int
    /// ``WireSources/digest`` of the sender's topology.
    package var digest: UInt64
    package var address: WorkerAddress

    package init(topologyId: String, epoch: Int, digest: UInt64, address: WorkerAddress) {
        self.topologyId = topologyId
        self.epoch = epoch
        self.digest = digest
        self.address = address
    }

    /// Appends this handshake as a frame of `type` (`hello` or `welcome`).
    func append(as type: WireFormat.FrameType, into w: inout ByteWriter) {
        let mark = FrameEncoder.beginFrame(type, in: &w)
        w.writeUInt32(magic)
        w.writeUInt32(version)
        w.writeSignedVarint(Int64(epoch))
        w.writeUInt64(digest)
        w.writeString(topologyId)
        w.writeString(address.host)
        w.writeVarint(UInt64(max(0, address.port)))
        FrameEncoder.endFrame(mark, in: &w)
    }

    /// The frame of `type` holding this handshake, as bytes.
    package func frame(as type: WireFormat.FrameType) -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        defer { w.deallocate() }
        append(as: type, into: &w)
        return Array(w.bytes)
    }

    /// Reads a handshake body (after the frame header).
    static func decode(_ r: inout ByteReader) throws(WireError) -> Handshake {
        let magic = try r.readUInt32()
        guard magic == WireFormat.magic else { throw .handshakeMismatch("bad magic \(magic)") }
        let version = try r.readUInt32()
        guard version == WireFormat.version else {
            throw .handshakeMismatch("protocol version \(version), expected \(WireFormat.version)")
        }
        let epoch = try r.readSignedVarint()
        let digest = try r.readUInt64()
        let topologyId = try r.readString()
        let host = try r.readString()
        let port = try r.readVarint()
        guard port <= 65_535 else { throw .malformed("port \(port)") }
        var handshake = Handshake(
            topologyId: topologyId,
            epoch: Int(truncatingIfNeeded: epoch),
            digest: digest,
            address: WorkerAddress(host: host, port: Int(port))
        )
        handshake.magic = magic
        handshake.version = version
        return handshake
    }

    /// Why `other` may not talk to a worker with this handshake, or `nil` when it may.
    func mismatch(_ other: Handshake) -> String? {
        if other.topologyId != topologyId {
            return "topology [\(other.topologyId)], expected [\(topologyId)]"
        }
        if other.epoch != epoch { return "epoch \(other.epoch), expected \(epoch)" }
        if other.digest != digest {
            return "a different build of topology [\(topologyId)] (digest \(other.digest), expected \(digest))"
        }
        return nil
    }
}
