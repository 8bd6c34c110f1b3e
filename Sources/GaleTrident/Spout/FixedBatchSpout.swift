public import Gale

/// A transactional spout over a fixed list of batches, for tests and examples: batch `txid`
/// holds `batches[txid - 1]` (emitter task `i` of `n` emits the records whose index in the batch
/// is `i` modulo `n`); past the end, batches are empty, or it starts over when `cycle` is set.
public struct FixedBatchSpout: TridentSpout {
    public let outputFields: [String]
    public let parallelism: Int
    /// The batches, in txid order.
    public let batches: [[[GaleValue]]]
    /// Whether to start over after the last batch.
    public let cycle: Bool

    /// A spout emitting `batches` with `fields`.
    public init(fields: [String], batches: [[[GaleValue]]], parallelism: Int = 1, cycle: Bool = false) {
        self.outputFields = fields
        self.batches = batches
        self.parallelism = max(1, parallelism)
        self.cycle = cycle
    }

    /// A spout emitting `records` in batches of `batchSize`.
    public init(fields: [String], records: [[GaleValue]], batchSize: Int, parallelism: Int = 1) {
        var batches: [[[GaleValue]]] = []
        var index = 0
        let size = max(1, batchSize)
        while index < records.count {
            batches.append(Array(records[index..<min(records.count, index + size)]))
            index += size
        }
        self.init(fields: fields, batches: batches, parallelism: parallelism)
    }

    public var maxBatchSize: Int { batches.map(\.count).max() ?? 0 }

    public func isReady(txid: Int64) -> Bool { cycle || txid <= Int64(batches.count) }

    public func makeEmitter(context: EmitterContext) -> any BatchEmitter {
        Emitter(spout: self, taskIndex: context.taskIndex, tasks: context.tasks)
    }

    private final class Emitter: BatchEmitter {
        let spout: FixedBatchSpout
        let taskIndex: Int
        let tasks: Int

        init(spout: FixedBatchSpout, taskIndex: Int, tasks: Int) {
            self.spout = spout
            self.taskIndex = taskIndex
            self.tasks = max(1, tasks)
        }

        func emitBatch(
            txid: Int64,
            stored: GaleValue?,
            previous: GaleValue?,
            emit: (_ values: [GaleValue]) -> Void
        ) -> GaleValue {
            guard !spout.batches.isEmpty else { return .int(-1) }
            // The metadata is the batch index: the same records for a replayed txid.
            let index: Int64
            if let stored = stored?.intValue {
                index = stored
            } else if spout.cycle {
                index = (txid - 1) % Int64(spout.batches.count)
            } else {
                index = txid - 1
            }
            guard index >= 0, index < Int64(spout.batches.count) else { return .int(-1) }
            for (position, record) in spout.batches[Int(index)].enumerated() where position % tasks == taskIndex {
                emit(record)
            }
            return .int(index)
        }
    }
}
