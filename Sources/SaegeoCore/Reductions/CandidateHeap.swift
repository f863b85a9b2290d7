import CMicrokernels

/// Keeps the best `capacity` (score, id) pairs of a stream: a binary min-heap whose root is the
/// score to beat, so the common case, a value that does not make it, costs one comparison.
/// Starts full of (-inf, -1) sentinels, so the root is always defined.
struct CandidateHeap {
    let scores: UnsafeMutablePointer<Float>
    let ids: UnsafeMutablePointer<Int32>
    let capacity: Int

    /// Works in place on caller-owned storage (one slice of a CandidateLists per query row).
    init(scores: UnsafeMutablePointer<Float>, ids: UnsafeMutablePointer<Int32>, capacity: Int) {
        self.scores = scores
        self.ids = ids
        self.capacity = capacity
    }

    var threshold: Float { scores[0] }

    /// Replaces the root by (score, id) and restores the heap; call only when score > threshold.
    /// (saegeo_heap_replace_root: at each level the lower child, the left one on a tie.)
    @inline(__always)
    func replaceRoot(score: Float, id: Int32) {
        saegeo_heap_replace_root(scores, ids, capacity, score, id)
    }

    /// Offers one row of similarities against `keyIds`, skipping the query itself.
    @inline(__always)
    func offer(row: UnsafePointer<Float>, keyIds: UnsafePointer<Int32>, count: Int, selfId: Int32) {
        saegeo_heap_offer_row(scores, ids, capacity, row, keyIds, count, selfId)
    }
}
