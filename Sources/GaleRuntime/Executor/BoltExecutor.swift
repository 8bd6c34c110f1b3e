import Dispatch
package import Gale
import Synchronization

/// Runs one bolt task: drains its inbox in batches, calls `execute`, and turns acks and fails
/// into acker messages.
///
/// Threading: the bolt and all state here are touched only on the executor's queue.
package final class BoltExecutor: Executor, OutputCollector, @unchecked Sendable {
    /// One in this many executes is timed for the execute-latency histogram.
    static let sampleMask: UInt32 = 15

    /// The bolt, when the component is a ``Bolt`` (stored apart so `execute` needs no copy).
    let bolt: (any Bolt)?
    /// The bolt and its collector, when the component is a ``BasicBolt``.
    let basicBolt: (any BasicBolt)?
    let basicCollector: BasicCollector
    let routes: RoutingTable
    override var routeTable: RoutingTable? { routes }
    let tracking: Bool
    let debug: Bool
    /// XOR of the edges emitted anchored to each input still unacked, keyed by the input's edge id.
    var ackValues: [UInt64: UInt64] = [:]
    var cachedKey: UInt64 = 0
    var cachedValue: UInt64 = 0
    /// Where the drain stopped in `taken` when it paused: (batch, index).
    var cursor = (batch: 0, index: 0)
    /// Counts per input stream (`inputCapacity` slots, `inputSources.count` used), owned by
    /// this executor: written per tuple without the uniqueness check of an array.
    var inputs: UnsafeMutablePointer<InputCounts>
    var inputCapacity = 4
    /// The sources of the input streams counted, in slot order, and their serial numbers.
    var inputSources: [TupleSource] = []
    var inputSerials: [Int] = []
    /// The slot of the last tuple's input stream, and that stream's serial number.
    var lastInput = 0
    var lastSerial = -1

    /// Keeps this object's hot fields off the cache lines of whatever is allocated after it.
    private let tailPadding = CacheLinePadding()

    override var statusReporter: (any StatusReporting)? {
        (bolt as? any StatusReporting) ?? (basicBolt as? any StatusReporting)
    }

    init(taskId: Int, spec: ComponentSpec, routes: RoutingTable, environment: ExecutorEnvironment) {
        self.routes = routes
        self.tracking = environment.config.ackers > 0
        self.debug = environment.config.debug
        switch spec.factory {
        case .bolt(let make):
            self.bolt = make()
            self.basicBolt = nil
        case .basicBolt(let make):
            self.bolt = nil
            self.basicBolt = make()
        case .spout:
            preconditionFailure("BoltExecutor for spout [\(spec.id)]")
        }
        self.basicCollector = BasicCollector()
        self.inputs = .allocate(capacity: inputCapacity)
        super.init(taskId: taskId, componentId: spec.id, environment: environment, watchesWatermarks: true)
        basicCollector.executor = self
    }

    deinit {
        inputs.deallocate()
    }

    // MARK: - Drain

    override func run() {
        guard !stopped else { return }
        let start = monotonicNanos()
        var now = start
        refreshSampling()
        // Keep draining while input is queued, up to a time slice (re-queueing after every batch
        // would hand the thread to another executor each time), and stop at once when a queue
        // this bolt feeds is overloaded: the rest of the taken input waits at `cursor`.
        draining: while !isThrottled && now &- start < Self.timeSliceNanos {
            if cursor.batch == taken.count {
                taken.removeAll(keepingCapacity: true)
                cursor = (0, 0)
                guard inbox.take(into: &taken, limit: Self.drainLimit) > 0 else { break }
            }
            while cursor.batch < taken.count {
                let batch = taken[cursor.batch]
                while cursor.index < batch.count {
                    let envelope = batch[cursor.index]
                    cursor.index += 1
                    guard case .tuple(let tuple) = envelope else { continue }
                    let input = inputSlot(tuple)
                    if sampleSchedule.countdown != 0 { sample(stream: tuple.source.streamId, values: tuple.values) }
                    local.sampleCounter &+= 1
                    if local.sampleCounter & Self.sampleMask == 0 {
                        let t0 = monotonicNanos()
                        execute(tuple)
                        local.counters.executeLatency.record(monotonicNanos() &- t0)
                    } else {
                        execute(tuple)
                    }
                    local.counters.executed &+= 1
                    inputs[input].executed &+= 1
                    if isThrottled {
                        now = monotonicNanos()
                        break draining
                    }
                }
                cursor = (cursor.batch + 1, 0)
            }
            outbox.flush()
            now = monotonicNanos()
        }
        outbox.flush()
        local.busyNanos &+= now &- start
        let holdsInput = cursor.batch < taken.count
        finishRun(now: now, wantsMore: { holdsInput && !isThrottled }, paused: { isThrottled })
    }

    @inline(__always)
    private func execute(_ tuple: Tuple) {
        if let bolt {
            bolt.execute(tuple)
        } else if let basicBolt {
            executeBasic(basicBolt, tuple)
        }
    }

    private func executeBasic(_ bolt: any BasicBolt, _ tuple: Tuple) {
        basicCollector.current = tuple
        do {
            try bolt.execute(tuple, collector: basicCollector)
            basicCollector.current = nil
            ack(tuple)
        } catch {
            basicCollector.current = nil
            report("execute failed: \(error)")
            fail(tuple)
        }
    }

    // MARK: - Input streams

    /// The counts of one input stream.
    struct InputCounts {
        var executed: UInt64 = 0
        var acked: UInt64 = 0
        var failed: UInt64 = 0
    }

    /// The slot in ``inputs`` of `tuple`'s stream: one integer compare when it is the last
    /// tuple's stream (the source's serial number is read through the tuple's unowned
    /// reference; the source itself is neither retained nor released).
    @inline(__always)
    private func inputSlot(_ tuple: Tuple) -> Int {
        if tuple.source.serial == lastSerial { return lastInput }
        return findInput(tuple)
    }

    @inline(never)
    private func findInput(_ tuple: Tuple) -> Int {
        let source = tuple.source
        lastSerial = source.serial
        if let i = inputSerials.firstIndex(of: source.serial) {
            lastInput = i
            return i
        }
        if inputSources.count == inputCapacity {
            let grown = UnsafeMutablePointer<InputCounts>.allocate(capacity: inputCapacity * 2)
            grown.moveInitialize(from: inputs, count: inputCapacity)
            inputs.deallocate()
            inputs = grown
            inputCapacity *= 2
        }
        (inputs + inputSources.count).initialize(to: InputCounts())
        inputSources.append(source)
        inputSerials.append(source.serial)
        lastInput = inputSources.count - 1
        return lastInput
    }

    override func streamRows() -> [StreamStatsRow] {
        var rows = routes.outputRows(of: componentId)
        for (slot, source) in inputSources.enumerated() {
            let counts = inputs[slot]
            var row = StreamStatsRow(component: componentId, stream: source.streamId, from: source.componentId)
            row.executed = counts.executed
            row.acked = counts.acked
            row.failed = counts.failed
            rows.append(row)
        }
        return rows
    }

    // MARK: - Ack values

    @inline(__always)
    private func addAckValue(_ key: UInt64, _ edge: UInt64) {
        if key == cachedKey {
            cachedValue ^= edge
            return
        }
        if cachedKey != 0 { ackValues[cachedKey, default: 0] ^= cachedValue }
        cachedKey = key
        cachedValue = edge
    }

    @inline(__always)
    private func takeAckValue(_ key: UInt64) -> UInt64 {
        var value: UInt64 = 0
        if key == cachedKey {
            value = cachedValue
            cachedKey = 0
            cachedValue = 0
        }
        if !ackValues.isEmpty, let spilled = ackValues.removeValue(forKey: key) { value ^= spilled }
        return value
    }

    // MARK: - OutputCollector

    package func emit(_ values: [GaleValue], stream: String, anchor: Tuple?) {
        guard let route = checkedRoute(routes, stream: stream, values: values, direct: false) else { return }
        local.counters.emitted &+= 1
        route.emitted &+= 1
        var sent = 0
        let source = route.source
        if tracking, let anchor, anchor.root != 0 {
            let key = anchor.edge
            for target in route.targets {
                target.forEachTarget(sourceTask: taskId, values: values) { task in
                    let edge = rng.nextId()
                    addAckValue(key, edge)
                    outbox.send(.tuple(anchored(values, source: source, to: anchor, edge: edge)), to: task)
                    sent += 1
                }
            }
        } else {
            for target in route.targets {
                target.forEachTarget(sourceTask: taskId, values: values) { task in
                    outbox.send(.tuple(Tuple(values: values, source: source, sourceTask: taskId)), to: task)
                    sent += 1
                }
            }
        }
        local.counters.transferred &+= UInt64(sent)
        if debug { logEmit(stream: stream, values: values, tasks: sent) }
    }

    package func emit(_ values: [GaleValue], stream: String, anchors: [Tuple]) {
        if anchors.count <= 1 {
            emit(values, stream: stream, anchor: anchors.first)
            return
        }
        guard let route = checkedRoute(routes, stream: stream, values: values, direct: false) else { return }
        local.counters.emitted &+= 1
        route.emitted &+= 1
        var sent = 0
        for target in route.targets {
            target.forEachTarget(sourceTask: taskId, values: values) { task in
                outbox.send(.tuple(multiAnchored(values, source: route.source, to: anchors)), to: task)
                sent += 1
            }
        }
        local.counters.transferred &+= UInt64(sent)
        if debug { logEmit(stream: stream, values: values, tasks: sent) }
    }

    package func emitDirect(task: Int, _ values: [GaleValue], stream: String, anchors: [Tuple]) {
        guard let route = checkedRoute(routes, stream: stream, values: values, direct: true),
            checkDirectTarget(route, task: task)
        else { return }
        local.counters.emitted &+= 1
        route.emitted &+= 1
        local.counters.transferred &+= 1
        outbox.send(.tuple(multiAnchored(values, source: route.source, to: anchors)), to: task)
        if debug { logEmit(stream: stream, values: values, tasks: 1) }
    }

    /// A tuple anchored to `anchor`'s trees with the new `edge`.
    @inline(__always)
    private func anchored(_ values: [GaleValue], source: TupleSource, to anchor: Tuple, edge: UInt64) -> Tuple {
        var more: [UInt64]?
        if let anchorMore = anchor.moreAnchors {
            var rekeyed = anchorMore
            var i = 1
            while i < rekeyed.count {
                rekeyed[i] = edge
                i += 2
            }
            more = rekeyed
        }
        return Tuple(
            values: values,
            source: source,
            sourceTask: taskId,
            root: anchor.root,
            edge: edge,
            moreAnchors: more
        )
    }

    /// A tuple anchored to every tracked tree of `anchors`, one new edge per anchor.
    private func multiAnchored(_ values: [GaleValue], source: TupleSource, to anchors: [Tuple]) -> Tuple {
        guard tracking else { return Tuple(values: values, source: source, sourceTask: taskId) }
        var pairs: [(root: UInt64, edge: UInt64)] = []
        for anchor in anchors where anchor.root != 0 {
            let edge = rng.nextId()
            addAckValue(anchor.edge, edge)
            anchor.forEachAnchor { root, _ in
                if let i = pairs.firstIndex(where: { $0.root == root }) {
                    pairs[i].edge ^= edge
                } else {
                    pairs.append((root, edge))
                }
            }
        }
        guard let first = pairs.first else { return Tuple(values: values, source: source, sourceTask: taskId) }
        var more: [UInt64]?
        if pairs.count > 1 {
            more = pairs.dropFirst().flatMap { [$0.root, $0.edge] }
        }
        return Tuple(
            values: values,
            source: source,
            sourceTask: taskId,
            root: first.root,
            edge: first.edge,
            moreAnchors: more
        )
    }

    package func ack(_ tuple: Tuple) {
        local.counters.acked &+= 1
        inputs[inputSlot(tuple)].acked &+= 1
        guard tracking, tuple.root != 0 else { return }
        let value = takeAckValue(tuple.edge)
        tuple.forEachAnchor { root, edge in
            outbox.send(.ack(root: root, xor: edge ^ value), to: ackerTask(for: root))
        }
    }

    package func fail(_ tuple: Tuple) {
        local.counters.failed &+= 1
        inputs[inputSlot(tuple)].failed &+= 1
        guard tracking, tuple.root != 0 else { return }
        _ = takeAckValue(tuple.edge)
        tuple.forEachAnchor { root, _ in
            outbox.send(.fail(root: root), to: ackerTask(for: root))
        }
    }

    package func reportError(_ error: any Error) {
        report(String(describing: error))
    }

    package func flush() {
        outbox.flush()
    }

    // MARK: - Lifecycle

    func prepare(context: TopologyContext) throws {
        try bolt?.prepare(context: context, collector: self)
        try basicBolt?.prepare(context: context)
    }

    override func stop() {
        onQueue {
            guard !stopped else { return }
            stopped = true
            stoppedFlag.store(true, ordering: .relaxed)
            bolt?.cleanup()
            basicBolt?.cleanup()
            outbox.flush()
            publish(now: monotonicNanos())
        }
    }
}

/// The collector handed to a ``BasicBolt``: anchors every emit to the current input.
final class BasicCollector: BasicOutputCollector {
    private let headPadding = CacheLinePadding()
    unowned(unsafe) var executor: BoltExecutor?
    /// Written per tuple.
    var current: Tuple?
    private let tailPadding = CacheLinePadding()

    func emit(_ values: [GaleValue], stream: String) {
        executor?.emit(values, stream: stream, anchor: current)
    }

    func emitDirect(task: Int, _ values: [GaleValue], stream: String) {
        executor?.emitDirect(task: task, values, stream: stream, anchors: current.map { [$0] } ?? [])
    }

    func reportError(_ error: any Error) {
        executor?.reportError(error)
    }
}
