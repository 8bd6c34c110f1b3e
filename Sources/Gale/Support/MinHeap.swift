/// An element of a ``MinHeap``: `precedes` is the heap's order (a strict weak order).
package protocol HeapOrdered {
    func precedes(_ other: Self) -> Bool
}

/// A binary min-heap: ``push(_:)`` and ``popMin()`` in O(log n), ``min`` in O(1).
package struct MinHeap<Element: HeapOrdered> {
    private var elements: [Element] = []

    package init() {}

    /// The first element by ``HeapOrdered/precedes(_:)``, if any.
    package var min: Element? { elements.first }

    /// The number of elements.
    package var count: Int { elements.count }

    package mutating func push(_ element: Element) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard elements[child].precedes(elements[parent]) else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the first element (`nil` when empty).
    @discardableResult
    package mutating func popMin() -> Element? {
        guard !elements.isEmpty else { return nil }
        elements.swapAt(0, elements.count - 1)
        let first = elements.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < elements.count, elements[left].precedes(elements[smallest]) { smallest = left }
            if right < elements.count, elements[right].precedes(elements[smallest]) { smallest = right }
            guard smallest != parent else { return first }
            elements.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

extension MinHeap: Sendable where Element: Sendable {}
