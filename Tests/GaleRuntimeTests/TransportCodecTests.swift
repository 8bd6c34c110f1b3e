import Gale
import NIOCore
import Testing

@testable import GaleRuntime

/// The wire encoding of envelopes and values, and the framing, without sockets.
@Suite struct TransportCodecTests {
    static func topology() throws -> Topology {
        let builder = TopologyBuilder(name: "codec")
        builder.setSpout("spout") { SequenceSpout(SpoutLog(), .init(fields: ["a", "b"])) }
        builder.setBolt("bolt", parallelism: 2) {
            TestBolt(BoltLog(), .init(streams: [("out", ["x"]), ("other", ["y", "z"])]))
        }.shuffleGrouping("spout")
        builder.config.ackers = 2
        return try builder.build()
    }

    static let everyValue: [GaleValue] = [
        .null, .bool(true), .bool(false), .int(0), .int(-1), .int(Int64.max), .int(Int64.min),
        .double(0), .double(-0.0), .double(3.25), .double(-.infinity), .double(.greatestFiniteMagnitude),
        .string(""), .string("word"), .string(String(repeating: "long ", count: 100)), .string("naïve 🌬️ 風"),
        .bytes([]), .bytes([0, 1, 255, 128]), .bytes(Array(repeating: 7, count: 300)),
        .list([]), .list([.int(1), .string("two"), .list([.null, .bool(true)])]),
        .map([:]), .map(["k": .int(1), "nested": .map(["deep": .list([.double(1.5)])]), "": .null]),
    ]

    /// Encodes `batch` for `task`, splits the bytes into frames and decodes them.
    static func roundTrip(
        _ batch: ContiguousArray<Envelope>,
        task: Int = 3,
        sources: WireSources,
        maxFrameBytes: Int = 1 << 20
    ) throws -> (frames: Int, dropped: Int, decoded: [(task: Int, batch: ContiguousArray<Envelope>)]) {
        var encoder = EnvelopeEncoder(sources: sources)
        var writer = ByteWriter()
        defer { writer.deallocate() }
        let result = FrameEncoder.appendBatch(
            batch,
            to: task,
            encoder: &encoder,
            into: &writer,
            maxFrameBytes: maxFrameBytes
        )
        var buffer = ByteBufferAllocator().buffer(capacity: writer.count)
        buffer.writeBytes(writer.bytes)
        var splitter = FrameSplitter(maxFrameBytes: maxFrameBytes)
        splitter.append(buffer)
        var decoded: [(Int, ContiguousArray<Envelope>)] = []
        while let (type, body) = try splitter.next() {
            #expect(type == WireFormat.FrameType.batch.rawValue)
            decoded.append(try body.withUnsafeReadableBytes { try EnvelopeDecoder.decodeBatch($0, sources: sources) })
        }
        #expect(result.frames == decoded.count)
        return (result.frames, result.dropped, decoded)
    }

    static func assertSame(_ a: Envelope, _ b: Envelope, sourceLocation: SourceLocation = #_sourceLocation) {
        switch (a, b) {
        case (.tuple(let x), .tuple(let y)):
            #expect(x.source === y.source, sourceLocation: sourceLocation)
            #expect(x.sourceTask == y.sourceTask, sourceLocation: sourceLocation)
            #expect(x.root == y.root && x.edge == y.edge, sourceLocation: sourceLocation)
            #expect(x.moreAnchors == y.moreAnchors, sourceLocation: sourceLocation)
            #expect(x.values == y.values, sourceLocation: sourceLocation)
        case (.ackInit(let r1, let x1, let s1), .ackInit(let r2, let x2, let s2)):
            #expect(r1 == r2 && x1 == x2 && s1 == s2, sourceLocation: sourceLocation)
        case (.ack(let r1, let x1), .ack(let r2, let x2)):
            #expect(r1 == r2 && x1 == x2, sourceLocation: sourceLocation)
        case (.fail(let r1), .fail(let r2)), (.treeCompleted(let r1), .treeCompleted(let r2)),
            (.treeFailed(let r1), .treeFailed(let r2)):
            #expect(r1 == r2, sourceLocation: sourceLocation)
        default:
            Issue.record("\(a) decoded as \(b)", sourceLocation: sourceLocation)
        }
    }

