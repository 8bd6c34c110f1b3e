import Foundation
import GRDBSQLite
public import Gale

extension WindowStoreFactory {
    /// Each task keeps its windows in an SQLite file under `directory`:
    /// `<directory>/<topology>/<component>-<task index>.sqlite` (characters of the component id
    /// outside `[A-Za-z0-9_.-]` written as `%XX`). Windows larger than memory, kept across restarts
    /// of the task on the same host; each tuple is acked once a commit holds it (every 512 tuples
    /// and at least twice a second).
    public static func sqlite(directory: String) -> WindowStoreFactory {
        WindowStoreFactory(name: "sqlite:\(directory)", isDurable: true) { context in
            let folder = (directory as NSString).appendingPathComponent(context.topologyName)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let file = "\(SQLiteWindowStore.fileName(context.componentId))-\(context.taskIndex).sqlite"
            return try SQLiteWindowStore(path: (folder as NSString).appendingPathComponent(file))
        }
    }
}

/// A durable ``WindowStore`` in one SQLite file (WAL, `synchronous = NORMAL`: a commit survives
/// the process being killed; the last commits before a power loss may not).
///
/// Tables: `window_tuples(seq INTEGER PRIMARY KEY, time, source, task, tuple_values BLOB)` with an
/// index on `(time, seq)`, the values a canonical ``GaleValue`` list; `window_sources(id,
/// component, stream, fields)`; `window_position`, one row: the sequence numbers held and where
/// the windows stand. Changes go into one transaction, opened by the first change after a
/// commit and ended by ``commit(position:)``. Use a store on one thread at a time (its task's
/// queue).
public final class SQLiteWindowStore: WindowStore, @unchecked Sendable {
    /// The database file.
    public let path: String
    private let db: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    private var inTransaction = false
    private var sourceIds: [Int: Int64] = [:]
    private var sources: [Int64: TupleSource] = [:]

    public private(set) var lowerBound = 0
    public private(set) var upperBound = 0
    public private(set) var position: WindowPosition?
    public var isDurable: Bool { true }

    /// Opens (or creates) the store at `path`.
    /// - Throws: ``StateError/cannotOpen(path:reason:)`` when SQLite cannot open or set up the file.
    public init(path: String) throws(StateError) {
        self.path = path
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let handle else {
            let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "SQLite error \(code)"
            sqlite3_close_v2(handle)
            throw .cannotOpen(path: path, reason: reason)
        }
        db = handle
        do {
            try execute("PRAGMA journal_mode = WAL")
            try execute("PRAGMA synchronous = NORMAL")
            try execute(
                """
                CREATE TABLE IF NOT EXISTS window_tuples(
                    seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, source INTEGER NOT NULL,
                    task INTEGER NOT NULL, tuple_values BLOB NOT NULL)
                """
            )
            try execute("CREATE INDEX IF NOT EXISTS window_tuples_time ON window_tuples(time, seq)")
            try execute(
                """
                CREATE TABLE IF NOT EXISTS window_sources(
                    id INTEGER PRIMARY KEY, component TEXT NOT NULL, stream TEXT NOT NULL, fields BLOB NOT NULL)
                """
            )
            try execute(
                """
                CREATE TABLE IF NOT EXISTS window_position(
                    id INTEGER PRIMARY KEY CHECK (id = 0), lower_seq INTEGER NOT NULL, upper_seq INTEGER NOT NULL,
                    previous_lower INTEGER NOT NULL, previous_upper INTEGER NOT NULL, since INTEGER NOT NULL,
                    next_end INTEGER, latest INTEGER NOT NULL)
                """
            )
            try loadPosition()
        } catch {
            sqlite3_close_v2(handle)
            throw .cannotOpen(path: path, reason: "\(error)")
        }
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(db)
    }

