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
    @inline(__always)
    func replaceRoot(score: Float, id: Int32) {
        var i = 0
        while true {
            let left = 2 * i + 1
            if left >= capacity { break }
            let right = left + 1
            let child = right < capacity && scores[right] < scores[left] ? right : left
            if scores[child] >= score { break }
            scores[i] = scores[child]
            ids[i] = ids[child]
            i = child
        }
        scores[i] = score
        ids[i] = id
    }

    /// Offers one row of similarities against `keyIds`, skipping the query itself.
    @inline(__always)
    func offer(row: UnsafePointer<Float>, keyIds: UnsafePointer<Int32>, count: Int, selfId: Int32) {
        var bar = threshold
        for j in 0..<count {
            let value = row[j]
            if value > bar, keyIds[j] != selfId {
                replaceRoot(score: value, id: keyIds[j])
                bar = threshold
            }
        }
    }
}
