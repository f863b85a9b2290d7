import Foundation

/// The answer to a neighbour search, per the Definitions: for each query its k nearest keys by
/// cosine, self excluded, descending, ties to the lower id, padded with -1 / -inf.
public struct NeighborResult: Sendable {
    public let queryIds: [Int64]
    public let k: Int
    public let indices: [Int64]
    public let scores: [Float]
    /// Rows the certificate could not vouch for, computed exactly over every key instead.
    public let exhaustiveRows: Int
    /// Float32 multiply-adds of the similarity tiles, counted as 2 flops each.
    public let flops: Double
    public let seconds: Double
}

/// Exact top-k neighbours of a query set among a key set, on one engine.
public struct NeighborSearch: Sendable {
    public let dictionary: FeatureMatrix
    public let queries: [Int]
    public let keys: [Int]
    public let k: Int

    public init(dictionary: FeatureMatrix, queries: [Int], keys: [Int], k: Int) throws {
        guard k >= 1 else { throw SaegeoError.badInput("k must be at least 1 (got \(k))") }
        self.dictionary = dictionary
        self.queries = queries
        self.keys = keys
        self.k = k
    }

    /// Candidates kept per query by the float32 pass: a few more than k, so that the exact
    /// re-scoring rarely finds the certificate short.
    public func candidatesPerQuery(liveKeys: Int) -> Int {
        min(k + max(8, k / 4), liveKeys)
    }

    public func run(on engine: NeighborEngine, progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> NeighborResult {
        let started = DispatchTime.now()
        let norms = FeatureNorms(of: dictionary, features: queries + keys)
        let liveKeys = Array(Set(keys.filter(norms.isLive))).sorted().map { Int32($0) }
        let liveQueryRows = queries.indices.filter { norms.isLive(queries[$0]) }
        let candidates = candidatesPerQuery(liveKeys: liveKeys.count)

        var indices = [Int64](repeating: -1, count: queries.count * k)
        var scores = [Float](repeating: -.infinity, count: queries.count * k)
        var exhaustiveRows = 0
        var flops = 0.0
        if candidates > 0, !liveQueryRows.isEmpty {
            let tiling = try SearchTiling.plan(queries: liveQueryRows.count, keys: liveKeys.count,
                                               dimension: dictionary.dimension, candidates: candidates,
                                               layout: engine.layout)
            let ranking = ExactRanking(dictionary: dictionary, norms: norms, liveKeys: liveKeys, k: k)
            let keyTiles = stride(from: 0, to: liveKeys.count, by: tiling.keyTile).map {
                $0..<min($0 + tiling.keyTile, liveKeys.count)
            }
            let blocks = stride(from: 0, to: liveQueryRows.count, by: tiling.queryBlock).map {
                $0..<min($0 + tiling.queryBlock, liveQueryRows.count)
            }
            var done = 0
            var keyStorage: [Float] = []
            for block in blocks {
                let rows = Array(liveQueryRows[block])
                let ids = rows.map { Int32(queries[$0]) }
                try engine.beginQueries(norms.unitRows(ids[...], of: dictionary, layout: engine.layout),
                                        candidates: candidates)
                for tile in keyTiles {
                    let keyRows = norms.unitRows(liveKeys[tile], of: dictionary, layout: engine.layout,
                                                 reusing: &keyStorage)
                    try engine.addKeys(keyRows)
                    keyStorage = keyRows.values
                    flops += 2 * Double(rows.count) * Double(tile.count) * Double(dictionary.dimension)
                    done += 1
                    progress?(done, blocks.count * keyTiles.count)
                }
                let lists = try engine.finishQueries()
                exhaustiveRows += rank(rows: rows, lists: lists, ranking: ranking, indices: &indices, scores: &scores)
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return NeighborResult(queryIds: queries.map(Int64.init), k: k, indices: indices, scores: scores,
                              exhaustiveRows: exhaustiveRows, flops: flops, seconds: seconds)
    }

    /// Exact ranking of one block's candidates, rows spread over the cores; returns the number of
    /// rows that needed the exhaustive path.
    private func rank(rows: [Int], lists: CandidateLists, ranking: ExactRanking,
                      indices: inout [Int64], scores: inout [Float]) -> Int {
        let k = self.k, queries = self.queries, d = dictionary.dimension, perRow = lists.perRow
        let exhaustive = UnsafeSendablePointer(UnsafeMutablePointer<Int>.allocate(capacity: rows.count))
        defer { exhaustive.pointer.deallocate() }
        indices.withUnsafeMutableBufferPointer { indexOut in
            scores.withUnsafeMutableBufferPointer { scoreOut in
                lists.ids.withUnsafeBufferPointer { candidateIds in
                    lists.scores.withUnsafeBufferPointer { candidateScores in
                        let indexBase = UnsafeSendablePointer(indexOut.baseAddress!)
                        let scoreBase = UnsafeSendablePointer(scoreOut.baseAddress!)
                        let idBase = UnsafeSendablePointer(candidateIds.baseAddress!)
                        let candidateBase = UnsafeSendablePointer(candidateScores.baseAddress!)
                        parallelChunks(rows.count) { range in
                            let scratch = ExactRanking.Scratch(dimension: d)
                            for position in range {
                                let row = rows[position]
                                let ranked = ranking.rank(query: queries[row],
                                                          candidateIds: idBase.pointer + position * perRow,
                                                          candidateScores: candidateBase.pointer + position * perRow,
                                                          perRow: perRow, scratch: scratch)
                                for slot in 0..<k {
                                    indexBase.pointer[row * k + slot] = ranked.ids[slot]
                                    scoreBase.pointer[row * k + slot] = ranked.scores[slot]
                                }
                                exhaustive.pointer[position] = ranked.exhaustive ? 1 : 0
                            }
                        }
                    }
                }
            }
        }
        return (0..<rows.count).reduce(0) { $0 + exhaustive.pointer[$1] }
    }
}
