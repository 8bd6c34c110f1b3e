import Synchronization

/// A list appended to from any thread (librdkafka's poll thread) and taken whole by its owner
/// (a spout or bolt, on its queue).
final class LockedList<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])

    func append(_ item: Element) {
        items.withLock { $0.append(item) }
    }

    /// Everything appended since the last call, in order.
    func take() -> [Element] {
        items.withLock { list in
            defer { list.removeAll(keepingCapacity: true) }
            return list
        }
    }
}
