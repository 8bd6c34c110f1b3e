/// Errors of the transactional layer, each naming what is at fault.
public enum TridentError: Error, CustomStringConvertible, Equatable {
    /// A stream names a field its input does not have.
    case unknownField(field: String, operation: String, available: [String])
    /// An operation's output fields clash with the input's.
    case duplicateField(field: String, operation: String)
    /// A spout emitted more records in one batch than the configured limit.
    case batchTooLarge(stream: String, txid: Int64, records: Int, limit: Int)
    /// A topology with no stream, or an invalid setting.
    case invalidTopology(String)
    /// A bolt task was started after a batch began (its worker restarted): what it had absorbed
    /// of the batch is gone, so the batch must run again.
    case batchStateLost(component: String, txid: Int64)

    public var description: String {
        switch self {
        case .unknownField(let field, let operation, let available):
            "\(operation): no field [\(field)] in its input (fields: \(available.joined(separator: ", ")))"
        case .duplicateField(let field, let operation):
            "\(operation): output field [\(field)] is already a field of its input"
        case .batchTooLarge(let stream, let txid, let records, let limit):
            "stream [\(stream)] emitted \(records) records in batch \(txid), more than the limit of \(limit) "
                + "(TridentConfig.maxBatchSize); the batch is failed, nothing is lost"
        case .invalidTopology(let reason):
            "invalid transactional topology: \(reason)"
        case .batchStateLost(let component, let txid):
            "bolt [\(component)] started after batch \(txid) began (a restart): its share of the batch is gone; "
                + "the batch runs again"
        }
    }
}
