import CMicrokernels
import Foundation

/// The exact cosines of many (query, candidate) pairs, taken key block by key block.
///
/// Why blocks: re-scoring a pair reads the candidate's whole row (9 KB at d 2304), and a row's
/// candidates lie anywhere in the dictionary. One query row after another, all pairs of 16384 x
/// 2304 (about 55 pairs a row) read 8.4 GB in random order, at about 13 GB/s a core: a seventh of
/// the bfloat16 run. Here the pairs are sorted (a stable counting sort) by their key's block, a
/// block being as many rows as fill half the last-level cache; each block is read from memory
/// about once, and the query rows with candidates in it stream past it in order (prefetched).
/// For the same run that is about 0.6 GB of key rows and 1.4 GB of query rows, all sequential.
/// A pair asked for from both sides is computed once (`twins`).
struct BlockedRescoring {
    let ranking: ExactRanking
    /// Keys per block.
    let blockRows: Int

    /// Blocks of `blockRows` keys (tests), by default half the last-level cache: measured on all
    /// pairs of 16384 x 2304 with 32 MiB shared (bfloat16 run, seconds): a whole cache's worth
    /// 2.48, half 2.40, a quarter 2.48, an eighth 2.69; one block (unsorted) 2.71.
    init(ranking: ExactRanking, blockRows: Int? = nil) {
        self.ranking = ranking
        self.blockRows = max(1, blockRows ?? Self.blockRows(dimension: ranking.dictionary.dimension))
    }

    /// Half the last-level cache in rows of `dimension` floats, at least 64 rows.
    static func blockRows(dimension: Int) -> Int {
        max(64, lastLevelCacheBytes / 2 / max(1, dimension * 4))
    }

    /// The last-level cache that this core shares (sysfs: cpu0's level-3 cache, else its largest),
    /// 8 MiB where the system does not say. Not sysconf(_SC_LEVEL3_CACHE_SIZE): glibc reports all
    /// of a socket's L3 there (320 MiB on an EPYC whose cores share 32 MiB each).
    static let lastLevelCacheBytes: Int = {
        var largest = 0
        for index in 0..<8 {
            let path = "/sys/devices/system/cpu/cpu0/cache/index\(index)/size"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            largest = max(largest, (try? ByteCount.parse(text.trimmingCharacters(in: .whitespacesAndNewlines))) ?? 0)
        }
        return largest > 0 ? largest : 8 << 20
    }()

    /// exact[p * perRow + i] = the exact cosine of query `query(p)` and key ids[p * perRow + i],
    /// for i in wanted[p], p < rows: Exact.dot's bits (saegeo_exact_dots) over both norms.
    func score(rows: Int, perRow: Int, query: (Int) -> Int, ids: UnsafePointer<Int32>, wanted: [Range<Int>],
               exact: UnsafeMutablePointer<Double>) {
        let keyFeatures = ranking.dictionary.features
        let queries = (0..<rows).map(query)
        let twins = Self.twins(rows: rows, perRow: perRow, queries: queries, ids: ids, wanted: wanted,
                               features: ranking.querySide == nil ? keyFeatures : 0)
        // Blocks pay when key rows are read more than once (all pairs: about 55 times each). A few
        // queries against many keys read each key about once: one block, the rows in their order,
        // rather than every query row streamed past every block.
        let pairs = wanted.reduce(0) { $0 + $1.count }
        let blockRows = pairs >= keyFeatures ? self.blockRows : max(1, keyFeatures)
        let blocks = max(1, (keyFeatures + blockRows - 1) / blockRows)
        // Slots sorted by their key's block; within a block by row, as they were added. A slot
        // whose twin computes it is left out.
        func computes(_ slot: Int, _ p: Int) -> Bool { twins.isEmpty || twins[slot] < 0 || queries[p] < Int(ids[slot]) }
        var starts = [Int](repeating: 0, count: blocks + 1)
        for p in 0..<rows {
            for i in wanted[p] where computes(p * perRow + i, p) { starts[Int(ids[p * perRow + i]) / blockRows + 1] += 1 }
        }
        for b in 0..<blocks { starts[b + 1] += starts[b] }
        var next = starts
        var order = [Int](repeating: 0, count: starts[blocks])
        for p in 0..<rows {
            for i in wanted[p] where computes(p * perRow + i, p) {
                let slot = p * perRow + i, block = Int(ids[slot]) / blockRows
                order[next[block]] = slot
                next[block] += 1
            }
        }
        guard !order.isEmpty else { return }
        let target = UnsafeSendablePointer(exact), keyIds = UnsafeSendablePointer(ids)
        twins.withUnsafeBufferPointer { twins in
            // (An empty array's buffer may still have an address: none when there are no twins.)
            let twinBase = twins.isEmpty ? nil : twins.baseAddress.map(UnsafeSendablePointer.init)
            order.withUnsafeBufferPointer { order in
                let slots = UnsafeSendablePointer(order.baseAddress!)
                for b in 0..<blocks where starts[b + 1] > starts[b] {
                    let first = starts[b]
                    // Both cores in the same block: it is read from memory once for both.
                    parallelChunks(starts[b + 1] - first) { range in
                        scoreRun(slots.pointer + first + range.lowerBound, count: range.count, perRow: perRow,
                                 queries: queries, ids: keyIds.pointer, twins: twinBase?.pointer, exact: target.pointer)
                    }
                }
            }
        }
    }

