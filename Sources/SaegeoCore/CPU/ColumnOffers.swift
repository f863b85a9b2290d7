import CMicrokernels

/// A band of a similarity tile offered to the candidate heaps of its columns (all pairs: a tile
/// pair also updates its columns' lists), through saegeo_heap_offer_columns: 16 columns at a time
/// over all the band's rows, so that those 16 heaps stay in the L1 cache while they take their
/// values; each heap still takes its rows in order. Most entries do not beat their column's bar
/// and cost one vector compare. (Row by row across all the columns, as before, every replaced
/// root sank through heaps fetched from L2 and L3: about 200 cycles an insertion, measured.)
enum ColumnOffers {
    /// Offers s[r * ld + c] (row rows.lowerBound + r of the tile, id rowIds[r], against column c)
    /// to column c's heap at slot (firstCandidate + c) * perRow, for c in `columns` and r <
    /// rows.count; on the upper triangle (a diagonal tile) only rows before their column.
    static func offer(_ s: UnsafePointer<Float>, ld: Int, rows: Range<Int>, rowIds: UnsafePointer<Int32>, columns: Range<Int>,
                      upperTriangle: Bool, scores: UnsafeMutablePointer<Float>, ids: UnsafeMutablePointer<Int32>, perRow: Int,
                      firstCandidate: Int, columnIds: UnsafePointer<Int32>) {
        saegeo_heap_offer_columns(s, ld, rows.count, rowIds, columns.lowerBound, columns.upperBound, upperTriangle ? 1 : 0,
                                  rows.lowerBound, scores, ids, perRow, firstCandidate, columnIds)
    }
}