    @Test func everyEnvelopeAndValueCaseSurvivesARoundTrip() throws {
        let plan = TopologyPlan(topology: try Self.topology())
        let sources = WireSources(plan: plan)
        let spoutTask = plan.tasks(of: "spout")[0]
        let boltTask = plan.tasks(of: "bolt")[1]
        let ab = try #require(sources.sources.compactMap { $0 }.first { $0.componentId == "spout" })
        let yz = try #require(sources.sources.compactMap { $0 }.first { $0.streamId == "other" })
        var batch: ContiguousArray<Envelope> = []
        for (i, value) in Self.everyValue.enumerated() {
            batch.append(.tuple(Tuple(values: [value, .int(Int64(i))], source: ab, sourceTask: spoutTask)))
            batch.append(
                .tuple(Tuple(values: [.string("k"), value], source: yz, sourceTask: boltTask, root: 7, edge: 9))
            )
        }
        batch.append(
            .tuple(
                Tuple(
                    values: [.list(Self.everyValue), .map(["all": .list(Self.everyValue)])],
                    source: yz,
                    sourceTask: boltTask,
                    root: .max,
                    edge: 1,
                    moreAnchors: [5, 6, .max, 0]
                )
            )
        )
        batch.append(.ackInit(root: 1, xor: .max, spoutTask: Int32(spoutTask)))
        batch.append(.ack(root: .max, xor: 12_345))
        batch.append(.fail(root: 42))
        batch.append(.treeCompleted(root: 43))
        batch.append(.treeFailed(root: 44))

        let (frames, dropped, decoded) = try Self.roundTrip(batch, task: boltTask, sources: sources)
        #expect(frames == 1)
        #expect(dropped == 0)
        let only = try #require(decoded.first)
        #expect(only.task == boltTask)
        try #require(only.batch.count == batch.count)
        for (a, b) in zip(batch, only.batch) { Self.assertSame(a, b) }
    }

    @Test func oneValueTuplesSurviveARoundTripAndKeepTheirValueInline() throws {
        let plan = TopologyPlan(topology: try Self.topology())
        let sources = WireSources(plan: plan)
        let boltTask = plan.tasks(of: "bolt")[0]
        let out = try #require(sources.sources.compactMap { $0 }.first { $0.streamId == "out" })
        var batch: ContiguousArray<Envelope> = []
        for (i, value) in Self.everyValue.enumerated() {
            batch.append(
                .tuple(Tuple(values: [value], source: out, sourceTask: boltTask, root: UInt64(i + 1), edge: 3))
            )
        }
        let (_, dropped, decoded) = try Self.roundTrip(batch, task: boltTask, sources: sources)
        #expect(dropped == 0)
        let only = try #require(decoded.first)
        try #require(only.batch.count == batch.count)
        for (a, b) in zip(batch, only.batch) {
            Self.assertSame(a, b)
            guard case .tuple(let tuple) = b, case .one = tuple.storage else {
                Issue.record("\(b) does not keep its one value inline")
                continue
            }
        }
    }

    @Test func sweepsAndTicksNeverCrossTheWire() throws {
        let sources = WireSources(plan: TopologyPlan(topology: try Self.topology()))
        let batch: ContiguousArray<Envelope> = [
            .sweep, .tuple(Tuple(values: [], source: TupleSource.tick, sourceTask: -1)), .ack(root: 1, xor: 2),
        ]
        let (_, dropped, decoded) = try Self.roundTrip(batch, sources: sources)
        #expect(dropped == 2)
        #expect(decoded.map(\.batch.count) == [1])
    }

