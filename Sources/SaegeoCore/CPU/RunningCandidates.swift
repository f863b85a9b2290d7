import CMicrokernels

/// The CPU engine's candidate lists while a pass offers to them: per row the best `perRow`
/// (score, id) pairs offered (empty slots -inf with id -1), plus the pending slots, count and bar
/// of saegeo_candidates (candidate_offers.h says why: a value that beats the bar is appended, and
/// a full buffer is cut back to the best `perRow` at once, instead of a heap insertion each).
/// Between passes, and in what `finish` hands over, each row is a min-heap whose root is its lowest.
struct RunningCandidates {
    let rows: Int
    let perRow: Int
    private var scores: [Float]
    private var ids: [Int32]
    private var pendingScores: [Float]
    private var pendingIds: [Int32]
    private var pendingCounts: [UInt32]
    private var bars: [Float]
    /// The portable offers even where AVX-512 runs (tests of both).
    var portableOffers = false

    /// Empty lists, or the seed's (each row best first, as a finished pass writes them).
    init(rows: Int, perRow: Int, seed: CandidateLists? = nil) {
        self.rows = rows
        self.perRow = perRow
        if let seed {
            precondition(seed.rows == rows && seed.perRow == perRow, "the seed must hold the run's lists")
            scores = seed.scores
            ids = seed.ids
        } else {
            // Filled on all cores (tens of MB for all pairs of a large dictionary).
            scores = Self.filled(rows * perRow, with: -.infinity)
            ids = Self.filled(rows * perRow, with: -1)
        }
        // Never read before written: a row's pending slots below its count hold what it appended.
        let slots = DeviceCapabilities.pendingSlots(perRow: perRow)
        pendingScores = [Float](unsafeUninitializedCapacity: rows * slots) { _, count in count = rows * slots }
        pendingIds = [Int32](unsafeUninitializedCapacity: rows * slots) { _, count in count = rows * slots }
        pendingCounts = [UInt32](repeating: 0, count: rows)
        bars = [Float](repeating: -.infinity, count: rows)
        if seed != nil { withOffers { $0.open(0..<rows) } }
    }

    /// The lists' offers, for calls from any thread as long as each row is offered to by one at a time.
    mutating func withOffers<R>(_ body: (CandidateOffers) throws -> R) rethrows -> R {
        let perRow = self.perRow
        return try scores.withUnsafeMutableBufferPointer { scores in
            try ids.withUnsafeMutableBufferPointer { ids in
                try pendingScores.withUnsafeMutableBufferPointer { pendingScores in
                    try pendingIds.withUnsafeMutableBufferPointer { pendingIds in
                        try pendingCounts.withUnsafeMutableBufferPointer { counts in
                            try bars.withUnsafeMutableBufferPointer { bars in
                                try body(CandidateOffers(lists: saegeo_candidates(
                                    scores: scores.baseAddress, ids: ids.baseAddress, capacity: perRow,
                                    pending_scores: pendingScores.baseAddress, pending_ids: pendingIds.baseAddress,
                                    pending_slots: DeviceCapabilities.pendingSlots(perRow: perRow), pending_counts: counts.baseAddress,
                                    bars: bars.baseAddress, portable: portableOffers ? 1 : 0)))
                            }
                        }
                    }
                }
            }
        }
    }

    static func filled<T: Sendable>(_ count: Int, with value: T) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let base = UnsafeSendablePointer(buffer.baseAddress!)
            parallelChunks(count) { range in (base.pointer + range.lowerBound).initialize(repeating: value, count: range.count) }
            initialized = count
        }
    }

    /// Flushes every row, makes each a heap (on all cores), and hands the lists over (the pending
    /// slots go).
    mutating func finish(errorBound: Double?) -> CandidateLists {
        let rows = self.rows
        withOffers { offers in parallelChunks(rows) { offers.close($0) } }
        defer { self = RunningCandidates(rows: 0, perRow: 0) }
        return CandidateLists(rows: rows, perRow: perRow, ids: ids, scores: scores, errorBound: errorBound)
    }
}

/// The C view of RunningCandidates' buffers (saegeo_candidates): thin wrappers of its offers.
// @unchecked Sendable because it holds the C struct's raw pointers, and each core offers only to
// rows no other core touches at the time (its share of rows, or of column groups).
struct CandidateOffers: @unchecked Sendable {
    fileprivate var lists: saegeo_candidates

    /// Bars from the rows' lowest kept scores, nothing pending.
    func open(_ rows: Range<Int>) {
        withUnsafePointer(to: lists) { saegeo_candidates_open($0, rows.lowerBound, rows.count) }
    }

    /// Flushes the rows and makes each a min-heap.
    func close(_ rows: Range<Int>) {
        withUnsafePointer(to: lists) { saegeo_candidates_close($0, rows.lowerBound, rows.count) }
    }

    /// Offers values[j] (id keyIds[j]), j < count, to `row`, skipping the row's own id.
    func offer(row: Int, values: UnsafePointer<Float>, keyIds: UnsafePointer<Int32>, count: Int, selfId: Int32) {
        withUnsafePointer(to: lists) { saegeo_candidates_offer_row($0, row, values, keyIds, count, selfId) }
    }

    /// Offers s[r * ld + c] (row rows.lowerBound + r of the tile, id rowIds[r], against column c)
    /// to list row firstCandidate + c, for c in `columns` and r < rows.count; on the upper triangle
    /// (a diagonal tile) only rows before their column. 16 columns at a time over all the band's
    /// rows, so that those 16 lists stay in the L1 cache; most entries do not beat their column's
    /// bar and cost one vector compare.
    func offerColumns(_ s: UnsafePointer<Float>, ld: Int, rows: Range<Int>, rowIds: UnsafePointer<Int32>, columns: Range<Int>,
                      upperTriangle: Bool, firstCandidate: Int, columnIds: UnsafePointer<Int32>) {
        withUnsafePointer(to: lists) {
            saegeo_candidates_offer_columns($0, s, ld, rows.count, rowIds, columns.lowerBound, columns.upperBound,
                                            upperTriangle ? 1 : 0, rows.lowerBound, firstCandidate, columnIds)
        }
    }
}
