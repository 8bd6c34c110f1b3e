import Synchronization

/// A mutex without a protected value, for the few places in `Gale` that guard shared tables.
package final class PlainLock: Sendable {
    private let mutex = Mutex(())

    package init() {}

    package func withLock<R>(_ body: () throws -> R) rethrows -> R {
        try mutex.withLock { _ in try body() }
    }
}