    /// `component` with characters outside `[A-Za-z0-9_.-]` as `%XX` (one file per component).
    static func fileName(_ component: String) -> String {
        var name = ""
        for byte in component.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                name.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: ".") where !name.isEmpty:
                name.append(".")
            default:
                name += String(format: "%%%02X", byte)
            }
        }
        return name
    }

    // MARK: - WindowStore

    public func append(_ tuple: Tuple, time: Int64) throws {
        try begin()
        let source = try sourceId(tuple.source)
        let bytes = GaleValue.list(tuple.values).canonicalBytes
        let insert = try statement(
            "INSERT INTO window_tuples(seq, time, source, task, tuple_values) VALUES (?, ?, ?, ?, ?)"
        )
        sqlite3_bind_int64(insert, 1, Int64(upperBound))
        sqlite3_bind_int64(insert, 2, time)
        sqlite3_bind_int64(insert, 3, source)
        sqlite3_bind_int64(insert, 4, Int64(tuple.sourceTask))
        try bytes.withUnsafeBytes { buffer in
            sqlite3_bind_blob(insert, 5, buffer.baseAddress, CInt(buffer.count), nil)
            try step(insert, "insert")
        }
        upperBound += 1
    }

    public func time(of sequence: Int) throws -> Int64 {
        let select = try statement("SELECT time FROM window_tuples WHERE seq = ?")
        sqlite3_bind_int64(select, 1, Int64(sequence))
        defer { sqlite3_reset(select) }
        guard try row(select, "read time") else {
            throw StateError.corrupt("window tuple \(sequence) is missing in \(path)")
        }
        return sqlite3_column_int64(select, 0)
    }

    public func firstSequence(atOrAfter time: Int64) throws -> Int {
        let select = try statement("SELECT seq FROM window_tuples WHERE time >= ? ORDER BY time, seq LIMIT 1")
        sqlite3_bind_int64(select, 1, time)
        defer { sqlite3_reset(select) }
        guard try row(select, "find time") else { return upperBound }
        return Int(sqlite3_column_int64(select, 0))
    }

    public func tuples(_ range: Range<Int>) throws -> [Tuple] {
        guard !range.isEmpty else { return [] }
        let select = try statement(
            "SELECT source, task, tuple_values FROM window_tuples WHERE seq >= ? AND seq < ? ORDER BY seq"
        )
        sqlite3_bind_int64(select, 1, Int64(range.lowerBound))
        sqlite3_bind_int64(select, 2, Int64(range.upperBound))
        defer { sqlite3_reset(select) }
        var tuples: [Tuple] = []
        tuples.reserveCapacity(range.count)
        while try row(select, "read tuples") {
            let source = try self.source(sqlite3_column_int64(select, 0))
            let task = Int(sqlite3_column_int64(select, 1))
            let count = Int(sqlite3_column_bytes(select, 2))
            let bytes =
                sqlite3_column_blob(select, 2).map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
            guard case .list(let values) = try GaleValue(canonicalBytes: bytes) else {
                throw StateError.corrupt("window tuple values in \(path) are not a list")
            }
            tuples.append(Tuple(values: values, source: source, sourceTask: task))
        }
        return tuples
    }

    public func evict(before sequence: Int) throws -> [Tuple] {
        guard sequence > lowerBound else { return [] }
        try begin()
        let delete = try statement("DELETE FROM window_tuples WHERE seq < ?")
        sqlite3_bind_int64(delete, 1, Int64(sequence))
        try step(delete, "evict")
        lowerBound = min(sequence, upperBound)
        return []
    }

    public func commit(position: WindowPosition) throws {
        try begin()
        let upsert = try statement(
            """
            INSERT OR REPLACE INTO window_position(id, lower_seq, upper_seq, previous_lower, previous_upper, since, next_end, latest)
            VALUES (0, ?, ?, ?, ?, ?, ?, ?)
            """
        )
        sqlite3_bind_int64(upsert, 1, Int64(lowerBound))
        sqlite3_bind_int64(upsert, 2, Int64(upperBound))
        sqlite3_bind_int64(upsert, 3, Int64(position.previousLower))
        sqlite3_bind_int64(upsert, 4, Int64(position.previousUpper))
        sqlite3_bind_int64(upsert, 5, Int64(position.sinceEvaluation))
        if let end = position.nextEnd { sqlite3_bind_int64(upsert, 6, end) } else { sqlite3_bind_null(upsert, 6) }
        sqlite3_bind_int64(upsert, 7, position.latest)
        try step(upsert, "save position")
        try execute("COMMIT")
        inTransaction = false
        self.position = position
    }

    public func rollback() throws {
        if inTransaction {
            inTransaction = false
            try execute("ROLLBACK")
        }
        sourceIds = [:]
        sources = [:]
        try loadPosition()
    }

    // MARK: - SQLite

    private func loadPosition() throws {
        let select = try statement(
            "SELECT lower_seq, upper_seq, previous_lower, previous_upper, since, next_end, latest FROM window_position WHERE id = 0"
        )
        defer { sqlite3_reset(select) }
        guard try row(select, "read position") else {
            lowerBound = 0
            upperBound = 0
            position = nil
            return
        }
        lowerBound = Int(sqlite3_column_int64(select, 0))
        upperBound = Int(sqlite3_column_int64(select, 1))
        position = WindowPosition(
            previousLower: Int(sqlite3_column_int64(select, 2)),
            previousUpper: Int(sqlite3_column_int64(select, 3)),
            sinceEvaluation: Int(sqlite3_column_int64(select, 4)),
            nextEnd: sqlite3_column_type(select, 5) == SQLITE_NULL ? nil : sqlite3_column_int64(select, 5),
            latest: sqlite3_column_int64(select, 6)
        )
    }

    private func begin() throws {
        guard !inTransaction else { return }
        try execute("BEGIN IMMEDIATE")
        inTransaction = true
    }

    /// The row id of `source`, added to `window_sources` the first time.
    private func sourceId(_ source: TupleSource) throws -> Int64 {
        if let id = sourceIds[source.serial] { return id }
        let fields = GaleValue.list(source.fields.names.map { .string($0) }).canonicalBytes
        let select = try statement("SELECT id FROM window_sources WHERE component = ? AND stream = ? AND fields = ?")
        let id: Int64 = try fields.withUnsafeBytes { buffer in
            sqlite3_bind_text(select, 1, source.componentId, -1, SQLITE_TRANSIENT)
            sqlite3_bind_text(select, 2, source.streamId, -1, SQLITE_TRANSIENT)
            sqlite3_bind_blob(select, 3, buffer.baseAddress, CInt(buffer.count), SQLITE_TRANSIENT)
            defer { sqlite3_reset(select) }
            if try row(select, "find source") { return sqlite3_column_int64(select, 0) }
            let insert = try statement("INSERT INTO window_sources(component, stream, fields) VALUES (?, ?, ?)")
            sqlite3_bind_text(insert, 1, source.componentId, -1, SQLITE_TRANSIENT)
            sqlite3_bind_text(insert, 2, source.streamId, -1, SQLITE_TRANSIENT)
            sqlite3_bind_blob(insert, 3, buffer.baseAddress, CInt(buffer.count), SQLITE_TRANSIENT)
            try step(insert, "add source")
            return sqlite3_last_insert_rowid(db)
        }
        sourceIds[source.serial] = id
        sources[id] = source
        return id
    }

    /// The source whose row id is `id`.
    private func source(_ id: Int64) throws -> TupleSource {
        if let source = sources[id] { return source }
        let select = try statement("SELECT component, stream, fields FROM window_sources WHERE id = ?")
        sqlite3_bind_int64(select, 1, id)
        defer { sqlite3_reset(select) }
        guard try row(select, "read source") else {
            throw StateError.corrupt("window source \(id) is missing in \(path)")
        }
        let component = String(cString: sqlite3_column_text(select, 0))
        let stream = String(cString: sqlite3_column_text(select, 1))
        let count = Int(sqlite3_column_bytes(select, 2))
        let bytes = sqlite3_column_blob(select, 2).map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
        guard case .list(let names) = try GaleValue(canonicalBytes: bytes) else {
            throw StateError.corrupt("window source \(id) in \(path) has no field list")
        }
        let source = TupleSource.intern(
            component: component,
            stream: stream,
            fields: Fields(names.compactMap(\.stringValue))
        )
        sources[id] = source
        sourceIds[source.serial] = id
        return source
    }

    private func statement(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw failure(code, "prepare") }
        statements[sql] = statement
        return statement
    }

    private func execute(_ sql: String) throws {
        let code = sqlite3_exec(db, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw failure(code, sql) }
    }

    /// Runs a statement that returns no rows, then resets it.
    private func step(_ statement: OpaquePointer, _ what: String) throws {
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else { throw failure(code, what) }
    }

    /// Steps a query: `true` with a row, `false` at the end.
    private func row(_ statement: OpaquePointer, _ what: String) throws -> Bool {
        let code = sqlite3_step(statement)
        if code == SQLITE_ROW { return true }
        if code == SQLITE_DONE { return false }
        throw failure(code, what)
    }

    private func failure(_ code: CInt, _ what: String) -> StateError {
        .storage("window store \(path): \(what): \(String(cString: sqlite3_errmsg(db))) (SQLite \(code))")
    }
}

/// SQLite's "copy the value now" destructor, which the C header defines as a cast Swift cannot import.
private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
