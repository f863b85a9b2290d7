import SaegeoCore

/// The running candidates of each query row, kept as plainly as possible: offers are appended, and
/// a row holding twice its share is sorted (score descending, then the lower id) and cut to its
/// best `perRow`. Any rule for ties at the cut is allowed by the contract (ExactRanking certifies
/// the kept set, or re-scores the row over every key); this one is the Definitions' own.
struct Float64Candidates {
    let rows: Int
    let perRow: Int
    private var lists: [[(score: Float, id: Int32)]]

    /// Empty lists, or lists that start from `seed` (each row best first; empty slots are id -1).
    init(rows: Int, perRow: Int, seed: CandidateLists? = nil) {
        self.rows = rows
        self.perRow = perRow
        lists = Array(repeating: [], count: rows)
        guard let seed else { return }
        precondition(seed.rows == rows && seed.perRow == perRow, "the seed must hold the run's lists")
        for row in 0..<rows {
            for slot in (row * perRow)..<((row + 1) * perRow) where seed.ids[slot] >= 0 {
                lists[row].append((seed.scores[slot], seed.ids[slot]))
            }
        }
    }

    mutating func offer(row: Int, score: Float, id: Int32) {
        lists[row].append((score, id))
        if lists[row].count > 2 * max(perRow, 1) { cut(row) }
    }

    /// The lists as the engines return them: `perRow` slots a row, padded with (-1, -inf).
    mutating func take() -> CandidateLists {
        var result = CandidateLists.empty(rows: rows, perRow: perRow)
        for row in 0..<rows {
            cut(row)
            for (slot, entry) in lists[row].enumerated() {
                result.ids[row * perRow + slot] = entry.id
                result.scores[row * perRow + slot] = entry.score
            }
        }
        lists = []
        return result
    }

    private mutating func cut(_ row: Int) {
        lists[row].sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        if lists[row].count > perRow { lists[row].removeLast(lists[row].count - perRow) }
    }
}
