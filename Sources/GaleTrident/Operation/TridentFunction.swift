public import Gale

/// An operation applied to each tuple of a batch: it emits zero or more value lists, each appended
/// to the input tuple (``Stream/each(_:_:output:)``).
///
/// Threading: one value serves every task of its bolt; `execute` runs on each task's serial queue,
/// so a function keeps no mutable state of its own (it is `Sendable`). A thrown error fails the
/// tuple, and with it the batch, which is then processed again.
public protocol TridentFunction: Sendable {
    /// Emits the values to append to `tuple`, once per output tuple.
    func execute(_ tuple: TridentTuple, emit: (_ values: [GaleValue]) -> Void) throws
}

/// A ``TridentFunction`` from a closure.
public struct FunctionClosure: TridentFunction {
    private let body: @Sendable (TridentTuple, (_ values: [GaleValue]) -> Void) throws -> Void

    /// A function running `body`.
    public init(_ body: @escaping @Sendable (TridentTuple, (_ values: [GaleValue]) -> Void) throws -> Void) {
        self.body = body
    }

    public func execute(_ tuple: TridentTuple, emit: (_ values: [GaleValue]) -> Void) throws {
        try body(tuple, emit)
    }
}
