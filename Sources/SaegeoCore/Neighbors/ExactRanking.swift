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

    /// The final row for query `query` from its candidates (perRow slots, empty ones id -1).
    func rank(query: Int, candidateIds: UnsafePointer<Int32>, candidateScores: UnsafePointer<Float>,
              perRow: Int, segments: Int = 1, errorBound: Double? = nil, scratch: Scratch) -> Row {
        let d = dictionary.dimension
        (querySide?.dictionary ?? dictionary).copyFeature(query, into: scratch.row)
        for i in 0..<d { scratch.query[i] = Double(scratch.row[i]) }
        let queryNorm = (querySide?.norms ?? norms).norms[query]
        let excludesSelf = querySide == nil

        // Each segment is one device's list over its own keys. A full list vouches only for keys
        // scoring at most its lowest kept value; a list with room left saw all of its keys.
        let bound = errorBound ?? Self.errorBound(dimension: d)
        let segmentLength = perRow / max(1, segments)
        var bar = -Float.infinity
        var anyFull = false
        var valid: [(id: Int32, float32: Float)] = []
        valid.reserveCapacity(perRow)
        for segment in 0..<max(1, segments) {
            var lowest = Float.infinity
            var full = true
            for slot in (segment * segmentLength)..<((segment + 1) * segmentLength) {
                guard candidateIds[slot] >= 0 else { full = false; continue }
                valid.append((candidateIds[slot], candidateScores[slot]))
                lowest = min(lowest, candidateScores[slot])
            }
            if full { anyFull = true; bar = max(bar, lowest) }
        }
        // Only candidates that can still reach the top k need their exact score. They are scored
        // best first; once k are scored, let s be the k-th best exact score so far: a candidate
        // whose approximate score c has c + bound < s is exactly below s, and so are all after it
        // (their c is no higher), so the scoring stops there. The first k scored are the k best
        // approximate ones, each exactly at least t - bound (t the k-th best approximate score),
        // so s >= t - bound: this stops no later than the plain cutoff t - 2 bound would.
        valid.sort { $0.float32 != $1.float32 ? $0.float32 > $1.float32 : $0.id < $1.id }
        var scored: [(id: Int32, score: Double)] = []
        scored.reserveCapacity(valid.count)
        var kBest = KBestScores(k: k)
        // Four at a time (Exact.dot4: the same bits as one at a time); a group's scores past the
        // stopping point are dropped, so the scored set is the one-at-a-time loop's.
        var next = 0
        scoring: while next < valid.count {
            let group = Array(valid[next..<min(valid.count, next + 4)])
            let scores = cosines(query: scratch.query, queryNorm: queryNorm, keys: group.map { Int($0.id) }, scratch: scratch)
            for (candidate, score) in zip(group, scores) {
                if let s = kBest.kth, Double(candidate.float32) + bound < s { break scoring }
                scored.append((candidate.id, score))
                kBest.insert(score)
            }
            next += group.count
        }
        let rescored = scored.count
        // Every other live key was seen when no list is full, or when they hold all of them.
        let others = liveKeys.count - (excludesSelf && norms.isLive(query) && containsKey(Int32(query)) ? 1 : 0)
        var complete = !anyFull || valid.count >= others
        scored.sort(by: Self.ranksBefore)
        if !complete {
            let kth = scored[min(k, scored.count) - 1].score
            complete = scored.count >= k && kth > Double(bar) + bound
        }
        var exhaustive = false
        if !complete {
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
        var ids = [Int64](repeating: -1, count: k)
        var scores = [Float](repeating: -.infinity, count: k)
        for (slot, entry) in scored.prefix(k).enumerated() {
            ids[slot] = Int64(entry.id)
            scores[slot] = Float(entry.score)
        }
        return Row(ids: ids, scores: scores, exhaustive: exhaustive, rescored: rescored)
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

    /// `cosine` of one to four keys, the dots four at a time (a missing fourth repeats the first).
    private func cosines(query: UnsafePointer<Double>, queryNorm: Double, keys: [Int], scratch: Scratch) -> [Double] {
        let d = dictionary.dimension
        var rows: [UnsafePointer<Float>] = []
        for (n, key) in keys.enumerated() {
            if readsInPlace, let row = dictionary.rowInPlace(key) {
                rows.append(row)
            } else {
                dictionary.copyFeature(key, into: scratch.rows + n * d)
                rows.append(UnsafePointer(scratch.rows + n * d))
            }
        }
        while rows.count < 4 { rows.append(rows[0]) }
        let dots = Exact.dot4(query, (rows[0], rows[1], rows[2], rows[3]), count: d)
        return zip([dots.0, dots.1, dots.2, dots.3], keys).map { $0 / (queryNorm * norms.norms[$1]) }
    }

    private func containsKey(_ id: Int32) -> Bool {
        var low = 0, high = liveKeys.count
        while low < high {
            let mid = (low + high) / 2
            if liveKeys[mid] < id { low = mid + 1 } else { high = mid }
        }
        return low < liveKeys.count && liveKeys[low] == id
    }

    /// Per-thread buffers for one row of the dictionary.
    final class Scratch {
        let row: UnsafeMutablePointer<Float>
        let query: UnsafeMutablePointer<Double>
        /// Four rows, for keys scored four at a time that are copied rather than read in place.
        let rows: UnsafeMutablePointer<Float>
        init(dimension: Int) {
            row = .allocate(capacity: dimension)
            query = .allocate(capacity: dimension)
            rows = .allocate(capacity: 4 * dimension)
        }
        deinit {
            row.deallocate()
            query.deallocate()
            rows.deallocate()
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
