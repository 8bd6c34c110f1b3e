/// Writes whole frames (see ``WireFormat``) into a ``ByteWriter``.
enum FrameEncoder {
    /// Starts a frame of `type`. - Returns: the mark to pass to ``endFrame(_:in:)``.
    @inline(__always)
    static func beginFrame(_ type: WireFormat.FrameType, in w: inout ByteWriter) -> Int {
        let mark = w.count
        w.reserve(WireFormat.headerBytes)
        w.writeUInt32(0)
        w.writeByte(type.rawValue)
        return mark
    }

    /// Fills in the length of the frame started at `mark`.
    @inline(__always)
    static func endFrame(_ mark: Int, in w: inout ByteWriter) {
        w.patchUInt32(UInt32(truncatingIfNeeded: w.count - mark - 4), at: mark)
    }

    /// What ``appendBatch(_:to:encoder:into:maxFrameBytes:)`` wrote.
    struct BatchResult {
        var frames = 0
        var envelopes = 0
        /// Envelopes that cannot cross the wire (see ``EnvelopeEncoder/encode(_:into:)``) or that
        /// alone exceed the frame limit.
        var dropped = 0
        /// Acks merged into the ack before them.
        var combined = 0
    }

    /// Appends `batch` for `task` as one or more `batch` frames, each at most `maxFrameBytes` long.
    ///
    /// Consecutive ``Envelope/ack(root:xor:)``s of one tree are sent as one ack of their XOR: the
    /// acker's XOR of the tree ends the same, and a bolt that acks the several tuples of one tree
    /// in a row (a split's words, counted one after the other) sends one ack instead of many.
    static func appendBatch(
        _ batch: ContiguousArray<Envelope>,
        to task: Int,
        encoder: inout EnvelopeEncoder,
        into w: inout ByteWriter,
        maxFrameBytes: Int
    ) -> BatchResult {
        var result = BatchResult()
        let softLimit = max(1024, maxFrameBytes / 2)
        var frame = -1
        var inFrame = 0
        func close(_ w: inout ByteWriter) {
            guard frame >= 0 else { return }
            if inFrame == 0 {
                w.truncate(to: frame)
            } else {
                w.patchUInt32(UInt32(truncatingIfNeeded: inFrame), at: frame + WireFormat.headerBytes + 4)
                endFrame(frame, in: &w)
                result.frames += 1
                result.envelopes += inFrame
            }
            frame = -1
            inFrame = 0
        }
        func open(_ w: inout ByteWriter) {
            frame = beginFrame(.batch, in: &w)
            w.writeUInt32(UInt32(truncatingIfNeeded: task))
            w.writeUInt32(0)
        }
        // The root and the offset of the XOR of the last envelope written, when it is an ack.
        var lastAck: (root: UInt64, xorOffset: Int)?
        // Indexing (not `for in`) reads each envelope in place, without a copy and its retain.
        for i in batch.indices {
            if case .ack(let root, let xor) = batch[i], let last = lastAck, last.root == root {
                w.xorUInt64(xor, at: last.xorOffset)
                result.combined += 1
                continue
            }
            lastAck = nil
            if frame < 0 || w.count - frame > softLimit {
                close(&w)
                open(&w)
            }
            let mark = w.count
            guard encoder.encode(batch[i], into: &w) else {
                result.dropped += 1
                continue
            }
            if w.count - frame - 4 > maxFrameBytes {
                // Too big for the frame it joined: retry alone in a frame of its own.
                w.truncate(to: mark)
                if inFrame > 0 {
                    close(&w)
                    open(&w)
                    if encoder.encode(batch[i], into: &w), w.count - frame - 4 <= maxFrameBytes {
                        inFrame += 1
                        continue
                    }
                    w.truncate(to: frame + WireFormat.headerBytes + 8)
                }
                result.dropped += 1
                continue
            }
            inFrame += 1
            if case .ack(let root, _) = batch[i] { lastAck = (root, w.count - 8) }
        }
        close(&w)
        return result
    }

    /// Appends a `control` frame with one signal.
    static func appendControl(_ kind: WireFormat.ControlKind, task: Int, into w: inout ByteWriter) {
        let mark = beginFrame(.control, in: &w)
        w.writeVarint(1)
        w.writeByte(kind.rawValue)
        w.writeVarint(UInt64(max(0, task)))
        endFrame(mark, in: &w)
    }

    /// Appends a `refuse` frame.
    static func appendRefuse(_ reason: String, into w: inout ByteWriter) {
        let mark = beginFrame(.refuse, in: &w)
        w.writeString(reason)
        endFrame(mark, in: &w)
    }
}
