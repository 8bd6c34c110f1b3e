import Foundation
import GRDB

/// One SQLite database file holding the entries of every state and partition opened on it.
///
/// Each state has its table, `gale_state_<sanitized name>`, with the columns `key BLOB PRIMARY KEY`,
/// `value BLOB`, `previous BLOB NULL` and `txid INTEGER`; keys and values are canonical
/// ``GaleValue`` encodings. The table `gale_state_meta(name, part, last_txid)` records the last
/// committed txid per state and partition.
///
/// The database runs in WAL mode with a busy timeout of ``busyTimeout``, so several processes may
/// share the file: their write transactions (IMMEDIATE) wait for one another instead of failing.
///
/// Every method is safe to call from any thread and blocks while it waits for SQLite.
final class SQLiteStateDatabase: Sendable {
    /// The table of last committed txids.
    static let metaTable = "gale_state_meta"
    /// How long a write waits for another connection's write lock before it fails.
    static let busyTimeout: TimeInterval = 5

    /// The database file.
    let path: String
    private let pool: DatabasePool

    private init(path: String, pool: DatabasePool) {
        self.path = path
        self.pool = pool
    }

    // MARK: - Opening

    /// Opens the database at `path`, creating the file (not its directory) when it is missing,
    /// and creates the meta table.
    ///
    /// - Throws: ``StateError/cannotOpen(path:reason:)`` when the directory is missing, the path is
    ///   a directory, the file is not an SQLite database, or SQLite refuses it.
    static func open(path: String) throws(StateError) -> SQLiteStateDatabase {
        try checkOpenable(path)
        let pool: DatabasePool
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(busyTimeout)
            configuration.label = "gale.state"
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw .cannotOpen(path: path, reason: reason(for: error))
        }
        let database = SQLiteStateDatabase(path: path, pool: pool)
        do {
            try pool.write { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS \(metaTable) (
                            name TEXT NOT NULL,
                            part INTEGER NOT NULL,
                            last_txid INTEGER NOT NULL,
                            PRIMARY KEY (name, part)
                        ) WITHOUT ROWID
                        """
                )
            }
        } catch {
            throw .cannotOpen(path: path, reason: reason(for: error))
        }
        return database
    }

    /// Opens an existing database without creating anything.
    ///
    /// - Throws: ``StateError/cannotOpen(path:reason:)`` when the file is missing or unusable.
    static func openExisting(path: String) throws(StateError) -> SQLiteStateDatabase {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .cannotOpen(path: path, reason: "no such file")
        }
        return try open(path: path)
    }

    /// Creates the table of `name` when it is missing.
    ///
    /// - Throws: ``StateError/cannotOpen(path:reason:)`` naming the table when it cannot be created.
    func prepareTable(for name: StateName) throws(StateError) {
        do {
            try pool.write { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS "\(name.tableName)" (
                            key BLOB NOT NULL PRIMARY KEY,
                            value BLOB NOT NULL,
                            previous BLOB NULL,
                            txid INTEGER NOT NULL
                        ) WITHOUT ROWID
                        """
                )
            }
        } catch {
            throw .cannotOpen(
                path: path,
                reason: "cannot create table \(name.tableName): \(Self.reason(for: error))"
            )
        }
    }

    /// Explains why a path cannot hold a database, before SQLite gives a vaguer reason.
    private static func checkOpenable(_ path: String) throws(StateError) {
        guard !path.isEmpty else {
            throw .cannotOpen(path: path, reason: "the path is empty")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue else {
                throw .cannotOpen(path: path, reason: "the path is a directory")
            }
            return
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw .cannotOpen(path: path, reason: "the directory \(directory) does not exist")
        }
        guard isDirectory.boolValue else {
            throw .cannotOpen(path: path, reason: "\(directory) is not a directory")
        }
    }

    // MARK: - Access

    /// Runs `body` in a read transaction that sees every committed write.
    ///
    /// - Parameter what: What is read, for the error message (for example the table).
    /// - Throws: A ``StateError`` thrown by `body`, or ``StateError/storage(_:)`` naming `what` and
    ///   the database for any other failure.
    func read<T>(_ what: String, _ body: (Database) throws -> T) throws(StateError) -> T {
        do {
            return try pool.read(body)
        } catch let error as StateError {
            throw error
        } catch {
            throw .storage("reading \(what) in [\(path)]: \(Self.reason(for: error))")
        }
    }

    /// Runs `body` in one IMMEDIATE write transaction, committed when `body` returns.
    ///
    /// - Parameter what: What is written, for the error message (for example the table).
    /// - Throws: A ``StateError`` thrown by `body`, or ``StateError/storage(_:)`` naming `what` and
    ///   the database for any other failure; either way the transaction is rolled back.
    func write<T>(_ what: String, _ body: (Database) throws -> T) throws(StateError) -> T {
        do {
            return try pool.write(body)
        } catch let error as StateError {
            throw error
        } catch {
            throw .storage("writing \(what) in [\(path)]: \(Self.reason(for: error))")
        }
    }

    /// SQLite's message and result code, without statement arguments (they hold state data).
    static func reason(for error: any Error) -> String {
        guard let error = error as? DatabaseError else { return String(describing: error) }
        return "\(error.message ?? "SQLite failure") (SQLite error \(error.resultCode.rawValue))"
    }
}
