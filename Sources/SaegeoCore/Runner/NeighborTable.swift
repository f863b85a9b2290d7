
/// `neighbors -o OUT.csv`: the result as a long table, `query,rank,key,cosine`, one line per query
/// and rank, queries in the order searched and ranks from 1, for pandas or a spreadsheet where a
/// [queries, k] tensor is awkward.
///
/// Empty slots (id -1, cosine -inf: fewer live keys than k, or a dead query whose row is empty)
/// are left out rather than written: a -inf in a csv is read back as a float by some readers and as
/// text by others, and a row that is no neighbour would be counted as one by a groupby. So a query
/// has between 0 and k lines, and a dead query has none.
enum NeighborTable {
    static func write(_ result: NeighborResult, into sink: OutputSink) throws {
        try sink.write("query,rank,key,cosine\n")
        let k = result.k
        for (row, query) in result.queryIds.enumerated() {
            var line = ""
            for slot in 0..<k where result.indices[row * k + slot] >= 0 {
                // Float's description is the shortest text that reads back as the same float32.
                line += "\(query),\(slot + 1),\(result.indices[row * k + slot]),\(result.scores[row * k + slot])\n"
            }
            if !line.isEmpty { try sink.write(line) }
        }
    }
}
