import Gale

/// Why a state could not be opened, read, written or updated.
///
/// Every description names what is at fault (the database path, the state's table, the key's
/// value types) and never prints the values of keys or state entries.
public enum StateError: Error, CustomStringConvertible {
    /// The database at `path` could not be opened or prepared: its directory is missing, it is a
    /// directory, it is not an SQLite database, or SQLite refused it.
    case cannotOpen(path: String, reason: String)
    /// A state name is empty, too long, or holds nothing usable as a table name.
    case invalidName(name: String, reason: String)
    /// A partition index outside `0..<partitions`, or a partition count below 1.
    case invalidPartition(stateName: String, partition: Int, partitions: Int)
    /// Reading or writing the store failed (the message names the database, table and reason).
    case storage(String)
    /// Stored bytes do not decode (the message names where and why).
    case corrupt(String)
    /// The update closure given to ``MapState/applyBatch(txid:updates:)`` threw for `key`;
    /// nothing of the batch was written.
    case updateFailed(key: StateKey, txid: Int64, underlying: any Error)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot open state database [\(path)]: \(reason)"
        case .invalidName(let name, let reason):
            "invalid state name [\(name.debugDescription)]: \(reason)"
        case .invalidPartition(let stateName, let partition, let partitions):
            "state [\(stateName)]: partition \(partition) is outside 0..<\(partitions)"
        case .storage(let message):
            "state storage failed: \(message)"
        case .corrupt(let message):
            "corrupt state: \(message)"
        case .updateFailed(let key, let txid, let underlying):
            "state update at txid \(txid) failed for a key of types [\(key.map(\.typeName).joined(separator: ", "))]: "
                + "\(underlying)"
        }
    }
}
