/// Where a windowed bolt's task keeps the tuples of its windows: in memory (the default) or in a
/// durable store for windows larger than memory (`WindowStoreFactory.sqlite(directory:)` in
/// GaleTrident).
///
/// Tuples are numbered in the order they enter (sequence numbers, from 0, never reused); their
/// times never decrease. A store is used only on its task's queue.
///
/// A durable store keeps the tuples and the window's position (``position``) across restarts
/// of the task: what ``append(_:time:)`` and ``evict(before:)`` did becomes durable at
/// ``commit(position:)``; a task that restarts sees the store as of its last commit. The runner acks a
/// tuple once a commit holds it (so its spout does not replay it), not when it leaves the window.
public protocol WindowStore: AnyObject {
    /// Whether tuples survive the task (acked at commit) or not (acked when they leave).
    var isDurable: Bool { get }
    /// The sequence number of the oldest tuple held.
    var lowerBound: Int { get }
    /// The sequence number the next tuple gets.
    var upperBound: Int { get }
    /// Adds `tuple` at `time` (milliseconds) as number ``upperBound``.
    func append(_ tuple: Tuple, time: Int64) throws
    /// The time of the tuple numbered `sequence` (held).
    func time(of sequence: Int) throws -> Int64
    /// The number of the first tuple held whose time is `time` or later (``upperBound`` if none).
    func firstSequence(atOrAfter time: Int64) throws -> Int
    /// The tuples numbered `range` (held), oldest first.
    func tuples(_ range: Range<Int>) throws -> [Tuple]
    /// Drops the tuples numbered below `sequence`; returns them when the store is not durable
    /// (the runner acks them), nothing otherwise.
    func evict(before sequence: Int) throws -> [Tuple]
    /// The window's position saved with the last commit (`nil` for a new store).
    var position: WindowPosition? { get }
    /// Makes everything since the last commit durable, with `position`.
    func commit(position: WindowPosition) throws
    /// Drops everything since the last commit (after a failure): the store is as the last
    /// commit left it.
    func rollback() throws
}

/// Where a task's windows stand, kept with a durable store's tuples so a restarted task
/// evaluates the next window where the last one left off.
public struct WindowPosition: Sendable, Hashable, Codable {
    /// The sequence numbers of the last window evaluated.
    public var previousLower: Int
    public var previousUpper: Int
    /// Tuples added since the last count-slid evaluation.
    public var sinceEvaluation: Int
    /// The end of the next duration-slid window, in milliseconds.
    public var nextEnd: Int64?
    /// The latest time seen, in milliseconds.
    public var latest: Int64

    public init(previousLower: Int, previousUpper: Int, sinceEvaluation: Int, nextEnd: Int64?, latest: Int64) {
        self.previousLower = previousLower
        self.previousUpper = previousUpper
        self.sinceEvaluation = sinceEvaluation
        self.nextEnd = nextEnd
        self.latest = latest
    }
}

/// Makes each task's ``WindowStore`` (a memory store unless a durable one is configured).
public struct WindowStoreFactory: Sendable, Hashable, CustomStringConvertible {
    /// What the factory makes, for messages and equality.
    public let name: String
    /// Whether its stores are durable (``WindowStore/isDurable``).
    public let isDurable: Bool
    let make: @Sendable (TopologyContext) throws -> any WindowStore

    /// A factory named `name` of stores that are durable or not, calling `make` for each task.
    public init(
        name: String,
        isDurable: Bool,
        make: @escaping @Sendable (TopologyContext) throws -> any WindowStore
    ) {
        self.name = name
        self.isDurable = isDurable
        self.make = make
    }

    /// Tuples in the task's memory (the default).
    public static let memory = WindowStoreFactory(name: "memory", isDurable: false) { _ in MemoryWindowStore() }

    /// The store for the task of `context`.
    public func makeStore(context: TopologyContext) throws -> any WindowStore { try make(context) }

    public static func == (a: Self, b: Self) -> Bool { a.name == b.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
    public var description: String { name }
}

/// The default store: an array in the task's memory.
public final class MemoryWindowStore: WindowStore {
    private var entries: [(tuple: Tuple, time: Int64)] = []
    /// `entries[..<head]` are evicted (dropped at compaction).
    private var head = 0
    /// The sequence number of `entries[0]`.
    private var base = 0

