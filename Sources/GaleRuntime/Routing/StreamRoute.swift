package import Gale

/// How one subscriber of a stream picks its target tasks, with the grouping's own state.
///
/// Threading: owned by one emitting executor; used only on its queue.
package final class TargetRoute {
    package enum Kind {
        case shuffle
        case fields([Int])
        case all
        case global
        case direct
        case partialKey([Int])
        case custom(any CustomStreamGrouping)
    }

    /// The grouping without its payload: switched on per tuple without copying an array or an
    /// existential.
    private enum Mode {
        case shuffle, fields, all, global, direct, partialKey, custom
    }

    /// `next` and `sentPerTask` change per tuple: keep them off other objects' cache lines.
    private let headPadding = CacheLinePadding()
    package let kind: Kind
    private let mode: Mode
    /// The grouping fields' indices (fields and partial key groupings), owned by this route.
    private let indices: UnsafeMutableBufferPointer<Int>
    /// The subscriber's tasks (for `.localOrShuffle`, the local ones when there are any).
    package let tasks: [Int]
    /// The subscriber's component id.
    package let component: String
    /// `tasks.count - 1` when the count is a power of two (then `hash & mask` is `hash % count`
    /// without a 64-bit division, which cost more than the rest of a fields-grouped emit's
    /// routing); `nil` otherwise.
    private let taskMask: UInt64?
    private var next: Int
    private var sentPerTask: [Int]
    /// Tuples sent to the subscriber so far (the edge's count in the statistics).
    package private(set) var sent: UInt64 = 0
    private let tailPadding = CacheLinePadding()

    package init(kind: Kind, tasks: [Int], component: String, seed: Int) {
        self.kind = kind
        self.tasks = tasks
        self.component = component
        self.next = tasks.isEmpty ? 0 : seed % tasks.count
        self.taskMask = tasks.count > 0 && tasks.count & (tasks.count - 1) == 0 ? UInt64(tasks.count - 1) : nil
        self.sentPerTask = Array(repeating: 0, count: tasks.count)
        var fieldIndices: [Int] = []
        switch kind {
        case .shuffle: mode = .shuffle
        case .fields(let i):
            mode = .fields
            fieldIndices = i
        case .all: mode = .all
        case .global: mode = .global
        case .direct: mode = .direct
        case .partialKey(let i):
            mode = .partialKey
            fieldIndices = i
        case .custom: mode = .custom
        }
        indices = .allocate(capacity: fieldIndices.count)
        _ = indices.initialize(from: fieldIndices)
    }

    deinit {
        indices.deallocate()
    }

    /// `true` when the grouping sends each tuple to exactly one task (shuffle, fields, global,
    /// partial key) and the subscriber has tasks: ``pickOne(_:)`` picks it.
    package var picksOne: Bool {
        guard !tasks.isEmpty else { return false }
        switch mode {
        case .shuffle, .fields, .global, .partialKey: return true
        case .all, .direct, .custom: return false
        }
    }

    /// The task a tuple with `values` goes to, counted as sent. Only when ``picksOne``.
    @inline(__always)
    package func pickOne(_ values: borrowing TupleValues) -> Int {
        sent &+= 1
        switch mode {
        case .shuffle:
            let t = tasks[next]
            next += 1
            if next == tasks.count { next = 0 }
            return t
        case .fields:
            // One task takes every key: no hash to compute.
            if taskMask == 0 { return tasks[0] }
            return tasks[slot(fieldsHash(values))]
        case .partialKey:
            let hash = fieldsHash(values)
            let first = slot(hash)
            let second = slot(Self.rehash(hash))
            let chosen = sentPerTask[second] < sentPerTask[first] ? second : first
            sentPerTask[chosen] += 1
            return tasks[chosen]
        case .global, .all, .direct, .custom:
            return tasks[0]
        }
    }

    /// `hash % tasks.count`, the index of the task a key goes to in every process.
    @inline(__always)
    private func slot(_ hash: UInt64) -> Int {
        if let taskMask { return Int(truncatingIfNeeded: hash & taskMask) }
        return Int(truncatingIfNeeded: hash % UInt64(tasks.count))
    }

    /// ``GaleValue/fieldsHash(of:at:)`` of `values` at the grouping's field indices.
    @inline(__always)
    private func fieldsHash(_ values: borrowing TupleValues) -> UInt64 {
        var hash = GaleValue.hashSeed
        for index in indices { values[index].stableHash(into: &hash) }
        return hash
    }

    /// Calls `body` with every target task of a tuple with `values`.
    @inline(__always)
    package func forEachTarget(sourceTask: Int, values: borrowing TupleValues, _ body: (Int) -> Void) {
        switch mode {
        case .shuffle, .fields, .global, .partialKey:
            guard !tasks.isEmpty else { return }
            body(pickOne(values))
        case .all:
            sent &+= UInt64(tasks.count)
            for t in tasks { body(t) }
        case .direct:
            break
        case .custom:
            guard case .custom(let grouping) = kind else { return }
            for t in grouping.chooseTasks(sourceTask: sourceTask, values: values.array) where tasks.contains(t) {
                sent &+= 1
                body(t)
            }
        }
    }

    /// Counts a tuple sent to one of the tasks with `emitDirect`.
    @inline(__always)
    package func countDirect() { sent &+= 1 }

    @inline(__always)
    static func rehash(_ h: UInt64) -> UInt64 {
        var z = h &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One output stream of an emitting task: its source and its subscribers.
package final class StreamRoute {
    /// `emitted` changes per tuple: keep it off other objects' cache lines.
    private let headPadding = CacheLinePadding()
    package let source: TupleSource
    package let isDirect: Bool
    package let targets: [TargetRoute]
    /// The one subscriber, when the stream has exactly one and its grouping picks one task per
    /// tuple (``TargetRoute/picksOne``): the emit path's case without a loop or a closure. An
    /// unretained reference: `targets` keeps it alive as long as this route.
    package let singleRef: Unmanaged<TargetRoute>?
    /// ``source`` without reference counting (sources are immortal).
    package let sourceRef: Unmanaged<TupleSource>
    /// The number of the stream's fields (the values an emit must have).
    package let fieldCount: Int
    /// Every task of every subscriber using direct grouping (valid `emitDirect` targets).
    package let directTasks: Set<Int>
    /// Tuples the owning task emitted on this stream so far.
    package var emitted: UInt64 = 0
    /// The route's position in its ``RoutingTable/ordered``.
    package fileprivate(set) var index = 0
    private let tailPadding = CacheLinePadding()

    package init(source: TupleSource, isDirect: Bool, targets: [TargetRoute]) {
        self.source = source
        self.isDirect = isDirect
        self.targets = targets
        self.singleRef = targets.count == 1 && targets[0].picksOne ? Unmanaged.passUnretained(targets[0]) : nil
        self.sourceRef = Unmanaged.passUnretained(source)
        self.fieldCount = source.fields.count
        var direct = Set<Int>()
        for target in targets {
            if case .direct = target.kind { direct.formUnion(target.tasks) }
        }
        self.directTasks = direct
    }

    /// Counts a tuple sent with `emitDirect` to `task` on the subscriber that has it.
    @inline(__always)
    package func countDirect(to task: Int) {
        if targets.count == 1 {
            targets[0].countDirect()
        } else if let target = targets.first(where: { $0.tasks.contains(task) }) {
            target.countDirect()
        }
    }
}

/// The output streams of one emitting task, by stream id.
package struct RoutingTable {
    package let routes: [String: StreamRoute]
    /// The default stream's route, looked up without hashing, as an unretained reference:
    /// `routes` keeps it alive as long as this table.
    package let defaultRef: Unmanaged<StreamRoute>?

    /// The routes in stream id order; each route's ``StreamRoute/index`` is its position here.
    package let ordered: [StreamRoute]

    package init(routes: [String: StreamRoute]) {
        self.routes = routes
        self.defaultRef = routes[Topology.defaultStreamId].map { Unmanaged.passUnretained($0) }
        self.ordered = routes.keys.sorted().compactMap { routes[$0] }
        for (i, route) in ordered.enumerated() { route.index = i }
    }

    /// The route of `stream`.
    package func route(_ stream: String) -> StreamRoute? {
        routeRef(stream)?.takeUnretainedValue()
    }

    /// The route of `stream` as an unretained reference (the table keeps every route alive):
    /// the per-tuple path uses it through `_withUnsafeGuaranteedRef`, which retains nothing.
    @inline(__always)
    package func routeRef(_ stream: String) -> Unmanaged<StreamRoute>? {
        if stream == Topology.defaultStreamId { return defaultRef }
        return routes[stream].map { Unmanaged.passUnretained($0) }
    }

    /// What the task owning this table emitted and transferred per stream so far, with the
    /// trees `acked` and `failed` per stream (spouts; indexed like ``ordered``). Call on its queue.
    package func outputRows(of component: String, acked: [UInt64] = [], failed: [UInt64] = []) -> [StreamStatsRow] {
        ordered.map { route in
            var row = StreamStatsRow(component: component, stream: route.source.streamId)
            row.emitted = route.emitted
            row.transferred = route.targets.reduce(0) { $0 &+ $1.sent }
            if route.index < acked.count { row.acked = acked[route.index] }
            if route.index < failed.count { row.failed = failed[route.index] }
            return row
        }
    }

    /// Tuples sent along each edge so far by the task owning this table (call on its queue).
    package func edgeCounts(from component: String) -> [EdgeCount] {
        var result: [EdgeCount] = []
        for (stream, route) in routes {
            for target in route.targets {
                result.append(
                    EdgeCount(from: component, stream: stream, to: target.component, transferred: target.sent)
                )
            }
        }
        return result
    }
}
