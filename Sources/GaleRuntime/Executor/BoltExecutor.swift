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
    /// Calls `basicBolt.execute` with `basicCollector`, through unretained references: kept alive
    /// by `basicCall`, `basicBolt` and `basicCollector`, used per tuple without reference counting.
    private let basicCall: BasicBoltCall?
    private let basicCallRef: Unmanaged<BasicBoltCall>?
    /// Calls `bolt.execute` the same way (``TypedBoltCall``).
    private let boltCall: BoltCall?
    private let boltCallRef: Unmanaged<BoltCall>?
    let routes: RoutingTable
    override var routeTable: RoutingTable? { routes }
    let tracking: Bool
    let debug: Bool
    /// XOR of the edges emitted anchored to each input still unacked, keyed by the input's edge id.
    var ackValues: [TreeId: UInt64] = [:]
    var cachedKey: UInt64 = 0
    var cachedValue: UInt64 = 0
    /// The trees of the tuple a ``BasicBolt`` executes (its `root`, `edge` and `moreAnchors`;
    /// `currentRoot` is 0 outside `execute` and for untracked tuples): what its collector's emits
    /// are anchored to, kept as fields so that no tuple is copied per emit.
    var currentRoot: UInt64 = 0
    var currentEdge: UInt64 = 0
    var currentMore: [UInt64]?
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
        let collector = BasicCollector()
        self.basicCollector = collector
        self.basicCall = basicBolt.map { makeBasicBoltCall($0, collector: collector) }
        self.basicCallRef = basicCall.map { Unmanaged.passUnretained($0) }
        self.boltCall = bolt.map { makeBoltCall($0) }
        self.boltCallRef = boltCall.map { Unmanaged.passUnretained($0) }
        self.inputs = .allocate(capacity: inputCapacity)
        super.init(taskId: taskId, componentId: spec.id, environment: environment, watchesWatermarks: true)
        basicCollector.executorRef = Unmanaged.passUnretained(self)
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
                giveBackTaken()
                taken.removeAll(keepingCapacity: true)
                cursor = (0, 0)
                guard inbox.take(into: &taken, limit: Self.drainLimit) > 0 else { break }
            }
            while cursor.batch < taken.count {
                // The batch leaves `taken` while it is drained, so that its envelopes can be moved
                // out of it (no reference counting per tuple; see `drain(_:)`), and goes back after.
                var batch = ContiguousArray<Envelope>()
                swap(&batch, &taken[cursor.batch])
                let throttled = batch.withUnsafeMutableBufferPointer { drain($0) }
                swap(&batch, &taken[cursor.batch])
                if throttled {
                    now = monotonicNanos()
                    break draining
                }
                cursor = (cursor.batch + 1, 0)
            }
            outbox.flush()
            now = monotonicNanos()
        }
        outbox.flush()
        if cursor.batch == taken.count && !taken.isEmpty {
            giveBackTaken()
            taken.removeAll(keepingCapacity: true)
            cursor = (0, 0)
        }
        local.busyNanos &+= now &- start
        let holdsInput = cursor.batch < taken.count
        finishRun(now: now, wantsMore: { holdsInput && !isThrottled }, paused: { isThrottled })
    }

    /// Executes the tuples of `batch` from `cursor.index` on, until it ends or a queue this bolt
    /// feeds is overloaded. - Returns: `true` when it stopped for the overload.
    ///
    /// Each envelope is moved out of its slot, executed, and moved back: the tuple is owned here
    /// while it executes, with no retain or release of its values. The executed batch then goes
    /// back to the task that sent it (``giveBackTaken()``), which frees the values.
    @inline(__always)
    private func drain(_ batch: UnsafeMutableBufferPointer<Envelope>) -> Bool {
        guard let base = batch.baseAddress else { return false }
        while cursor.index < batch.count {
            let slot = base + cursor.index
            cursor.index += 1
            // The tuple moves out of the envelope and back into the slot: no retain or release.
            let envelope = slot.move()
            process(envelope)
            slot.initialize(to: envelope)
            if isThrottled { return true }
        }
        return false
    }

    /// Executes `envelope` when it is a tuple, and counts it. Not inlined: the envelope is
    /// borrowed here, so its tuple is read in place, without a copy of the tuple's values.
    @inline(never)
    private func process(_ envelope: Envelope) {
        guard case .tuple(let tuple) = envelope else { return }
        let input = inputSlot(tuple)
        if sampleSchedule.countdown != 0 { sample(stream: tuple.source.streamId, values: tuple.storage) }
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
    }

    /// Gives every batch in `taken` (all executed) back to the task that sent it, when that task
    /// runs in this process (``RecycleBin``); the others are freed here with `taken`.
    private func giveBackTaken() {
        let sinks = environment.sinks
        for i in taken.indices where !taken[i].isEmpty {
            _ = sinks.recycle(&taken[i])
        }
    }

    @inline(__always)
    private func execute(_ tuple: Tuple) {
        if let boltCallRef {
            boltCallRef._withUnsafeGuaranteedRef { $0.execute(tuple) }
        } else if let basicCallRef {
            executeBasic(basicCallRef, tuple)
        }
    }

    private func executeBasic(_ call: Unmanaged<BasicBoltCall>, _ tuple: Tuple) {
        currentRoot = tuple.root
        currentEdge = tuple.edge
        if tuple.moreAnchors != nil || currentMore != nil { currentMore = tuple.moreAnchors }
        do {
            try call._withUnsafeGuaranteedRef { try $0.execute(tuple) }
            currentRoot = 0
            ack(tuple)
        } catch {
            currentRoot = 0
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
        if cachedKey != 0 { ackValues[TreeId(cachedKey), default: 0] ^= cachedValue }
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
        if !ackValues.isEmpty, let spilled = ackValues.removeValue(forKey: TreeId(key)) { value ^= spilled }
        return value
    }

    // MARK: - OutputCollector

    package func emit(_ values: consuming [GaleValue], stream: String, anchor: Tuple?) {
        emit(stored: TupleValues(values), stream: stream, anchor: anchor)
    }

    package func emit(value: consuming GaleValue, stream: String, anchor: Tuple?) {
        emit(stored: .one(value), stream: stream, anchor: anchor)
    }

    @inline(__always)
    private func emit(stored values: consuming TupleValues, stream: String, anchor: Tuple?) {
        if let anchor, anchor.root != 0 {
            emit(values, stream: stream, root: anchor.root, key: anchor.edge, more: anchor.moreAnchors)
        } else {
            emit(values, stream: stream, root: 0, key: 0, more: nil)
        }
    }

    /// An emit anchored to the tuple a ``BasicBolt`` executes (its ``BasicCollector``'s emits).
    @inline(__always)
    func emitAnchoredToCurrent(_ values: consuming TupleValues, stream: String) {
        if currentRoot != 0 {
            emit(values, stream: stream, root: currentRoot, key: currentEdge, more: currentMore)
        } else {
            emit(values, stream: stream, root: 0, key: 0, more: nil)
        }
    }

    /// Emits `values` on `stream`, anchored (when tracking and `root` is not 0) to the tree
    /// `root` and the trees in `more` through the input whose edge id is `key`.
    ///
    /// The common case, one subscriber whose grouping picks one task, moves `values` into the
    /// one tuple sent: no copy, no reference counting.
    @inline(__always)
    private func emit(_ values: consuming TupleValues, stream: String, root: UInt64, key: UInt64, more: [UInt64]?) {
        guard let routeRef = checkedRouteRef(routes, stream: stream, count: values.count, direct: false) else {
            return
        }
        local.counters.emitted &+= 1
        let tracked = tracking && root != 0
        // The route and its subscriber are used through unretained references (the routing table
        // keeps them alive): no reference counting of the shared route objects per tuple.
        let task = routeRef._withUnsafeGuaranteedRef { route -> Int in
            route.emitted &+= 1
            guard !debug, let single = route.singleRef else { return -1 }
            return single._withUnsafeGuaranteedRef { $0.pickOne(values) }
        }
        guard task >= 0 else {
            emitToEach(
                routeRef.takeUnretainedValue(),
                values,
                stream: stream,
                tracked: tracked,
                root: root,
                key: key,
                more: more
            )
            return
        }
        local.counters.transferred &+= 1
        let source = routeRef._withUnsafeGuaranteedRef { $0.sourceRef }
        outbox.send(
            .tuple(outgoing(values, source: source, tracked: tracked, root: root, key: key, more: more)),
            to: task
        )
    }

    /// The tuple an emit sends to one task: anchored (with a new edge id, XORed into the input's
    /// ack value under `key`) when `tracked`, else untracked.
    @inline(__always)
    private func outgoing(
        _ values: consuming TupleValues,
        source: Unmanaged<TupleSource>,
        tracked: Bool,
        root: UInt64,
        key: UInt64,
        more: [UInt64]?
    ) -> Tuple {
        guard tracked else { return Tuple(storage: values, sourceRef: source, sourceTask: taskId) }
        let edge = rng.nextId()
        addAckValue(key, edge)
        return Tuple(
            storage: values,
            sourceRef: source,
            sourceTask: taskId,
            root: root,
            edge: edge,
            moreAnchors: more.map { rekeyed($0, edge: edge) }
        )
    }

    /// ``emit(_:stream:root:key:more:)`` to every target of every subscriber.
    @inline(never)
    private func emitToEach(
        _ route: StreamRoute,
        _ values: TupleValues,
        stream: String,
        tracked: Bool,
        root: UInt64,
        key: UInt64,
        more: [UInt64]?
    ) {
        var sent = 0
        let source = route.sourceRef
        for target in route.targets {
            target.forEachTarget(sourceTask: taskId, values: values) { task in
                let tuple = outgoing(values, source: source, tracked: tracked, root: root, key: key, more: more)
                outbox.send(.tuple(tuple), to: task)
                sent += 1
            }
        }
        local.counters.transferred &+= UInt64(sent)
        if debug { logEmit(stream: stream, values: values, tasks: sent) }
    }

    package func emit(_ values: consuming [GaleValue], stream: String, anchors: [Tuple]) {
        let values = TupleValues(values)
        if anchors.count <= 1 {
            emit(stored: values, stream: stream, anchor: anchors.first)
            return
        }
        guard let route = checkedRoute(routes, stream: stream, count: values.count, direct: false) else { return }
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

    package func emitDirect(task: Int, _ values: consuming [GaleValue], stream: String, anchors: [Tuple]) {
        let values = TupleValues(values)
        guard let route = checkedRoute(routes, stream: stream, count: values.count, direct: true),
            checkDirectTarget(route, task: task)
        else { return }
        local.counters.emitted &+= 1
        route.emitted &+= 1
        local.counters.transferred &+= 1
        outbox.send(.tuple(multiAnchored(values, source: route.source, to: anchors)), to: task)
        if debug { logEmit(stream: stream, values: values, tasks: 1) }
    }

    /// `more` (an anchor's further (root, edge) pairs) with every edge replaced by `edge`.
    private func rekeyed(_ more: [UInt64], edge: UInt64) -> [UInt64] {
        var rekeyed = more
        var i = 1
        while i < rekeyed.count {
            rekeyed[i] = edge
            i += 2
        }
        return rekeyed
    }

    /// Up to this many anchors are merged by root with a linear search.
    static let linearAnchorMerge = 8

    /// A tuple anchored to every tracked tree of `anchors`, one new edge per anchor.
    private func multiAnchored(_ values: TupleValues, source: TupleSource, to anchors: [Tuple]) -> Tuple {
        let source = Unmanaged.passUnretained(source)
        guard tracking else { return Tuple(storage: values, sourceRef: source, sourceTask: taskId) }
        var pairs: [(root: UInt64, edge: UInt64)] = []
        // A few anchors (a join's) are merged by root with a linear search; many (a window's,
        // tens of thousands) through an index, or merging would take quadratic time.
        var index: [UInt64: Int]? = anchors.count > Self.linearAnchorMerge ? [:] : nil
        for anchor in anchors where anchor.root != 0 {
            let edge = rng.nextId()
            addAckValue(anchor.edge, edge)
            anchor.forEachAnchor { root, _ in
                if index != nil {
                    if let i = index?[root] {
                        pairs[i].edge ^= edge
                    } else {
                        index?[root] = pairs.count
                        pairs.append((root, edge))
                    }
                } else if let i = pairs.firstIndex(where: { $0.root == root }) {
                    pairs[i].edge ^= edge
                } else {
                    pairs.append((root, edge))
                }
            }
        }
        guard let first = pairs.first else { return Tuple(storage: values, sourceRef: source, sourceTask: taskId) }
        var more: [UInt64]?
        if pairs.count > 1 {
            more = pairs.dropFirst().flatMap { [$0.root, $0.edge] }
        }
        return Tuple(
            storage: values,
            sourceRef: source,
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

/// Calls a ``BasicBolt``'s `execute` (``TypedBasicBoltCall``, which knows the bolt's type).
class BasicBoltCall {
    func execute(_ tuple: Tuple) throws {}
}

/// Calls `execute` of a bolt of type `B` with its collector, through unretained references
/// (this object keeps both alive): no reference counting per tuple.
final class TypedBasicBoltCall<B: BasicBolt>: BasicBoltCall {
    private let bolt: B
    private let boltRef: Unmanaged<B>
    private let collector: BasicCollector
    private let collectorRef: Unmanaged<BasicCollector>

    init(_ bolt: B, collector: BasicCollector) {
        self.bolt = bolt
        self.boltRef = Unmanaged.passUnretained(bolt)
        self.collector = collector
        self.collectorRef = Unmanaged.passUnretained(collector)
    }

    override func execute(_ tuple: Tuple) throws {
        try boltRef._withUnsafeGuaranteedRef { bolt in
            try collectorRef._withUnsafeGuaranteedRef { try bolt.execute(tuple, collector: $0) }
        }
    }
}

/// Calls a ``Bolt``'s `execute` (``TypedBoltCall``, which knows the bolt's type).
class BoltCall {
    func execute(_ tuple: Tuple) {}
}

/// Calls `execute` of a bolt of type `B` through an unretained reference (this object keeps the
/// bolt alive): no reference counting per tuple.
final class TypedBoltCall<B: Bolt>: BoltCall {
    private let bolt: B
    private let boltRef: Unmanaged<B>

    init(_ bolt: B) {
        self.bolt = bolt
        self.boltRef = Unmanaged.passUnretained(bolt)
    }

    override func execute(_ tuple: Tuple) {
        boltRef._withUnsafeGuaranteedRef { $0.execute(tuple) }
    }
}

/// The ``BoltCall`` of `bolt`, typed by the bolt's dynamic type.
private func makeBoltCall(_ bolt: any Bolt) -> BoltCall {
    func make<B: Bolt>(_ bolt: B) -> BoltCall { TypedBoltCall(bolt) }
    return make(bolt)
}

/// The ``BasicBoltCall`` of `bolt`, typed by the bolt's dynamic type.
private func makeBasicBoltCall(_ bolt: any BasicBolt, collector: BasicCollector) -> BasicBoltCall {
    func make<B: BasicBolt>(_ bolt: B) -> BasicBoltCall { TypedBasicBoltCall(bolt, collector: collector) }
    return make(bolt)
}

/// The collector handed to a ``BasicBolt``: anchors every emit to the current input (the
/// executor's `currentRoot`, `currentEdge`, `currentMore`).
final class BasicCollector: BasicOutputCollector {
    /// The executor that owns this collector (and outlives it), used without reference counting.
    var executorRef: Unmanaged<BoltExecutor>?
    var executor: BoltExecutor? { executorRef?.takeUnretainedValue() }

    func emit(_ values: consuming [GaleValue], stream: String) {
        emit(stored: TupleValues(values), stream: stream)
    }
    func emit(value: consuming GaleValue, stream: String) {
        emit(stored: .one(value), stream: stream)
    }
    @inline(__always)
    private func emit(stored values: consuming TupleValues, stream: String) {
        guard let executorRef else { return }
        var owned = Optional(values)
        executorRef._withUnsafeGuaranteedRef { $0.emitAnchoredToCurrent(owned.take() ?? .many([]), stream: stream) }
    }
    func emitDirect(task: Int, _ values: consuming [GaleValue], stream: String) {
        guard let executor else { return }
        var anchors: [Tuple] = []
        if executor.currentRoot != 0 {
            anchors.append(
                Tuple(
                    values: [],
                    source: .tick,
                    sourceTask: -1,
                    root: executor.currentRoot,
                    edge: executor.currentEdge,
                    moreAnchors: executor.currentMore
                )
            )
        }
        executor.emitDirect(task: task, values, stream: stream, anchors: anchors)
    }

    func reportError(_ error: any Error) {
        executor?.reportError(error)
    }
}
