/// Reads `neighbors`' .safetensors output (`query_ids` I64 [nq], `indices` I64 [nq, k], `scores`
/// F32 [nq, k]) into the rows a report shows: the toxic features' rows when the toxic ids are
/// known, else the first queries. The file may be an all-pairs run of a million features, so only
/// the rows shown are read from the mapping.
enum NeighbourFile {
    /// Neighbours shown per feature; the others are counted.
    static let shownNeighbours = 16

    static func read(_ path: String, toxic: [Int]?, rowLimit: Int) throws -> NeighbourTable {
        let file = try SafetensorsFile(path: path)
        guard let queries = file.tensor("query_ids"), queries.dtype == "I64", queries.shape.count == 1,
              let indices = file.tensor("indices"), indices.dtype == "I64", indices.shape.count == 2,
              let scores = file.tensor("scores"), scores.dtype == "F32", scores.shape == indices.shape,
              indices.shape[0] == queries.shape[0] else {
            throw SaegeoError.badInput("\(path) lacks query_ids I64 [nq], indices I64 [nq, k] and scores F32 [nq, k]; give the output of saegeo neighbors")
        }
        let count = queries.shape[0], k = indices.shape[1]
        let (queryFile, queryOffset) = try queries.mapped()
        let (indexFile, indexOffset) = try indices.mapped()
        let (scoreFile, scoreOffset) = try scores.mapped()
        func int64(_ file: MappedFile, _ offset: Int, _ element: Int) -> Int {
            Int(Int64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: offset + 8 * element, as: Int64.self)))
        }
        // The first row of each toxic id: one scan of the query ids, nothing kept of the others.
        var rowOf: [Int: Int] = [:]
        if let toxic {
            let wanted = Set(toxic)
            for row in 0..<count {
                let id = int64(queryFile, queryOffset, row)
                if wanted.contains(id), rowOf[id] == nil { rowOf[id] = row }
            }
        }
        let chosen: [(feature: Int, row: Int)]
        let missing: [Int]
        if let toxic {
            chosen = toxic.compactMap { id in rowOf[id].map { (id, $0) } }
            missing = toxic.filter { rowOf[$0] == nil }
            // A toxic id the file has no row for: the neighbours are of other queries than these
            // toxic features, and a report of them would show some other set as the toxic one.
            if !missing.isEmpty {
                throw SaegeoError.badInput("\(path) has no row for \(missing.count) of the \(toxic.count) toxic features (\(missing.prefix(5).map(String.init).joined(separator: ", "))\(missing.count > 5 ? ", ..." : "")): give the neighbours of these toxic ids (neighbors --queries TOXIC), or the toxic ids the neighbours were computed for")
            }
        } else {
            chosen = (0..<min(count, rowLimit)).map { (int64(queryFile, queryOffset, $0), $0) }
            missing = []
        }
        let shown = Array(chosen.prefix(rowLimit))
        var leftOutNeighbours = 0
        let rows = shown.map { feature, row in
            var neighbours: [(feature: Int, cosine: Float)] = []
            for j in 0..<k {
                let id = int64(indexFile, indexOffset, row * k + j)
                guard id >= 0 else { continue }   // fewer keys than k
                guard neighbours.count < shownNeighbours else { leftOutNeighbours += 1; continue }
                let cosine = Float(bitPattern: UInt32(littleEndian: scoreFile.bytes.loadUnaligned(fromByteOffset: scoreOffset + 4 * (row * k + j), as: UInt32.self)))
                neighbours.append((id, cosine))
            }
            return NeighbourTable.Row(feature: feature, neighbours: neighbours)
        }
        return NeighbourTable(path: path, rows: rows, queriesLeftOut: count - rows.count, toxicWithoutRow: missing,
                              neighboursLeftOut: leftOutNeighbours)
    }
}
