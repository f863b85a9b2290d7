import Foundation

/// The result arrays, written by several threads at disjoint rows.
final class SearchOutput: @unchecked Sendable {  // because threads write disjoint rows and the counts are Locked
    let k: Int
    // Raw storage, not arrays: several device threads write disjoint rows at the same time, which
    // Swift's exclusivity checks forbid on one array.
    private let indexStorage: UnsafeMutableBufferPointer<Int64>
    private let scoreStorage: UnsafeMutableBufferPointer<Float>
    private let rankedCounts = Locked(FirstPassCounts())

    init(queries: Int, k: Int) {
        self.k = k
        indexStorage = .allocate(capacity: max(1, queries * k))
        scoreStorage = .allocate(capacity: max(1, queries * k))
        indexStorage.initialize(repeating: -1)
        scoreStorage.initialize(repeating: -.infinity)
        count = queries * k
    }

    private let count: Int

    deinit {
        indexStorage.deallocate()
        scoreStorage.deallocate()
    }

    var indices: [Int64] { Array(indexStorage.prefix(count)) }
    var scores: [Float] { Array(scoreStorage.prefix(count)) }

    var exhaustiveRows: Int { counts.exhaustiveRows }
    /// Rows ranked, candidates re-scored and exhaustive rows so far.
    var counts: FirstPassCounts { rankedCounts.current }

    /// Ranks candidate rows exactly and stores them: row `position` of `lists` belongs to query
    /// row `rows[position]`. In batches of rows (`batchRows`: tests), each spread over the cores.
    func rank(_ lists: CandidateLists, rows: [Int], queries: [Int], ranking: ExactRanking, batchRows: Int? = nil,
              blockRows: Int? = nil) {
        // Each slot's ordered id, approximate and exact score and twin: 20 bytes (ExactRanking.batchBytes).
        let batch = max(1, batchRows ?? ranking.batchBytes / (20 * max(1, lists.perRow)))
        let scorer = BlockedRescoring(ranking: ranking, blockRows: blockRows)
        for start in stride(from: 0, to: rows.count, by: batch) {
            rank(lists, positions: start..<min(rows.count, start + batch), rows: rows, queries: queries, ranking: ranking,
                 scorer: scorer)
        }
        ranking.dictionary.releaseAllPages()
        ranking.querySide?.dictionary.releaseAllPages()
    }

    /// ExactRanking's steps for the rows at `positions` of `lists`: each row's candidates ordered
    /// and its first round chosen; those scored (BlockedRescoring); the second round chosen and
    /// scored; each row finished.
    private func rank(_ lists: CandidateLists, positions: Range<Int>, rows: [Int], queries: [Int], ranking: ExactRanking,
                      scorer: BlockedRescoring) {
        let k = self.k, d = ranking.dictionary.dimension, perRow = lists.perRow, segments = lists.segments
        let n = positions.count, first = positions.lowerBound
        let bound = lists.errorBound ?? ExactRanking.errorBound(dimension: d)
        let ids = UnsafeMutablePointer<Int32>.allocate(capacity: n * perRow)
        let approximate = UnsafeMutablePointer<Float>.allocate(capacity: n * perRow)
        let exact = UnsafeMutablePointer<Double>.allocate(capacity: n * perRow)
        let ordered = UnsafeMutablePointer<ExactRanking.Ordered>.allocate(capacity: n)
        let ends = UnsafeMutablePointer<Int>.allocate(capacity: 2 * n)  // [round one's ends | round two's]
        let exhaustiveFlags = UnsafeMutablePointer<Int>.allocate(capacity: n)
        defer {
            ids.deallocate(); approximate.deallocate(); exact.deallocate()
            ordered.deallocate(); ends.deallocate(); exhaustiveFlags.deallocate()
        }
        let idBase = UnsafeSendablePointer(ids), approximateBase = UnsafeSendablePointer(approximate)
        let exactBase = UnsafeSendablePointer(exact), orderedBase = UnsafeSendablePointer(ordered)
        let endBase = UnsafeSendablePointer(ends), flags = UnsafeSendablePointer(exhaustiveFlags)
        lists.ids.withUnsafeBufferPointer { candidateIds in
            lists.scores.withUnsafeBufferPointer { candidateScores in
                let sourceIds = UnsafeSendablePointer(candidateIds.baseAddress!)
                let sourceScores = UnsafeSendablePointer(candidateScores.baseAddress!)
                parallelChunks(n) { range in
                    for p in range {
                        let from = (first + p) * perRow, to = p * perRow
                        orderedBase.pointer[p] = ranking.order(candidateIds: sourceIds.pointer + from,
                                                               candidateScores: sourceScores.pointer + from,
                                                               perRow: perRow, segments: segments,
                                                               ids: idBase.pointer + to, approximate: approximateBase.pointer + to)
                        endBase.pointer[p] = ranking.firstRound(approximateBase.pointer + to, count: orderedBase.pointer[p].count,
                                                                bound: bound)
                    }
                }
            }
        }
        let query = { (p: Int) in queries[rows[first + p]] }
        scorer.score(rows: n, perRow: perRow, query: query, ids: ids, wanted: (0..<n).map { 0..<ends[$0] }, exact: exact)
        parallelChunks(n) { range in
            for p in range {
                let to = p * perRow
                endBase.pointer[n + p] = ranking.secondRound(approximateBase.pointer + to, exact: exactBase.pointer + to,
                                                             scored: endBase.pointer[p], count: orderedBase.pointer[p].count,
                                                             bound: bound)
            }
        }
        scorer.score(rows: n, perRow: perRow, query: query, ids: ids, wanted: (0..<n).map { ends[$0]..<ends[n + $0] },
                     exact: exact)
        let indexBase = UnsafeSendablePointer(indexStorage.baseAddress!)
        let scoreBase = UnsafeSendablePointer(scoreStorage.baseAddress!)
        parallelChunks(n) { range in
            let scratch = ExactRanking.Scratch(dimension: d)
            for p in range {
                let row = rows[first + p], to = p * perRow
                let ranked = ranking.finish(query: queries[row], ids: idBase.pointer + to, exact: exactBase.pointer + to,
                                            scored: endBase.pointer[n + p], ordered: orderedBase.pointer[p], bound: bound,
                                            scratch: scratch)
                for slot in 0..<k {
                    indexBase.pointer[row * k + slot] = ranked.ids[slot]
                    scoreBase.pointer[row * k + slot] = ranked.scores[slot]
                }
                flags.pointer[p] = ranked.exhaustive ? 1 : 0
            }
        }
        var here = FirstPassCounts()
        here.queryRows = n
        here.rescoredCandidates = (0..<n).reduce(0) { $0 + ends[n + $1] }
        here.exhaustiveRows = (0..<n).reduce(0) { $0 + exhaustiveFlags[$1] }
        rankedCounts.withLock { $0 = $0 + here }
    }
}