    public init() {}

    public var isDurable: Bool { false }
    public var lowerBound: Int { base + head }
    public var upperBound: Int { base + entries.count }
    public var position: WindowPosition? { nil }

    public func append(_ tuple: Tuple, time: Int64) {
        entries.append((tuple, time))
    }

    public func time(of sequence: Int) -> Int64 { entries[sequence - base].time }

    public func firstSequence(atOrAfter time: Int64) -> Int {
        var low = head
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].time < time { low = mid + 1 } else { high = mid }
        }
        return base + low
    }

    public func tuples(_ range: Range<Int>) -> [Tuple] {
        guard !range.isEmpty else { return [] }
        return entries[(range.lowerBound - base)..<(range.upperBound - base)].map(\.tuple)
    }

    public func evict(before sequence: Int) -> [Tuple] {
        let end = min(max(sequence - base, head), entries.count)
        let evicted = entries[head..<end].map(\.tuple)
        head = end
        if head > 64, head * 2 > entries.count {
            entries.removeFirst(head)
            base += head
            head = 0
        }
        return evicted
    }

    public func commit(position: WindowPosition) {}
    public func rollback() {}
}

/// The tuples of a window, oldest first: an array, or a range of a durable store read a page at
/// a time as it is iterated (so a window larger than memory can be walked). Read it during
/// ``WindowedBolt/execute(_:)``: a durable store drops what leaves the window afterwards.
///
/// A sequence: `for`, `map`, `reduce` and the like walk it; `Array(window.tuples)` holds it
/// whole. A stored window whose store fails while it is read ends early, and the runner reports
/// the error with the window once ``WindowedBolt/execute(_:)`` returns.
public struct WindowTuples: Sequence, Sendable {
    enum Storage: @unchecked Sendable {
        case array([Tuple])
        case stored(any WindowStore, Range<Int>, ReadFailures)
    }

    let storage: Storage
    /// Tuples read from a durable store at a time.
    static let pageSize = 1_024

    init(_ tuples: [Tuple]) { storage = .array(tuples) }
    init(store: any WindowStore, range: Range<Int>, failures: ReadFailures) throws {
        storage = store.isDurable ? .stored(store, range, failures) : .array(try store.tuples(range))
    }

    /// The number of tuples.
    public var count: Int {
        switch storage {
        case .array(let tuples): tuples.count
        case .stored(_, let range, _): range.count
        }
    }

    /// Whether the window holds no tuple.
    public var isEmpty: Bool { count == 0 }

    /// The tuples as an array (the one it holds, for a window in memory).
    var array: [Tuple] {
        if case .array(let tuples) = storage { return tuples }
        return Array(self)
    }

    public var underestimatedCount: Int { count }

    public func makeIterator() -> Iterator { Iterator(storage) }

    /// Walks the tuples, a page at a time for a stored window.
    public struct Iterator: IteratorProtocol {
        private let storage: Storage
        private var page: [Tuple] = []
        private var index = 0
        private var cursor: Int
        private let end: Int

        init(_ storage: Storage) {
            self.storage = storage
            switch storage {
            case .array(let tuples):
                page = tuples
                cursor = 0
                end = 0
            case .stored(_, let range, _):
                cursor = range.lowerBound
                end = range.upperBound
            }
        }

        public mutating func next() -> Tuple? {
            if index < page.count {
                defer { index += 1 }
                return page[index]
            }
            guard case .stored(let store, _, let failures) = storage, cursor < end else { return nil }
            let upper = Swift.min(end, cursor + WindowTuples.pageSize)
            do {
                page = try store.tuples(cursor..<upper)
            } catch {
                failures.record(error, at: cursor)
                page = []
                cursor = end
                return nil
            }
            cursor = upper
            index = 0
            guard !page.isEmpty else { return nil }
            index = 1
            return page[0]
        }
    }
}

/// Errors met while a bolt read its stored windows (read on the task's queue only).
package final class ReadFailures: @unchecked Sendable {
    package init() {}

    private(set) var errors: [(error: any Error, sequence: Int)] = []

    func record(_ error: any Error, at sequence: Int) { errors.append((error, sequence)) }

    func take() -> [(error: any Error, sequence: Int)] {
        defer { errors = [] }
        return errors
    }
}
