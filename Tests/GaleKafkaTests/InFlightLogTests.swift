import Testing

@testable import GaleKafka

@Suite struct InFlightLogTests {
    @Test func entriesAreFoundAndRemovedByPartitionAndOffset() {
        var log = InFlightLog<String>()
        for offset in Int64(0)..<5 { log.insert("p0-\(offset)", partition: 0, offset: offset) }
        log.insert("p3-7", partition: 3, offset: 7)
        #expect(log[0, 2] == "p0-2")
        #expect(log[3, 7] == "p3-7")
        #expect(log[1, 0] == nil, "a partition never seen")
        #expect(log[0, 9] == nil, "an offset never held")
        #expect(log.remove(partition: 0, offset: 2) == "p0-2")
        #expect(log.remove(partition: 0, offset: 2) == nil, "removed once")
        #expect(log[0, 3] == "p0-3")
        #expect(log.remove(partition: -1, offset: 0) == nil)
    }

    @Test func aLaterPayloadWithAnEarlierFirstOffsetIsInsertedInPlace() {
        var log = InFlightLog<Int>()
        log.insert(10, partition: 0, offset: 10)
        log.insert(15, partition: 0, offset: 15)
        log.insert(12, partition: 0, offset: 12)  // a payload whose first chunk was at 12 completed after 15
        #expect(log[0, 12] == 12)
        #expect(log.remove(partition: 0, offset: 10) == 10)
        #expect(log.remove(partition: 0, offset: 15) == 15)
        #expect(log.remove(partition: 0, offset: 12) == 12)
        log.insert(16, partition: 0, offset: 16)
        #expect(log[0, 16] == 16)
    }

    @Test func manyEntriesRemovedOutOfOrderAreAllFound() {
        var log = InFlightLog<Int64>()
        var generator = SystemRandomNumberGenerator()
        var held: [Int64] = []
        var next: Int64 = 0
        for _ in 0..<20_000 {
            if held.isEmpty || Bool.random(using: &generator) {
                next += Int64.random(in: 1...3, using: &generator)
                log.insert(next, partition: 1, offset: next)
                held.append(next)
            } else {
                let offset = held.remove(at: Int.random(in: 0..<held.count, using: &generator))
                #expect(log.remove(partition: 1, offset: offset) == offset)
            }
        }
        for offset in held { #expect(log[1, offset] == offset) }
    }
}