    /// Pairs asked for from both sides. With one dictionary (queries and keys its features) the
    /// cosine of (q, k) is the cosine of (k, q) to the bit: the same exact products added in the
    /// same order, over the product of the same two norms. All pairs ask for about 46% of their
    /// pairs twice (16384 x 2304, k 32), so each such pair is computed once, by the side whose
    /// query id is the lower, and written to both. twins[slot] is the other side's slot, or -1;
    /// empty when nothing can be shared (`features` 0: two dictionaries, or a query twice). A
    /// slot's twin is the first slot of the key's row that asks for the query, taken only when
    /// the slot is the first of its own row to ask for that key, so that the relation is mutual.
    static func twins(rows: Int, perRow: Int, queries: [Int], ids: UnsafePointer<Int32>, wanted: [Range<Int>],
                      features: Int) -> [Int32] {
        guard features > 0, rows * perRow <= Int(Int32.max) else { return [] }
        var position = [Int32](repeating: -1, count: features)
        for (p, q) in queries.enumerated() {
            guard q >= 0, q < features, position[q] < 0 else { return [] }
            position[q] = Int32(p)
        }
        let positions = position
        // Each row's wanted slots as (key, slot) in one integer, sorted: a key's first slot leads
        // its run, and a row's slot for a given key is found by binary search (the plain scans
        // were quadratic in the candidates per row, a fifth of the re-scoring's time).
        var sorted = [UInt64](repeating: 0, count: rows * perRow)
        sorted.withUnsafeMutableBufferPointer { sorted in
            let out = UnsafeSendablePointer(sorted.baseAddress!), keys = UnsafeSendablePointer(ids)
            parallelChunks(rows) { range in
                for p in range {
                    let mine = wanted[p], row = out.pointer + p * perRow
                    for i in mine { row[i - mine.lowerBound] = UInt64(UInt32(bitPattern: keys.pointer[p * perRow + i])) << 32 | UInt64(i) }
                    var run = UnsafeMutableBufferPointer(start: row, count: mine.count)
                    run.sort()
                }
            }
        }
        var twins = [Int32](repeating: -1, count: rows * perRow)
        sorted.withUnsafeBufferPointer { sorted in
            twins.withUnsafeMutableBufferPointer { twins in
                let out = UnsafeSendablePointer(twins.baseAddress!)
                let runs = UnsafeSendablePointer(UnsafeMutablePointer(mutating: sorted.baseAddress!))
                parallelChunks(rows) { range in
                    for p in range {
                        let q = Int32(queries[p]), row = runs.pointer + p * perRow, count = wanted[p].count
                        for e in 0..<count {
                            let key = Int32(bitPattern: UInt32(row[e] >> 32)), i = Int(row[e] & 0xffff_ffff)
                            guard e == 0 || row[e - 1] >> 32 != row[e] >> 32 else { continue }
                            guard key != q, key >= 0, Int(key) < features, positions[Int(key)] >= 0 else { continue }
                            let other = Int(positions[Int(key)]), theirs = runs.pointer + other * perRow
                            // The first of the other row's entries at or above (q, 0).
                            let target = UInt64(UInt32(bitPattern: q)) << 32
                            var low = 0, high = wanted[other].count
                            while low < high {
                                let mid = (low + high) / 2
                                if theirs[mid] < target { low = mid + 1 } else { high = mid }
                            }
                            if low < wanted[other].count, theirs[low] >> 32 == UInt64(UInt32(bitPattern: q)) {
                                out.pointer[p * perRow + i] = Int32(other * perRow + Int(theirs[low] & 0xffff_ffff))
                            }
                        }
                    }
                }
            }
        }
        return twins
    }

