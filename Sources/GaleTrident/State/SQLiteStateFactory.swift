import GRDB
import Synchronization

/// A ``StateFactory`` whose maps are durable, in one SQLite database file.
///
/// Every partition of every state made by this factory shares the file and one connection pool;
/// partitions hold disjoint keys. Several processes (the workers of a topology) may open the same
/// file: the database runs in WAL mode and a write waits up to five seconds for another's lock.
/// A new factory on the same file, in this process or another, sees what was committed.
///
/// The file is opened on the first ``makeBackingMap(stateName:partition:partitions:)``; that call
/// creates the file (not its directory) and the state's table when they are missing.
///
/// Safe to use from any thread; its methods block while they wait for SQLite.
public final class SQLiteStateFactory: StateFactory {
    /// The database file.
    public let path: String
    private let database = Mutex<SQLiteStateDatabase?>(nil)

    /// A factory for the database at `path`; nothing is opened yet.
    ///
    /// - Parameter path: The database file. Its directory must exist.
    public init(path: String) {
        self.path = path
    }

    /// The durable map of one partition of a state.
    ///
    /// - Throws: ``StateError/invalidName(name:reason:)``,
    ///   ``StateError/invalidPartition(stateName:partition:partitions:)``, or
    ///   ``StateError/cannotOpen(path:reason:)`` when the file cannot be opened as a database (its
    ///   directory is missing, it is a directory or not an SQLite database) or the state's table
    ///   cannot be created.
    public func makeBackingMap(stateName: String, partition: Int, partitions: Int) throws(StateError) -> any BackingMap
    {
        let name = try Self.validate(stateName: stateName, partition: partition, partitions: partitions)
        let database = try openDatabase()
        try database.prepareTable(for: name)
        return SQLiteBackingMap(database: database, name: name, partition: partition)
    }

    /// The database, opened on first use; a failed open is tried again on the next call.
    private func openDatabase() throws(StateError) -> SQLiteStateDatabase {
        try database.withLock { (database) throws(StateError) -> SQLiteStateDatabase in
            if let database { return database }
            let opened = try SQLiteStateDatabase.open(path: path)
            database = opened
            return opened
        }
    }

    /// Every entry of a state across its partitions, read from the database at `path`.
    ///
    /// For tests and tools; reads one consistent snapshot.
    ///
    /// - Parameters:
    ///   - path: An existing database file.
    ///   - stateName: The state's name, as given to ``makeBackingMap(stateName:partition:partitions:)``.
    /// - Returns: The entries of every partition.
    /// - Throws: ``StateError/cannotOpen(path:reason:)`` when the file is missing or not a database,
    ///   ``StateError/storage(_:)`` when it has no table for the state, ``StateError/corrupt(_:)``
    ///   when a row does not decode.
    public static func readAll(path: String, stateName: String) throws(StateError) -> [StateKey: StoredValue] {
        let name = try StateName(stateName)
        let database = try SQLiteStateDatabase.openExisting(path: path)
        let table = name.tableName
        return try database.read("table \(table)") { db in
            guard try db.tableExists(table) else {
                throw StateError.storage("no table \(table) in [\(path)]: state [\(stateName)] was never opened there")
            }
            var entries: [StateKey: StoredValue] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT key, value, previous, txid FROM \"\(table)\"")
            while let row = try rows.next() {
                let key = try SQLiteBackingMap.stateKey(from: row, table: table, path: path)
                entries[key] = try SQLiteBackingMap.storedValue(from: row, table: table, path: path)
            }
            return entries
        }
    }
}
