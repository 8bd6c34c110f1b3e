import Foundation
import GRDB
import GRDBSQLite
import Gale

/// A durable ``BackingMap``: one partition of one state in an SQLite database.
///
/// ``SQLiteStateFactory`` makes these. The partition's entries live in the state's table, which
/// every partition shares (their keys are disjoint); its last committed txid lives in the
/// `gale_state_meta` row `(state name, partition)`. ``commit(_:txid:)`` writes both in one
/// transaction.
///
/// Every method is safe to call from any thread and blocks while it waits for SQLite, including
/// for up to five seconds while another process holds the write lock.
public final class SQLiteBackingMap: BackingMap {
    /// Keys bound per `SELECT ... IN (...)`, well under SQLite's limit on variables.
    private static let keysPerQuery = 500

    /// The state's name, sanitized (see ``SQLiteStateFactory``).
    public let stateName: String
    /// The partition this map holds.
    public let partition: Int
    private let database: SQLiteStateDatabase
    private let table: String
    /// The INSERT of ``rowsPerInsert`` rows (built once: GRDB finds cached statements by their text).
    private let fullInsert: String

    init(database: SQLiteStateDatabase, name: StateName, partition: Int) {
        self.database = database
        self.stateName = name.sanitized
        self.partition = partition
        self.table = name.tableName
        self.fullInsert = Self.insert(rows: Self.rowsPerInsert, table: name.tableName)
    }

    private static func insert(rows: Int, table: String) -> String {
        let placeholders = Array(repeating: "(?, ?, ?, ?)", count: rows).joined(separator: ", ")
        return "INSERT OR REPLACE INTO \"\(table)\" (key, value, previous, txid) VALUES \(placeholders)"
    }

    public func multiGet(_ keys: [StateKey]) throws(StateError) -> [StoredValue?] {
        guard !keys.isEmpty else { return [] }
        let encodedKeys = keys.map { Data(GaleValue.list($0).canonicalBytes) }
        let found = try database.read("table \(table)") { db in
            var found: [Data: StoredValue] = [:]
            var start = 0
            while start < encodedKeys.count {
                let chunk = Array(encodedKeys[start..<min(start + Self.keysPerQuery, encodedKeys.count)])
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let rows = try Row.fetchCursor(
                    db.cachedStatement(
                        sql: "SELECT key, value, previous, txid FROM \"\(table)\" WHERE key IN (\(placeholders))"
                    ),
                    arguments: StatementArguments(chunk)
                )
                while let row = try rows.next() {
                    let key: Data = try row.decode(atIndex: 0)
                    found[key] = try Self.storedValue(from: row, table: table, path: database.path)
                }
                start += chunk.count
            }
            return found
        }
        return encodedKeys.map { found[$0] }
    }

    /// Rows written by one INSERT statement, at most (4 parameters each).
    static let rowsPerInsert = 200

