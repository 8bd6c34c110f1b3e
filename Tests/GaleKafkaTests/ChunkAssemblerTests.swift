import Testing

@testable import GaleKafka

@Suite struct ChunkAssemblerTests {
    let start = ContinuousClock.now

    /// A record as the consumer hands it over.
    struct Record {
        var offset: Int64
        var value: [UInt8]
        var header: [UInt8]?
    }

    func records(_ chunks: [Chunk], from offset: Int64) -> [Record] {
        var records: [Record] = []
        for (i, chunk) in chunks.enumerated() {
            records.append(Record(offset: offset + Int64(i), value: Array(chunk.body), header: chunk.headerBytes))
        }
        return records
    }

    func feed(
        _ records: [Record],
        to assembler: inout ChunkAssembler,
        partition: Int32 = 3,
        at now: ContinuousClock.Instant? = nil
    ) -> [ChunkAssemblyEvent] {
        var events: [ChunkAssemblyEvent] = []
        for record in records {
            events += assembler.add(
                partition: partition,
                offset: record.offset,
                value: record.value,
                chunkHeader: record.header,
                now: now ?? start
            )
        }
        return events
    }

    func payloads(_ events: [ChunkAssemblyEvent]) -> [AssembledPayload] {
        events.compactMap { if case .payload(let p) = $0 { p } else { nil } }
    }

    func failures(_ events: [ChunkAssemblyEvent]) -> [ChunkingError] {
        events.compactMap { if case .failed(let e) = $0 { e } else { nil } }
    }

    func skipped(_ events: [ChunkAssemblyEvent]) -> [Int64] {
        events.compactMap { if case .skipped(_, let offset, _) = $0 { offset } else { nil } }
    }

    /// Every offset reported by the events, in any role, sorted (duplicates kept, to catch them).
    func reportedOffsets(_ events: [ChunkAssemblyEvent]) -> [Int64] {
        var offsets: [Int64] = []
        for event in events {
            switch event {
            case .payload(let payload): offsets += payload.offsets
            case .failed(let error): offsets += error.offsets
            case .skipped(_, let offset, _): offsets.append(offset)
            }
        }
        return offsets.sorted()
    }

    // MARK: - Round trips

    static let megabyteLimitChunk = ChunkEncoder.chunkBytes(forMessageLimit: 1_048_576)

