/// Collects the output streams a component declares in `declareOutputFields`.
public struct OutputFieldsDeclarer: Sendable {
    /// One declared stream.
    public struct Stream: Sendable, Hashable {
        /// The stream id.
        public var id: String
        /// The stream's fields.
        public var fields: Fields
        /// `true` when tuples on this stream are sent with `emitDirect` only.
        public var isDirect: Bool
    }

    /// The streams declared so far, in declaration order.
    public private(set) var streams: [Stream] = []
    /// Stream ids declared more than once (a validation error).
    public private(set) var duplicates: [String] = []

    /// An empty declarer.
    public init() {}

    /// Declares `fields` on the default stream.
    public mutating func declare(_ fields: Fields, direct: Bool = false) {
        declareStream(Topology.defaultStreamId, fields: fields, direct: direct)
    }

    /// Declares the stream `id` with `fields`.
    public mutating func declareStream(_ id: String, fields: Fields, direct: Bool = false) {
        if streams.contains(where: { $0.id == id }) {
            duplicates.append(id)
            return
        }
        streams.append(Stream(id: id, fields: fields, isDirect: direct))
    }
}
