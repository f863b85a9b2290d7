/// Turns candidate lists chosen in float32 (or by a certified bfloat16 first pass, whose lists carry
/// their own bound: CandidateLists.errorBound) into the exact answer of the Definitions:
/// each candidate is re-scored in float64 (Exact.dot over the original values, divided by both
/// float64 norms), sorted by score descending then id ascending, and cut to k.
///
/// The result is certified: any key the device did not keep has a float32 score at most the lowest
/// kept one, c, so its true cosine is at most c + errorBound (the lists' bound: every score, kept
/// or not, is within it of the exact cosine). If the k-th exact score beats that,
/// no missing key can enter the top k. Otherwise (exact ties, near-duplicates) the row is computed
/// exactly over every key instead. Either way the answer does not depend on the device.
struct ExactRanking: Sendable {
    /// The keys' dictionary and norms (and the queries', unless `querySide` says otherwise).
    let dictionary: FeatureMatrix
    let norms: FeatureNorms
    let liveKeys: [Int32]
    let k: Int
    /// The queries' dictionary and norms when they are another dictionary than the keys' (neighbours
    /// across two dictionaries): an id of the queries is then no key, so nothing is excluded as self.
    var querySide: (dictionary: FeatureMatrix, norms: FeatureNorms)? = nil
    /// Read candidate rows from the mapping without copying: only when the whole dictionary may
    /// become resident within the memory budget (otherwise each row is read with pread).
    var readsInPlace = false
    /// The memory a batch of ranked rows may use (SearchOutput.rank: 20 bytes a candidate slot);
    /// a job sets a share of its budget. All pairs share a pair's two sides only within a batch
    /// (BlockedRescoring.twins): 16384 rows with lists of 96 take 31 MiB.
    var batchBytes = 16 << 20

    /// Bound on |float32 unit-row dot - cosine| for dimension d, u = 2^-24: each unit row is
    /// within 2u (+u^2) relative of the exact one (rounded reciprocal, rounded product), so the
    /// two together move the dot by at most 4u + O(u^2); any order of float32 summation of d
    /// products adds gamma_d = d u / (1 - d u). With a margin for the second-order terms.
    static func errorBound(dimension d: Int) -> Double {
        Double(d + 6) * 0x1p-24 * 1.01 + 1e-12
    }

    struct Row {
        var ids: [Int64]
        var scores: [Float]
        var exhaustive: Bool
        /// Candidates re-scored in float64 (those within twice the bound of the k-th best).
        var rescored: Int
    }

    /// A query row's candidates, best approximate score first (ties to the lower id), and what its
    /// lists vouch for: the keys they do not hold score at most `bar` (when `anyFull`).
    struct Ordered {
        var count = 0
        var bar = -Float.infinity
        var anyFull = false
    }

    /// Copies row `query`'s valid candidates (perRow slots, empty ones id -1; `segments` lists of
    /// one device each) into ids/approximate, sorted best first.
    func order(candidateIds: UnsafePointer<Int32>, candidateScores: UnsafePointer<Float>, perRow: Int, segments: Int,
               ids: UnsafeMutablePointer<Int32>, approximate: UnsafeMutablePointer<Float>) -> Ordered {
        // Each segment is one device's list over its own keys. A full list vouches only for keys
        // scoring at most its lowest kept value; a list with room left saw all of its keys.
        var ordered = Ordered()
        let segmentLength = perRow / max(1, segments)
        // Best first, ties by id: one integer per candidate whose order is that order, so the
        // sort compares integers (a third of the time of comparing (score, id) pairs).
        var valid: [UInt64] = []
        valid.reserveCapacity(perRow)
        for segment in 0..<max(1, segments) {
            var lowest = Float.infinity
            var full = true
            for slot in (segment * segmentLength)..<((segment + 1) * segmentLength) {
                guard candidateIds[slot] >= 0 else { full = false; continue }
                valid.append(Self.orderKey(score: candidateScores[slot], id: candidateIds[slot]))
                lowest = min(lowest, candidateScores[slot])
            }
            if full { ordered.anyFull = true; ordered.bar = max(ordered.bar, lowest) }
        }
        valid.sort()
        for (i, key) in valid.enumerated() {
            ids[i] = Int32(bitPattern: UInt32(truncatingIfNeeded: key) ^ 0x8000_0000)
            approximate[i] = Self.score(ofKey: key)
        }
        ordered.count = valid.count
        return ordered
    }

    /// An integer that sorts ascending as (score descending, id ascending) do: the score's bits
    /// mapped to an order-preserving integer and complemented (-0 taken as +0, which compares
    /// equal to it), above the id with its sign bit flipped. Scores are never NaN.
    static func orderKey(score: Float, id: Int32) -> UInt64 {
        let bits = (score + 0).bitPattern
        let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return UInt64(~ascending) << 32 | UInt64(UInt32(bitPattern: id) ^ 0x8000_0000)
    }

    /// The score an orderKey holds (+0 for -0).
    static func score(ofKey key: UInt64) -> Float {
        let ascending = ~UInt32(truncatingIfNeeded: key >> 32)
        return Float(bitPattern: ascending & 0x8000_0000 != 0 ? ascending & 0x7fff_ffff : ~ascending)
    }