    @Test(arguments: [100, 1_000_000, 20_000_000, 110 * 1_048_576])
    func aPayloadRoundTripsByteIdenticalInChunksBelowAOneMegabyteLimit(size: Int) throws {
        var generator = SplitMix64(seed: UInt64(size))
        let value = randomBytes(size, using: &generator)
        let encoder = ChunkEncoder(maxChunkBytes: Self.megabyteLimitChunk)
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 256 * 1_048_576))
        let clock = ContinuousClock()

        let encodeStart = clock.now
        let chunks = encoder.encode(value)
        let encodeTime = clock.now - encodeStart
        #expect(chunks.count == (size + Self.megabyteLimitChunk - 1) / Self.megabyteLimitChunk)
        for chunk in chunks {
            #expect(chunk.body.count + (chunk.headerBytes?.count ?? 0) < 1_048_576)
        }
        let input = records(chunks, from: 1000)

        let decodeStart = clock.now
        let events = feed(input, to: &assembler)
        let decodeTime = clock.now - decodeStart

        let delivered = payloads(events)
        try #require(delivered.count == 1 && events.count == 1)
        #expect(delivered[0].value == value)
        #expect(delivered[0].offsets == Array(1000..<1000 + Int64(chunks.count)))
        #expect(delivered[0].firstOffset == 1000)
        #expect(delivered[0].lastOffset == 1000 + Int64(chunks.count) - 1)
        #expect(delivered[0].partition == 3)
        #expect((delivered[0].payloadID == nil) == (chunks.count == 1))
        #expect(assembler.bytesInProgress == 0)
        #expect(assembler.openPayloadCount == 0)
        if size > 100_000_000 {
            func rate(_ d: Duration) -> Int {
                let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
                return Int(Double(size) / 1e6 / max(seconds, 1e-9))
            }
            print(
                "chunking \(size) bytes in \(chunks.count) chunks: encode \(encodeTime) (\(rate(encodeTime)) MB/s), "
                    + "reassemble \(decodeTime) (\(rate(decodeTime)) MB/s), "
                    + "both \(rate(encodeTime + decodeTime)) MB/s (this build's optimisation level)"
            )
        }
    }

    @Test func aRecordWithoutAChunkHeaderIsDeliveredAsIs() {
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 1000))
        let events = assembler.add(partition: 0, offset: 41, value: [1, 2, 3], chunkHeader: nil, now: start)
        let delivered = payloads(events)
        #expect(delivered.count == 1)
        #expect(delivered.first?.value == [1, 2, 3])
        #expect(delivered.first?.offsets == [41])
        #expect(delivered.first?.payloadID == nil)
    }

    // MARK: - Corruption

    @Test func aCorruptedChunkFailsItsPayloadAndTheRestIsSkipped() {
        var generator = SplitMix64(seed: 5)
        let chunks = ChunkEncoder(maxChunkBytes: 100).encode(randomBytes(550, using: &generator))
        var input = records(chunks, from: 0)
        input[2].value[17] ^= 0x40
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 10_000))
        let events = feed(input, to: &assembler)
        #expect(payloads(events).isEmpty)
        let errors = failures(events)
        #expect(errors.count == 1)
        #expect(errors.first?.code == .checksumMismatch)
        #expect(errors.first?.partition == 3)
        #expect(errors.first?.payloadID == chunks[0].header?.payloadID)
        #expect(errors.first?.offsets == [0, 1, 2])
        #expect(skipped(events) == [3, 4, 5])
        #expect(reportedOffsets(events) == Array(0...5))
        #expect(assembler.bytesInProgress == 0)
        let description = errors.first.map(String.init(describing:)) ?? ""
        #expect(description.contains("partition [3]"))
        #expect(description.contains("offsets 0...2"))
        #expect(description.contains(chunks[0].header?.payloadID.description ?? "?"))
    }

    @Test func aCorruptedHeaderFieldIsCaughtByTheChunkChecksum() {
        var generator = SplitMix64(seed: 6)
        let chunks = ChunkEncoder(maxChunkBytes: 100).encode(randomBytes(300, using: &generator))
        var input = records(chunks, from: 0)
        input[1].header?[43] ^= 1  // payload checksum field
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 10_000))
        let events = feed(input, to: &assembler)
        #expect(payloads(events).isEmpty)
        #expect(failures(events).map(\.code) == [.checksumMismatch])
        #expect(reportedOffsets(events) == [0, 1, 2])
    }

    @Test func aTruncatedChunkIsInconsistent() {
        var generator = SplitMix64(seed: 7)
        let chunks = ChunkEncoder(maxChunkBytes: 100).encode(randomBytes(300, using: &generator))
        var input = records(chunks, from: 0)
        input[0].value.removeLast()
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 10_000))
        let events = feed(input, to: &assembler)
        #expect(failures(events).map(\.code) == [.inconsistentChunk])
        #expect(failures(events).first?.offsets == [0])
        #expect(skipped(events) == [1, 2])
    }

    @Test func aMalformedChunkHeaderFailsOnlyItsRecord() {
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 10_000))
        let events = assembler.add(partition: 1, offset: 9, value: [1], chunkHeader: [0x47, 0x4B], now: start)
        #expect(failures(events).map(\.code) == [.malformedHeader])
        #expect(failures(events).first?.offsets == [9])
        #expect(failures(events).first?.payloadID == nil)
    }

    @Test func chunksThatDisagreeOnTheirPayloadsShapeAreInconsistent() {
        var generator = SplitMix64(seed: 8)
        let id = PayloadID.random(using: &generator)
        let value = randomBytes(300, using: &generator)
        let first = ChunkEncoder(maxChunkBytes: 100).encode(value, payloadID: id)
        let second = ChunkEncoder(maxChunkBytes: 150).encode(value, payloadID: id)
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 10_000))
        let events = feed([records(first, from: 0)[0], records(second, from: 1)[1]], to: &assembler)
        #expect(failures(events).map(\.code) == [.inconsistentChunk])
        #expect(failures(events).first?.offsets == [0, 2])
    }

    // MARK: - Missing chunks

    @Test func aMissingChunkIsDetectedByTheOffsetGap() {
        var generator = SplitMix64(seed: 9)
        let chunks = ChunkEncoder(maxChunkBytes: 100).encode(randomBytes(400, using: &generator))
        var input = records(chunks, from: 0)
        input.remove(at: 2)
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 10_000, maxOffsetGap: 50))
        var events = feed(input, to: &assembler)
        #expect(events.isEmpty)
        #expect(assembler.openPayloads(partition: 3) == 1)
        events = feed([Record(offset: 40, value: [1], header: nil)], to: &assembler)
        #expect(events.count == 1)
        events = feed([Record(offset: 54, value: [2], header: nil)], to: &assembler)
        let errors = failures(events)
        #expect(errors.map(\.code) == [.missingChunk])
        #expect(errors.first?.offsets == [0, 1, 3])
        #expect(payloads(events).map(\.offsets) == [[54]])
        #expect(assembler.bytesInProgress == 0)
        // The missing chunk arriving late is skipped, not the start of a new payload.
        events = feed([records(chunks, from: 60)[2]], to: &assembler)
        #expect(skipped(events) == [62])
        #expect(assembler.openPayloadCount == 0)
    }

    @Test func aMissingChunkIsDetectedByTheTimeout() {
        var generator = SplitMix64(seed: 10)
        let chunks = ChunkEncoder(maxChunkBytes: 100).encode(randomBytes(400, using: &generator))
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 10_000, timeout: .seconds(30)))
        #expect(feed(Array(records(chunks, from: 0).prefix(3)), to: &assembler).isEmpty)
        #expect(assembler.expire(now: start + .seconds(29)).isEmpty)
        let errors = failures(assembler.expire(now: start + .seconds(31)))
        #expect(errors.map(\.code) == [.missingChunk])
        #expect(errors.first?.offsets == [0, 1, 2])
        #expect(assembler.bytesInProgress == 0)
    }

    @Test func tooManyOpenPayloadsFailTheOldest() {
        var generator = SplitMix64(seed: 11)
        let encoder = ChunkEncoder(maxChunkBytes: 100)
        let a = encoder.encode(randomBytes(300, using: &generator))
        let bValue = randomBytes(300, using: &generator)
        let b = encoder.encode(bValue)
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 10_000, maxOpenPayloadsPerPartition: 1))
        let events = feed(Array(records(a, from: 0).prefix(2)) + records(b, from: 2), to: &assembler)
        #expect(failures(events).map(\.code) == [.missingChunk])
        #expect(failures(events).first?.offsets == [0, 1])
        #expect(payloads(events).map(\.value) == [bValue])
        #expect(payloads(events).map(\.offsets) == [[2, 3, 4]])
    }

    // MARK: - Interleaving and duplicates

    @Test func interleavedPayloadsAndPlainRecordsAreEachReassembled() {
        var generator = SplitMix64(seed: 12)
        let encoder = ChunkEncoder(maxChunkBytes: 100)
        let aValue = randomBytes(350, using: &generator)
        let bValue = randomBytes(250, using: &generator)
        let a = encoder.encode(aValue)
        let b = encoder.encode(bValue)
        // Offsets: a0 b0 plain a1 b1 a2 plain b2 a3
        let input: [Record] = [
            Record(offset: 10, value: Array(a[0].body), header: a[0].headerBytes),
            Record(offset: 11, value: Array(b[0].body), header: b[0].headerBytes),
            Record(offset: 12, value: [42], header: nil),
            Record(offset: 13, value: Array(a[1].body), header: a[1].headerBytes),
            Record(offset: 14, value: Array(b[1].body), header: b[1].headerBytes),
            Record(offset: 15, value: Array(a[2].body), header: a[2].headerBytes),
            Record(offset: 16, value: [43], header: nil),
            Record(offset: 17, value: Array(b[2].body), header: b[2].headerBytes),
            Record(offset: 18, value: Array(a[3].body), header: a[3].headerBytes),
        ]
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 600))
        let delivered = payloads(feed(input, to: &assembler))
        #expect(delivered.map(\.value) == [[42], [43], bValue, aValue])
        #expect(delivered.map(\.offsets) == [[12], [16], [11, 14, 17], [10, 13, 15, 18]])
        #expect(assembler.bytesInProgress == 0)
    }

    @Test func chunksOutOfOrderAreReassembled() {
        var generator = SplitMix64(seed: 13)
        let value = randomBytes(450, using: &generator)
        let chunks = ChunkEncoder(maxChunkBytes: 100).encode(value)
        let order = [0, 3, 1, 4, 2]
        var input: [Record] = []
        for (i, index) in order.enumerated() {
            input.append(Record(offset: Int64(i), value: Array(chunks[index].body), header: chunks[index].headerBytes))
        }
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 10_000))
        let delivered = payloads(feed(input, to: &assembler))
        #expect(delivered.map(\.value) == [value])
    }

    @Test func anIdenticalDuplicateChunkIsSkippedDuringAndAfterItsPayload() {
        var generator = SplitMix64(seed: 14)
        let value = randomBytes(300, using: &generator)
        let chunks = ChunkEncoder(maxChunkBytes: 100).encode(value)
        let c = records(chunks, from: 0)
        // c0 c1 c1(dup) c2 c2(dup, after completion)
        let input = [
            c[0], c[1], Record(offset: 2, value: c[1].value, header: c[1].header),
            Record(offset: 3, value: c[2].value, header: c[2].header),
            Record(offset: 4, value: c[2].value, header: c[2].header),
        ]
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 10_000))
        let events = feed(input, to: &assembler)
        #expect(payloads(events).map(\.value) == [value])
        #expect(payloads(events).map(\.offsets) == [[0, 1, 3]])
        #expect(skipped(events) == [2, 4])
        #expect(failures(events).isEmpty)
        #expect(reportedOffsets(events) == [0, 1, 2, 3, 4])
    }

    @Test func aDuplicateChunkWithOtherContentsFailsThePayload() throws {
        var generator = SplitMix64(seed: 15)
        let value = randomBytes(300, using: &generator)
        let good = records(ChunkEncoder(maxChunkBytes: 100).encode(value), from: 0)
        // Chunk 1 again, with the same header fields but another (self-consistent) body.
        let header = try ChunkHeader(decoding: try #require(good[1].header))
        let otherBody = randomBytes(100, using: &generator)
        let resealed = header.sealed(bodyChecksum: CRC32C.checksum(otherBody)).bytes
        let bad = Record(offset: 2, value: otherBody, header: resealed)
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 10_000))
        let events = feed(
            [good[0], good[1], bad, Record(offset: 3, value: good[2].value, header: good[2].header)],
            to: &assembler
        )
        #expect(payloads(events).isEmpty)
        #expect(failures(events).map(\.code) == [.conflictingDuplicate])
        #expect(failures(events).first?.offsets == [0, 1, 2])
        #expect(skipped(events) == [3])
    }

    @Test func chunksOfAnotherPayloadShapeUnderTheSameIdAreInconsistent() {
        var generator = SplitMix64(seed: 19)
        let id = PayloadID.random(using: &generator)
        let encoder = ChunkEncoder(maxChunkBytes: 100)
        let value = randomBytes(300, using: &generator)
        var other = value
        other[150] ^= 1
        let good = records(encoder.encode(value, payloadID: id), from: 0)
        let bad = records(encoder.encode(other, payloadID: id), from: 1)
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 10_000))
        let events = feed([good[0], bad[1]], to: &assembler)
        #expect(failures(events).map(\.code) == [.inconsistentChunk])
        #expect(failures(events).first?.offsets == [0, 2])
    }

    // MARK: - Memory budget

    @Test func aPayloadLargerThanTheBudgetIsRejectedAndItsChunksAreSkipped() {
        var generator = SplitMix64(seed: 16)
        let chunks = ChunkEncoder(maxChunkBytes: 100).encode(randomBytes(1001, using: &generator))
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 1000))
        let events = feed(records(chunks, from: 0), to: &assembler)
        #expect(payloads(events).isEmpty)
        let errors = failures(events)
        #expect(errors.map(\.code) == [.budgetExceeded])
        #expect(errors.first?.offsets == [0])
        #expect(errors.first?.detail.contains("larger than the budget of 1000 bytes") == true)
        #expect(skipped(events) == Array(1...10))
        #expect(assembler.bytesInProgress == 0)
    }

    @Test func aPayloadThatWouldPushPastTheBudgetIsRejectedWhileOthersComplete() {
        var generator = SplitMix64(seed: 17)
        let encoder = ChunkEncoder(maxChunkBytes: 100)
        let aValue = randomBytes(600, using: &generator)
        let a = records(encoder.encode(aValue), from: 0)
        let b = records(encoder.encode(randomBytes(600, using: &generator)), from: 100)
        let cValue = randomBytes(600, using: &generator)
        let c = records(encoder.encode(cValue), from: 200)
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 1000))
        var events = feed(Array(a.prefix(3)), to: &assembler)
        #expect(assembler.bytesInProgress == 600)
        events += feed(b, to: &assembler)  // b0 rejected: 600 + 600 > 1000
        events += feed(Array(a.dropFirst(3)), to: &assembler)
        events += feed(c, to: &assembler)
        #expect(failures(events).map(\.code) == [.budgetExceeded])
        #expect(failures(events).first?.offsets == [100])
        #expect(skipped(events) == Array(101...105))
        #expect(payloads(events).map(\.value) == [aValue, cValue])
        #expect(assembler.bytesInProgress == 0)
    }

    @Test func aPayloadThatFitsAloneWaitsForMemoryOnlyWhenItsPartitionHasNoOpenPayload() throws {
        var generator = SplitMix64(seed: 19)
        let encoder = ChunkEncoder(maxChunkBytes: 100)
        let a = records(encoder.encode(randomBytes(600, using: &generator)), from: 0)
        let b = records(encoder.encode(randomBytes(600, using: &generator)), from: 100)
        let huge = records(encoder.encode(randomBytes(1001, using: &generator)), from: 200)
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 1000))
        let bHeader = try #require(b.first?.header)
        #expect(!assembler.mustWaitForMemory(partition: 2, chunkHeader: bHeader), "room for it")
        _ = feed(Array(a.prefix(3)), to: &assembler, partition: 1)
        #expect(assembler.mustWaitForMemory(partition: 2, chunkHeader: bHeader), "another partition holds the memory")
        #expect(!assembler.mustWaitForMemory(partition: 1, chunkHeader: bHeader), "its own partition holds it")
        #expect(
            !assembler.mustWaitForMemory(partition: 2, chunkHeader: try #require(huge.first?.header)),
            "larger than the budget: rejected, not waited for"
        )
        #expect(!assembler.mustWaitForMemory(partition: 2, chunkHeader: [1, 2, 3]), "unreadable: add() reports it")
        _ = feed(Array(a.dropFirst(3)), to: &assembler, partition: 1)
        #expect(!assembler.mustWaitForMemory(partition: 2, chunkHeader: bHeader), "memory freed")
        #expect(payloads(feed(b, to: &assembler, partition: 2)).count == 1)
    }

    @Test func removingAPartitionReleasesItsMemory() {
        var generator = SplitMix64(seed: 18)
        let chunks = ChunkEncoder(maxChunkBytes: 100).encode(randomBytes(600, using: &generator))
        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 1000))
        _ = feed(Array(records(chunks, from: 0).prefix(2)), to: &assembler, partition: 1)
        #expect(assembler.bytesInProgress == 600)
        assembler.removePartition(1)
        #expect(assembler.bytesInProgress == 0)
        #expect(assembler.openPayloads(partition: 1) == 0)
    }

    // MARK: - Randomized

    /// Random payloads, interleaved, with dropped, duplicated, reordered and corrupted chunks:
    /// every offset is reported exactly once and every delivered payload is one that was encoded, intact.
    @Test(arguments: [1, 2, 3, 4, 5])
    func everyOffsetIsReportedOnceAndNothingCorruptIsDelivered(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let encoder = ChunkEncoder(maxChunkBytes: 64)
        var originals: [PayloadID: [UInt8]] = [:]
        var queue: [(value: [UInt8], header: [UInt8]?)] = []
        var pending: [[(value: [UInt8], header: [UInt8]?)]] = []
        for _ in 0..<300 {
            let value = randomBytes(Int.random(in: 1...500, using: &generator), using: &generator)
            let id = PayloadID.random(using: &generator)
            originals[id] = value
            var parts = encoder.encode(value, payloadID: id).map { (value: Array($0.body), header: $0.headerBytes) }
            let fate = Int.random(in: 0..<20, using: &generator)
            if fate == 0, parts.count > 1 { parts.remove(at: Int.random(in: 0..<parts.count, using: &generator)) }
            if fate == 1 { parts.append(parts[Int.random(in: 0..<parts.count, using: &generator)]) }
            if fate == 2 {
                let i = Int.random(in: 0..<parts.count, using: &generator)
                parts[i].value[Int.random(in: 0..<parts[i].value.count, using: &generator)] ^= 0x10
            }
            if fate == 3 { parts.shuffle(using: &generator) }
            pending.append(parts)
            // Interleave up to three payloads at a time.
            while pending.count > Int.random(in: 0...2, using: &generator) {
                let i = Int.random(in: 0..<pending.count, using: &generator)
                queue.append(pending[i].removeFirst())
                if pending[i].isEmpty { pending.remove(at: i) }
            }
        }
        for parts in pending { queue += parts }

        var assembler = ChunkAssembler(configuration: .init(memoryBudget: 2000, maxOffsetGap: 40))
        var events: [ChunkAssemblyEvent] = []
        for (offset, record) in queue.enumerated() {
            events += assembler.add(
                partition: 0,
                offset: Int64(offset),
                value: record.value,
                chunkHeader: record.header,
                now: start
            )
        }
        events += assembler.expire(now: start + .seconds(1000))
        #expect(reportedOffsets(events) == Array(0..<Int64(queue.count)))
        for payload in payloads(events) {
            if let id = payload.payloadID {
                #expect(originals[id] == payload.value)
            }
        }
        #expect(payloads(events).count > 200)
        #expect(assembler.bytesInProgress == 0)
    }
}
