/// A spout or bolt that describes its own state in statistics and `gale status`, beside the
/// counters every component has; for example a Kafka spout naming, per partition, the committed
/// offset and the record holding it back.
///
/// Threading: called on the task's queue (like every method of the component), about once a
/// second while the task runs and when it goes idle.
public protocol StatusReporting: AnyObject {
    /// Short lines (one fact each) describing this task's state now.
    func statusLines() -> [String]

    /// The same state as a table, for the web UI, metrics and alerts; `nil` (the default) when
    /// the lines say everything.
    func statusTable() -> StatusTable?
}

extension StatusReporting {
    public func statusTable() -> StatusTable? { nil }
}

/// A component's state as rows of named columns, e.g. a Kafka spout's partitions
/// (`kafka-partitions`) or the transactional coordinator's progress (`transactional`).
///
/// Tables of the same name from several tasks or workers are joined row by row; a component's
/// tasks should therefore include a column that tells their rows apart (such as `task`).
public struct StatusTable: Sendable, Equatable, Codable {
    /// What the table holds; consumers (the web UI, metrics, webhooks) recognise tables by name.
    public var name: String
    /// The column names.
    public var columns: [String]
    /// The rows, each with one cell per column.
    public var rows: [[String]]

    /// A table `name` with `columns` and `rows`.
    public init(name: String, columns: [String], rows: [[String]]) {
        self.name = name
        self.columns = columns
        self.rows = rows
    }

    /// The cell of `column` in `row`, if the table has that column.
    public func value(_ column: String, in row: [String]) -> String? {
        guard let index = columns.firstIndex(of: column), index < row.count else { return nil }
        return row[index]
    }

    /// This table with the rows of `other` (of the same name and columns) appended.
    public func appending(_ other: StatusTable) -> StatusTable {
        guard other.columns == columns else { return self }
        var result = self
        result.rows += other.rows
        return result
    }
}