    /// Scores `count` slots (grouped by row): each row's query once, its keys 64 at a time, four
    /// at a time against the query (saegeo_exact_dots). A row's last one to three keys in a block
    /// (most rows have only about three there) are gathered with other rows' into batches of
    /// pairs, scored four pairs at a time (saegeo_exact_pair_dots): one dot alone is a chain of
    /// dependent additions, about three times slower per dot. Rows not readable in place are
    /// copied and scored row by row.
    private func scoreRun(_ slots: UnsafePointer<Int>, count: Int, perRow: Int, queries: [Int],
                          ids: UnsafePointer<Int32>, twins: UnsafeMutablePointer<Int32>?, exact: UnsafeMutablePointer<Double>) {
        let d = ranking.dictionary.dimension, keys = ranking.dictionary, keyNorms = ranking.norms.norms
        let querySource = ranking.querySide?.dictionary ?? keys
        let queryNorms = (ranking.querySide?.norms ?? ranking.norms).norms
        let width = 64, inPlace = ranking.readsInPlace
        let keysInPlace = inPlace && keys.features > 0 && keys.rowInPlace(0) != nil
        let queryCopy = UnsafeMutablePointer<Float>.allocate(capacity: d)
        var keyCopies: UnsafeMutablePointer<Float>? = nil  // for rows not read in place, on first need
        var rowPointers = [UnsafePointer<Float>?](repeating: nil, count: width)
        var dots = [Double](repeating: 0, count: width)
        // The gathered pairs: query row, key row, slot.
        var pairQueries = [UnsafePointer<Float>?](repeating: nil, count: width)
        var pairKeys = [UnsafePointer<Float>?](repeating: nil, count: width)
        var pairSlots = [Int](repeating: 0, count: width)
        var pairs = 0
        defer { queryCopy.deallocate(); keyCopies?.deallocate() }
        func store(_ dot: Double, slot: Int) {
            let q = queries[slot / perRow]
            let cosine = dot / (queryNorms[q] * keyNorms[Int(ids[slot])])
            exact[slot] = cosine
            if let twin = twins?[slot], twin >= 0 { exact[Int(twin)] = cosine }
        }
        func scorePairs() {
            guard pairs > 0 else { return }
            pairQueries.withUnsafeBufferPointer { xs in
                pairKeys.withUnsafeBufferPointer { ys in
                    dots.withUnsafeMutableBufferPointer { out in
                        saegeo_exact_pair_dots(xs.baseAddress!, ys.baseAddress!, pairs, d, out.baseAddress!)
                    }
                }
            }
            for i in 0..<pairs { store(dots[i], slot: pairSlots[i]) }
            pairs = 0
        }
        var start = 0
        while start < count {
            // The slots of one row, at most `width` of them.
            let p = slots[start] / perRow
            var end = start + 1
            while end < count, end - start < width, slots[end] / perRow == p { end += 1 }
            let q = queries[p]
            if keysInPlace, let x = querySource.rowInPlace(q) {
                let quads = start + (end - start) / 4 * 4
                if quads > start {
                    for j in start..<quads { rowPointers[j - start] = keys.rowInPlace(Int(ids[slots[j]])) }
                    rowPointers.withUnsafeBufferPointer { pointers in
                        dots.withUnsafeMutableBufferPointer { out in
                            saegeo_exact_dots(x, pointers.baseAddress!, quads - start, d, out.baseAddress!)
                        }
                    }
                    for j in start..<quads { store(dots[j - start], slot: slots[j]) }
                }
                for j in quads..<end {
                    if pairs == width { scorePairs() }
                    pairQueries[pairs] = x
                    pairKeys[pairs] = keys.rowInPlace(Int(ids[slots[j]]))
                    pairSlots[pairs] = slots[j]
                    pairs += 1
                }
                start = end
                continue
            }
            querySource.copyFeature(q, into: queryCopy)
            for j in start..<end {
                if keyCopies == nil { keyCopies = .allocate(capacity: width * d) }
                let copy = keyCopies! + (j - start) * d
                keys.copyFeature(Int(ids[slots[j]]), into: copy)
                rowPointers[j - start] = UnsafePointer(copy)
            }
            rowPointers.withUnsafeBufferPointer { pointers in
                dots.withUnsafeMutableBufferPointer { out in
                    saegeo_exact_dots(queryCopy, pointers.baseAddress!, end - start, d, out.baseAddress!)
                }
            }
            for j in start..<end { store(dots[j - start], slot: slots[j]) }
            start = end
        }
        scorePairs()
    }
}