    @Test func aBatchLargerThanAFrameIsSplitAndAnEnvelopeLargerThanAFrameIsDropped() throws {
        let sources = WireSources(plan: TopologyPlan(topology: try Self.topology()))
        let ab = try #require(sources.sources.compactMap { $0 }.first { $0.componentId == "spout" })
        var batch: ContiguousArray<Envelope> = []
        for i in 0..<100 {
            batch.append(
                .tuple(
                    Tuple(values: [.bytes(Array(repeating: 1, count: 500)), .int(Int64(i))], source: ab, sourceTask: 1)
                )
            )
        }
        batch.append(
            .tuple(Tuple(values: [.bytes(Array(repeating: 2, count: 9_000)), .int(-1)], source: ab, sourceTask: 1))
        )
        batch.append(.ack(root: 1, xor: 1))
        let (frames, dropped, decoded) = try Self.roundTrip(batch, sources: sources, maxFrameBytes: 8_192)
        #expect(frames > 5)
        #expect(dropped == 1)
        let all = decoded.flatMap(\.batch)
        #expect(all.count == 101)
        for (a, b) in zip(batch.prefix(100), all.prefix(100)) { Self.assertSame(a, b) }
    }

    @Test func consecutiveAcksOfOneTreeTravelAsOneAckOfTheirXor() throws {
        let sources = WireSources(plan: TopologyPlan(topology: try Self.topology()))
        let batch: ContiguousArray<Envelope> = [
            .ack(root: 1, xor: 0b0001), .ack(root: 1, xor: 0b0010), .ack(root: 1, xor: 0b0100),
            .ack(root: 2, xor: 8), .fail(root: 2), .ack(root: 2, xor: 16), .ack(root: 1, xor: 32),
            .ack(root: 1, xor: 32),
        ]
        let (_, _, decoded) = try Self.roundTrip(batch, sources: sources)
        let envelopes = try #require(decoded.first?.batch)
        try #require(envelopes.count == 5)
        Self.assertSame(envelopes[0], .ack(root: 1, xor: 0b0111))
        Self.assertSame(envelopes[1], .ack(root: 2, xor: 8))
        Self.assertSame(envelopes[2], .fail(root: 2))
        Self.assertSame(envelopes[3], .ack(root: 2, xor: 16))
        Self.assertSame(envelopes[4], .ack(root: 1, xor: 0))
    }