    public func commit(_ entries: [(key: StateKey, value: StoredValue)], txid: Int64) throws(StateError) {
        // Every row's blobs encoded into one buffer, which SQLite reads in place while the rows
        // are inserted (no array per blob, no copy by SQLite).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * 32)
        var rows: [EncodedRow] = []
        rows.reserveCapacity(entries.count)
        for entry in entries {
            let keyStart = bytes.count
            try GaleValue.list(entry.key).appendDepthCheckedCanonicalBytes(to: &bytes)
            let valueStart = bytes.count
            try entry.value.value.appendDepthCheckedCanonicalBytes(to: &bytes)
            let valueEnd = bytes.count
            var previous: Range<Int>?
            if let value = entry.value.previous {
                try value.appendDepthCheckedCanonicalBytes(to: &bytes)
                previous = valueEnd..<bytes.count
            }
            rows.append(
                EncodedRow(
                    key: keyStart..<valueStart,
                    value: valueStart..<valueEnd,
                    previous: previous,
                    txid: entry.value.txid
                )
            )
        }
        try database.write("table \(table)") { db in
            // Many rows per statement: one statement per row cost most of a batch's commit.
            var start = 0
            while start < rows.count {
                let count = min(Self.rowsPerInsert, rows.count - start)
                let insert = try db.cachedStatement(
                    sql: count == Self.rowsPerInsert ? fullInsert : Self.insert(rows: count, table: table)
                )
                try Self.run(insert, rows: rows[start..<start + count], bytes: bytes, in: db)
                start += count
            }
            try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO \(SQLiteStateDatabase.metaTable) (name, part, last_txid) VALUES (?, ?, ?)"
            )
            .execute(arguments: [stateName, partition, txid])
        }
    }

    /// One row to write: where its encoded blobs lie in the batch's buffer.
    private struct EncodedRow {
        var key: Range<Int>
        var value: Range<Int>
        var previous: Range<Int>?
        var txid: Int64
    }

    /// Binds `rows` to `insert` (four parameters each, in order) and runs it, through SQLite's C
    /// API: GRDB's `StatementArguments` converts each value through a generic sequence map, which
    /// cost more than SQLite's inserts themselves (a batch binds about 2,000 values per task).
    /// The blobs are bound in place (`SQLITE_STATIC`): SQLite reads them from `bytes` during the
    /// step, and the bindings are cleared before `bytes` goes. Runs inside the write transaction,
    /// on the database's queue.
    private static func run(
        _ insert: Statement,
        rows: ArraySlice<EncodedRow>,
        bytes: [UInt8],
        in db: Database
    ) throws {
        let statement = insert.sqliteStatement
        func check(_ code: CInt) throws {
            guard code == SQLITE_OK || code == SQLITE_DONE else {
                let message = db.sqliteConnection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: insert.sql)
            }
        }
        try bytes.withUnsafeBytes { buffer in
            defer { sqlite3_clear_bindings(statement) }
            // Never nil: every row has at least its key's bytes.
            guard let base = buffer.baseAddress else { return }
            func bind(_ range: Range<Int>, _ index: CInt) throws {
                try check(sqlite3_bind_blob(statement, index, base + range.lowerBound, CInt(range.count), nil))
            }
            try check(sqlite3_reset(statement))
            var index: CInt = 1
            for row in rows {
                try bind(row.key, index)
                try bind(row.value, index + 1)
                if let previous = row.previous {
                    try bind(previous, index + 2)
                } else {
                    try check(sqlite3_bind_null(statement, index + 2))
                }
                try check(sqlite3_bind_int64(statement, index + 3, row.txid))
                index += 4
            }
            try check(sqlite3_step(statement))
            try check(sqlite3_reset(statement))
        }
    }

    public func lastCommittedTxid() throws(StateError) -> Int64? {
        try database.read("table \(SQLiteStateDatabase.metaTable)") { db in
            try Int64.fetchOne(
                db.cachedStatement(
                    sql: "SELECT last_txid FROM \(SQLiteStateDatabase.metaTable) WHERE name = ? AND part = ?"
                ),
                arguments: [stateName, partition]
            )
        }
    }

    // MARK: - Decoding

    /// Decodes the `key` column (0) of a state row.
    ///
    /// - Throws: ``StateError/corrupt(_:)`` naming the table and database when the column is not a
    ///   blob or does not hold an encoded list.
    static func stateKey(from row: Row, table: String, path: String) throws(StateError) -> StateKey {
        let data: Data
        do {
            data = try row.decode(atIndex: 0)
        } catch {
            throw .corrupt("a key of table \(table) in [\(path)] is not a blob: \(error)")
        }
        let key: GaleValue
        do {
            key = try GaleValue(canonicalBytes: [UInt8](data))
        } catch {
            guard case .corrupt(let message) = error else { throw error }
            throw .corrupt("a key of table \(table) in [\(path)]: \(message)")
        }
        guard case .list(let values) = key else {
            throw .corrupt("a key of table \(table) in [\(path)] is a \(key.typeName), not a list")
        }
        return values
    }

    /// Decodes the `value`, `previous` and `txid` columns (1 to 3) of a state row.
    ///
    /// - Throws: ``StateError/corrupt(_:)`` naming the table and database when a column has the
    ///   wrong type or its bytes do not decode.
    static func storedValue(from row: Row, table: String, path: String) throws(StateError) -> StoredValue {
        let columns: (value: Data, previous: Data?, txid: Int64)
        do {
            columns = (try row.decode(atIndex: 1), try row.decode(atIndex: 2), try row.decode(atIndex: 3))
        } catch {
            throw .corrupt("a row of table \(table) in [\(path)] has unexpected column types: \(error)")
        }
        do {
            return StoredValue(
                value: try GaleValue(canonicalBytes: [UInt8](columns.value)),
                previous: try columns.previous.map { data throws(StateError) in
                    try GaleValue(canonicalBytes: [UInt8](data))
                },
                txid: columns.txid
            )
        } catch {
            guard case .corrupt(let message) = error else { throw error }
            throw .corrupt("a row of table \(table) in [\(path)]: \(message)")
        }
    }
}