    // Only candidates that can still reach the top k need their exact score, and they form a
    // prefix of the ordered list, chosen in two rounds. Round one: every candidate within the bound
    // of the k-th best approximate score t (at least the first k). Let s be the k-th best exact
    // score among those. Round two extends the prefix while c + bound >= s (c the approximate
    // score). A candidate past the prefix has exact score <= c + bound < s, and s can only rise
    // as more are scored: it is strictly below the k-th best, so the prefix's top k is the whole
    // list's. (The exact scores of round one are about t, so round two adds few; and the prefix
    // stops no later than the plain cutoff t - 2 bound, since s >= t - bound.)

    /// The end of round one's prefix.
    func firstRound(_ approximate: UnsafePointer<Float>, count: Int, bound: Double) -> Int {
        guard count > k else { return count }
        let t = Double(approximate[k - 1])
        var end = k
        while end < count, Double(approximate[end]) + bound >= t { end += 1 }
        return end
    }

    /// The end of round two's prefix, given round one's exact scores.
    func secondRound(_ approximate: UnsafePointer<Float>, exact: UnsafePointer<Double>, scored: Int, count: Int,
                     bound: Double) -> Int {
        guard scored >= k, scored < count else { return scored }
        var best = KBestScores(k: k)
        for i in 0..<scored { best.insert(exact[i]) }
        let s = best.kth!
        var end = scored
        while end < count, Double(approximate[end]) + bound >= s { end += 1 }
        return end
    }

    /// The final row for query `query` from its ordered candidates, the first `scored` of them with
    /// their exact scores; over every key instead when the certificate cannot vouch for it.
    func finish(query: Int, ids: UnsafePointer<Int32>, exact: UnsafePointer<Double>, scored scoredCount: Int,
                ordered: Ordered, bound: Double, scratch: Scratch) -> Row {
        var scored = (0..<scoredCount).map { (id: ids[$0], score: exact[$0]) }
        let excludesSelf = querySide == nil
        // Every other live key was seen when no list is full, or when they hold all of them.
        let others = liveKeys.count - (excludesSelf && norms.isLive(query) && containsKey(Int32(query)) ? 1 : 0)
        var complete = !ordered.anyFull || ordered.count >= others
        scored.sort(by: Self.ranksBefore)
        if !complete {
            let kth = scored[min(k, scored.count) - 1].score
            complete = scored.count >= k && kth > Double(ordered.bar) + bound
        }
        var exhaustive = false
        if !complete {
            let d = dictionary.dimension
            (querySide?.dictionary ?? dictionary).copyFeature(query, into: scratch.row)
            for i in 0..<d { scratch.query[i] = Double(scratch.row[i]) }
            let queryNorm = (querySide?.norms ?? norms).norms[query]
            // Every key, in chunks whose mapped pages are dropped afterwards.
            scored.removeAll(keepingCapacity: true)
            for start in stride(from: 0, to: liveKeys.count, by: 4096) {
                let chunk = liveKeys[start..<min(liveKeys.count, start + 4096)]
                for key in chunk where !excludesSelf || key != Int32(query) {
                    scored.append((key, cosine(query: scratch.query, queryNorm: queryNorm, key: Int(key), scratch: scratch)))
                }
                dictionary.releasePages(ofFeatures: Int(chunk.first!)..<(Int(chunk.last!) + 1))
            }
            scored.sort(by: Self.ranksBefore)
            exhaustive = true
        }
        var row = Row(ids: [Int64](repeating: -1, count: k), scores: [Float](repeating: -.infinity, count: k),
                      exhaustive: exhaustive, rescored: scoredCount)
        for (slot, entry) in scored.prefix(k).enumerated() {
            row.ids[slot] = Int64(entry.id)
            row.scores[slot] = Float(entry.score)
        }
        return row
    }

    static func ranksBefore(_ a: (id: Int32, score: Double), _ b: (id: Int32, score: Double)) -> Bool {
        a.score != b.score ? a.score > b.score : a.id < b.id
    }

    private func cosine(query: UnsafePointer<Double>, queryNorm: Double, key: Int, scratch: Scratch) -> Double {
        let d = dictionary.dimension
        let dot = readsInPlace
            ? dictionary.withFeatureInPlace(key, scratch: scratch.row) { Exact.dot(query, $0, count: d) }
            : { dictionary.copyFeature(key, into: scratch.row); return Exact.dot(query, scratch.row, count: d) }()
        return dot / (queryNorm * norms.norms[key])
    }

    private func containsKey(_ id: Int32) -> Bool {
        var low = 0, high = liveKeys.count
        while low < high {
            let mid = (low + high) / 2
            if liveKeys[mid] < id { low = mid + 1 } else { high = mid }
        }
        return low < liveKeys.count && liveKeys[low] == id
    }

    /// Per-thread buffers for one row of the dictionary (the exhaustive pass).
    final class Scratch {
        let row: UnsafeMutablePointer<Float>
        let query: UnsafeMutablePointer<Double>
        init(dimension: Int) {
            row = .allocate(capacity: dimension)
            query = .allocate(capacity: dimension)
        }
        deinit {
            row.deallocate()
            query.deallocate()
        }
    }
}

extension CandidateLists {
    /// The bound of lists chosen by two arithmetics (one list's scores and another's, or a seed's
    /// and the engine's): the larger, nil only when both are float32's.
    static func combinedBound(_ a: Double?, _ b: Double?, dimension: Int) -> Double? {
        guard a != nil || b != nil else { return nil }
        let float32 = ExactRanking.errorBound(dimension: dimension)
        return max(a ?? float32, b ?? float32)
    }
}