    @Test func framesSplitAcrossReadsAreReassembled() throws {
        let sources = WireSources(plan: TopologyPlan(topology: try Self.topology()))
        var encoder = EnvelopeEncoder(sources: sources)
        var writer = ByteWriter()
        defer { writer.deallocate() }
        for root in 1...50 {
            _ = FrameEncoder.appendBatch(
                [.fail(root: UInt64(root))],
                to: 1,
                encoder: &encoder,
                into: &writer,
                maxFrameBytes: 1 << 20
            )
        }
        let bytes = Array(writer.bytes)
        var splitter = FrameSplitter(maxFrameBytes: 1 << 20)
        var roots: [UInt64] = []
        var offset = 0
        var chunk = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            var buffer = ByteBufferAllocator().buffer(capacity: end - offset)
            buffer.writeBytes(bytes[offset..<end])
            splitter.append(buffer)
            while let (_, body) = try splitter.next() {
                let (_, batch) = try body.withUnsafeReadableBytes {
                    try EnvelopeDecoder.decodeBatch($0, sources: sources)
                }
                for case .fail(let root) in batch { roots.append(root) }
            }
            offset = end
            chunk = chunk % 13 + 1
        }
        #expect(roots == (1...50).map { UInt64($0) })
    }

    @Test func anOversizedOrEmptyLengthIsRejectedBeforeReadingTheBody() throws {
        for length: UInt32 in [0, 1_025, .max] {
            var splitter = FrameSplitter(maxFrameBytes: 1_024)
            var buffer = ByteBufferAllocator().buffer(capacity: 8)
            buffer.writeInteger(length, endianness: .little)
            splitter.append(buffer)
            #expect(throws: WireError.self) { _ = try splitter.next() }
        }
    }

    /// Every truncation and many corruptions of a valid batch throw a ``WireError``; none crashes.
    @Test func truncatedAndCorruptBatchesThrowInsteadOfCrashing() throws {
        let plan = TopologyPlan(topology: try Self.topology())
        let sources = WireSources(plan: plan)
        let ab = try #require(sources.sources.compactMap { $0 }.first { $0.componentId == "spout" })
        var batch: ContiguousArray<Envelope> = [.ackInit(root: 1, xor: 2, spoutTask: 5), .treeFailed(root: 3)]
        for value in Self.everyValue {
            batch.append(.tuple(Tuple(values: [value, .list([value])], source: ab, sourceTask: 5, root: 1, edge: 2)))
        }
        var encoder = EnvelopeEncoder(sources: sources)
        var writer = ByteWriter()
        defer { writer.deallocate() }
        _ = FrameEncoder.appendBatch(batch, to: 2, encoder: &encoder, into: &writer, maxFrameBytes: 1 << 20)
        let body = Array(writer.bytes.dropFirst(WireFormat.headerBytes))
        for cut in 0..<body.count {
            #expect(throws: WireError.self) {
                _ = try body[0..<cut].withUnsafeBytes { try EnvelopeDecoder.decodeBatch($0, sources: sources) }
            }
        }
        var rng = SplitMix64(seed: 42)
        var survived = 0
        for _ in 0..<3_000 {
            var corrupt = body
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                corrupt[Int(rng.next() % UInt64(corrupt.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            do {
                _ = try corrupt.withUnsafeBytes { try EnvelopeDecoder.decodeBatch($0, sources: sources) }
                survived += 1
            } catch {
                #expect(error is WireError)
            }
        }
        #expect(survived < 3_000)
    }

    @Test func valuesNestedDeeperThanTheLimitAreNotEncoded() throws {
        var value = GaleValue.int(1)
        for _ in 0..<(WireFormat.maxValueDepth + 2) { value = .list([value]) }
        var writer = ByteWriter()
        defer { writer.deallocate() }
        #expect(!EnvelopeEncoder.encode(value, into: &writer, depth: 0))
    }

    @Test func handshakesMatchOnlyTheSameTopologyEpochAndBuild() throws {
        let me = Handshake(topologyId: "t-1", epoch: 3, digest: 99, address: WorkerAddress(host: "h", port: 1))
        var other = me
        other.address = WorkerAddress(host: "other", port: 2)
        #expect(me.mismatch(other, as: .hello, secret: nil) == nil)
        var wrongEpoch = other
        wrongEpoch.epoch = 4
        #expect(me.mismatch(wrongEpoch, as: .hello, secret: nil) != nil)
        var wrongTopology = other
        wrongTopology.topologyId = "t-2"
        #expect(me.mismatch(wrongTopology, as: .hello, secret: nil) != nil)
        var wrongBuild = other
        wrongBuild.digest = 98
        #expect(me.mismatch(wrongBuild, as: .hello, secret: nil) != nil)

        let frame = other.frame(as: .hello)
        let decoded = try frame.dropFirst(WireFormat.headerBytes).withUnsafeBytes { raw in
            var r = ByteReader(raw)
            return try Handshake.decode(&r)
        }
        #expect(decoded == other)
    }

    /// With an assignment secret, a peer that knows the topology id, epoch and build but not
    /// the secret is refused, and so is a proof made for another frame type or address.
    @Test func withASecretOnlyAHandshakeProvingItMatches() throws {
        let secret = Array("the assignment's secret".utf8)
        let me = Handshake(topologyId: "t-1", epoch: 3, digest: 99, address: WorkerAddress(host: "h", port: 1))
        var peer = me
        peer.address = WorkerAddress(host: "other", port: 2)
        func received(_ frame: [UInt8]) throws -> Handshake {
            try frame.dropFirst(WireFormat.headerBytes).withUnsafeBytes { raw in
                var r = ByteReader(raw)
                return try Handshake.decode(&r)
            }
        }
        let signed = try received(peer.frame(as: .hello, secret: secret))
        #expect(signed.proof.count == 32)
        #expect(me.mismatch(signed, as: .hello, secret: secret) == nil)
        #expect(me.mismatch(signed, as: .welcome, secret: secret) == "a wrong proof of the assignment's secret")
        let unsigned = try received(peer.frame(as: .hello))
        #expect(me.mismatch(unsigned, as: .hello, secret: secret) == "no proof of the assignment's secret")
        let forged = try received(peer.frame(as: .hello, secret: Array("a guess".utf8)))
        #expect(me.mismatch(forged, as: .hello, secret: secret) == "a wrong proof of the assignment's secret")
        var moved = signed
        moved.address = WorkerAddress(host: "elsewhere", port: 2)
        #expect(me.mismatch(moved, as: .hello, secret: secret) != nil, "the proof covers the address")
    }
}
