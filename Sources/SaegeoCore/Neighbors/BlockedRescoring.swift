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
        // Blocks pay when key rows are read more than once (all pairs: about 55 times each). A few
        // queries against many keys read each key about once: one block, the rows in their order,
        // rather than every query row streamed past every block.
        let pairs = wanted.reduce(0) { $0 + $1.count }
        let blockRows = pairs >= keyFeatures ? self.blockRows : max(1, keyFeatures)
        let blocks = max(1, (keyFeatures + blockRows - 1) / blockRows)
        // Slots sorted by their key's block; within a block by row, as they were added.
        var starts = [Int](repeating: 0, count: blocks + 1)
        for p in 0..<rows {
            for i in wanted[p] { starts[Int(ids[p * perRow + i]) / blockRows + 1] += 1 }
        }
        for b in 0..<blocks { starts[b + 1] += starts[b] }
        var next = starts
        var order = [Int](repeating: 0, count: starts[blocks])
        for p in 0..<rows {
            for i in wanted[p] {
                let slot = p * perRow + i, block = Int(ids[slot]) / blockRows
                order[next[block]] = slot
                next[block] += 1
            }
        }
        let queries = (0..<rows).map(query)
        let target = UnsafeSendablePointer(exact), keyIds = UnsafeSendablePointer(ids)
        order.withUnsafeBufferPointer { order in
            let slots = UnsafeSendablePointer(order.baseAddress!)
            for b in 0..<blocks where starts[b + 1] > starts[b] {
                let first = starts[b]
                // Both cores in the same block: it is read from memory once for both.
                parallelChunks(starts[b + 1] - first) { range in
                    scoreRun(slots.pointer + first + range.lowerBound, count: range.count, perRow: perRow,
                             queries: queries, ids: keyIds.pointer, exact: target.pointer)
                }
            }
        }
    }

    /// Scores `count` slots (grouped by row): each row's query once, its keys 64 at a time.
    private func scoreRun(_ slots: UnsafePointer<Int>, count: Int, perRow: Int, queries: [Int],
                          ids: UnsafePointer<Int32>, exact: UnsafeMutablePointer<Double>) {
        let d = ranking.dictionary.dimension, keys = ranking.dictionary, keyNorms = ranking.norms.norms
        let querySource = ranking.querySide?.dictionary ?? keys
        let queryNorms = (ranking.querySide?.norms ?? ranking.norms).norms
        let width = 64, inPlace = ranking.readsInPlace
        let queryCopy = UnsafeMutablePointer<Float>.allocate(capacity: d)
        var keyCopies: UnsafeMutablePointer<Float>? = nil  // for rows not read in place, on first need
        var rowPointers = [UnsafePointer<Float>?](repeating: nil, count: width)
        var dots = [Double](repeating: 0, count: width)
        defer { queryCopy.deallocate(); keyCopies?.deallocate() }
        var start = 0
        while start < count {
            // The slots of one row, at most `width` of them.
            let p = slots[start] / perRow
            var end = start + 1
            while end < count, end - start < width, slots[end] / perRow == p { end += 1 }
            let q = queries[p]
            let x: UnsafePointer<Float>
            if inPlace, let row = querySource.rowInPlace(q) { x = row } else {
                querySource.copyFeature(q, into: queryCopy)
                x = UnsafePointer(queryCopy)
            }
            for j in start..<end {
                let key = Int(ids[slots[j]])
                if inPlace, let row = keys.rowInPlace(key) { rowPointers[j - start] = row } else {
                    if keyCopies == nil { keyCopies = .allocate(capacity: width * d) }
                    let copy = keyCopies! + (j - start) * d
                    keys.copyFeature(key, into: copy)
                    rowPointers[j - start] = UnsafePointer(copy)
                }
            }
            rowPointers.withUnsafeBufferPointer { pointers in
                dots.withUnsafeMutableBufferPointer { out in
                    saegeo_exact_dots(x, pointers.baseAddress!, end - start, d, out.baseAddress!)
                }
            }
            for j in start..<end {
                exact[slots[j]] = dots[j - start] / (queryNorms[q] * keyNorms[Int(ids[slots[j]])])
            }
            start = end
        }
    }
}
