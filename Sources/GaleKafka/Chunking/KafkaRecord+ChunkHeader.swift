extension KafkaRecord {
    /// The value of the record's `gale-chunk` header (``ChunkHeader/recordHeaderKey``), or `nil`
    /// for a record that is not a chunk (most records have no headers: nothing is searched).
    var chunkHeader: [UInt8]? {
        guard !headers.isEmpty, let header = headers.first(where: { $0.name == ChunkHeader.recordHeaderKey }) else {
            return nil
        }
        return header.value ?? []
    }
}
