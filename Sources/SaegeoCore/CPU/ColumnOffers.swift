/// One row of a similarity tile offered to the candidate heaps of its columns (all pairs: a tile
/// pair also updates its columns' lists). Most entries do not beat their column's bar, so the row
/// is compared 8 columns at a time against a contiguous copy of the bars, and only a lane that
/// wins goes to its heap. A column whose list has just started (an all-pairs shard meets many
/// such columns) wins often; the vector compare keeps the rest of the row cheap all the same.
struct ColumnOffers {
    /// The candidate lists: column c's heap is at slot (firstCandidate + c) * perRow.
    let scores: UnsafeMutablePointer<Float>
    let ids: UnsafeMutablePointer<Int32>
    let perRow: Int
    let firstCandidate: Int
    /// The ids of the tile's columns.
    let columnIds: UnsafePointer<Int32>
    /// bars[c - firstColumn] is the threshold of column c's heap, for the columns this copy covers.
    let bars: UnsafeMutablePointer<Float>
    let firstColumn: Int

    /// Runs `body` with the offers of `columns`, their bars copied from their heaps' roots (one
    /// core's share of a tile's columns).
    static func withColumns(_ columns: Range<Int>, scores: UnsafeMutablePointer<Float>, ids: UnsafeMutablePointer<Int32>,
                            perRow: Int, firstCandidate: Int, columnIds: UnsafePointer<Int32>,
                            _ body: (ColumnOffers) -> Void) {
        var bars = columns.map { scores[(firstCandidate + $0) * perRow] }
        bars.withUnsafeMutableBufferPointer { bars in
            body(ColumnOffers(scores: scores, ids: ids, perRow: perRow, firstCandidate: firstCandidate, columnIds: columnIds,
                              bars: bars.baseAddress!, firstColumn: columns.lowerBound))
        }
    }

    /// Offers line[c] (the similarity of row `rowId` and column c) for c in `columns`, skipping the
    /// row's own id.
    @inline(__always)
    func offer(_ line: UnsafePointer<Float>, rowId: Int32, columns: Range<Int>) {
        var c = columns.lowerBound
        while c + 8 <= columns.upperBound {
            let values = UnsafeRawPointer(line + c).loadUnaligned(as: SIMD8<Float>.self)
            let thresholds = UnsafeRawPointer(bars + (c - firstColumn)).loadUnaligned(as: SIMD8<Float>.self)
            if any(values .> thresholds) {
                for lane in 0..<8 where values[lane] > bars[c + lane - firstColumn] {
                    take(values[lane], rowId: rowId, column: c + lane)
                }
            }
            c += 8
        }
        while c < columns.upperBound {
            if line[c] > bars[c - firstColumn] { take(line[c], rowId: rowId, column: c) }
            c += 1
        }
    }

    @inline(__always)
    private func take(_ score: Float, rowId: Int32, column: Int) {
        guard columnIds[column] != rowId else { return }
        let slot = (firstCandidate + column) * perRow
        let heap = CandidateHeap(scores: scores + slot, ids: ids + slot, capacity: perRow)
        heap.replaceRoot(score: score, id: rowId)
        bars[column - firstColumn] = heap.threshold
    }
}
