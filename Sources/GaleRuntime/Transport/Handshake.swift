import CLibCrypto

/// The first frame on a connection (`hello` from the connecting worker, `welcome` in answer):
/// who the worker is and which topology build and assignment it runs, and, when the assignment
/// has a secret, the proof that the sender holds it.
package struct Handshake: Sendable, Equatable {
    package var magic: UInt32 = WireFormat.magic
    package var version: UInt32 = WireFormat.version
    package var topologyId: String
    package var epoch: Int
    /// ``WireSources/digest`` of the sender's topology.
    package var digest: UInt64
    package var address: WorkerAddress
    /// HMAC-SHA256, under the assignment's secret, of the frame type and every field above
    /// (``proof(as:secret:)``); empty when the assignment has no secret.
    package var proof: [UInt8] = []

    package init(topologyId: String, epoch: Int, digest: UInt64, address: WorkerAddress) {
        self.topologyId = topologyId
        self.epoch = epoch
        self.digest = digest
        self.address = address
    }

    /// The fields the proof covers, in wire order.
    private func appendFields(into w: inout ByteWriter) {
        w.writeUInt32(magic)
        w.writeUInt32(version)
        w.writeSignedVarint(Int64(epoch))
        w.writeUInt64(digest)
        w.writeString(topologyId)
        w.writeString(address.host)
        w.writeVarint(UInt64(max(0, address.port)))
    }

    /// Appends this handshake as a frame of `type` (`hello` or `welcome`), with a proof under
    /// `secret` when one is given.
    func append(as type: WireFormat.FrameType, secret: [UInt8]?, into w: inout ByteWriter) {
        let mark = FrameEncoder.beginFrame(type, in: &w)
        appendFields(into: &w)
        let proof = secret.map { self.proof(as: type, secret: $0) } ?? []
        w.writeVarint(UInt64(proof.count))
        proof.withUnsafeBytes { w.writeBytes($0) }
        FrameEncoder.endFrame(mark, in: &w)
    }

    /// The frame of `type` holding this handshake, as bytes.
    package func frame(as type: WireFormat.FrameType, secret: [UInt8]? = nil) -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        defer { w.deallocate() }
        append(as: type, secret: secret, into: &w)
        return Array(w.bytes)
    }

    /// HMAC-SHA256 under `secret` of the frame type and the fields: a `hello` cannot be
    /// replayed as a `welcome`, nor one worker's for another address.
    package func proof(as type: WireFormat.FrameType, secret: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        defer { w.deallocate() }
        w.writeByte(type.rawValue)
        appendFields(into: &w)
        var mac = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let message = w.bytes
        secret.withUnsafeBytes { key in
            _ = HMAC(
                EVP_sha256(),
                key.baseAddress,
                Int32(key.count),
                message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                message.count,
                &mac,
                &length
            )
        }
        return mac
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
        let proofLength = try r.readCount()
        guard proofLength == 0 || proofLength == 32 else { throw .malformed("proof of \(proofLength) bytes") }
        let proof = Array(try r.readBytes(proofLength))
        var handshake = Handshake(
            topologyId: topologyId,
            epoch: Int(truncatingIfNeeded: epoch),
            digest: digest,
            address: WorkerAddress(host: host, port: Int(port))
        )
        handshake.magic = magic
        handshake.version = version
        handshake.proof = proof
        return handshake
    }

    /// Why `other`, received as a frame of `type`, may not talk to a worker with this
    /// handshake and the assignment's `secret`, or `nil` when it may.
    func mismatch(_ other: Handshake, as type: WireFormat.FrameType, secret: [UInt8]?) -> String? {
        if other.topologyId != topologyId {
            return "topology [\(other.topologyId)], expected [\(topologyId)]"
        }
        if other.epoch != epoch { return "epoch \(other.epoch), expected \(epoch)" }
        // Before the build: knowing a topology's id, epoch and binary proves nothing.
        if let secret {
            let expected = other.proof(as: type, secret: secret)
            var difference: UInt8 = other.proof.count == expected.count ? 0 : 1
            for (a, b) in zip(other.proof, expected) { difference |= a ^ b }
            if difference != 0 {
                return other.proof.isEmpty
                    ? "no proof of the assignment's secret" : "a wrong proof of the assignment's secret"
            }
        }
        if other.digest != digest {
            return "a different build of topology [\(topologyId)] (digest \(other.digest), expected \(digest))"
        }
        return nil
    }
}
