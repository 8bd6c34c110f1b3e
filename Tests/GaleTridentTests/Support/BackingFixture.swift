import Foundation
import GaleTrident
import Testing

/// The backing map implementations that must behave alike, for parameterized tests.
enum BackingFixture: String, CaseIterable, CustomTestStringConvertible {
    case memory
    case sqlite

    var testDescription: String { rawValue }

    /// Runs `body` with a fresh, empty map of this kind (partition 0 of 1 of state "counts").
    func withMap<R>(_ body: (any BackingMap) throws -> R) throws -> R {
        switch self {
        case .memory:
            let factory = MemoryStateFactory(registry: "fixture-\(UUID().uuidString)")
            return try body(try factory.makeBackingMap(stateName: "counts", partition: 0, partitions: 1))
        case .sqlite:
            return try withTemporaryDirectory { directory throws in
                let factory = SQLiteStateFactory(path: directory.file("state.sqlite"))
                return try body(try factory.makeBackingMap(stateName: "counts", partition: 0, partitions: 1))
            }
        }
    }
}
