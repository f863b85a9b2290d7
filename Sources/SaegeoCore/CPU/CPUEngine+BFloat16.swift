import Foundation

/// A tile rounded to bfloat16 for the first pass, once per tile: the bits (native product) or the
/// rounded values as floats (portable), `stride` values per row, and the largest of its rows' norms.
struct RoundedTile {
    var ids: [Int32] = []
    var stride = 0
    var bits: [UInt16] = []
    var floats: [Float] = []
    var largest = BFloat16.RowNorms.zero

    mutating func fill(_ tile: UnitRows, product: BFloat16Product) {
        let n = tile.rows, stride = tile.stride
        ids = tile.ids
        self.stride = stride
        // Not zeroed: the cores below write every value of every row (padding too), first touching
        // the pages on all of them.
        if product.holdsBits, bits.count < n * stride {
            bits = [UInt16](unsafeUninitializedCapacity: n * stride) { _, count in count = n * stride }
        }
        if !product.holdsBits, floats.count < n * stride {
            floats = [Float](unsafeUninitializedCapacity: n * stride) { _, count in count = n * stride }
        }
        var norms = [BFloat16.RowNorms](repeating: .zero, count: n)
        norms.withUnsafeMutableBufferPointer { norms in
            bits.withUnsafeMutableBufferPointer { bits in
                floats.withUnsafeMutableBufferPointer { floats in
                    tile.values.withUnsafeBufferPointer { values in
                        let source = UnsafeSendablePointer(UnsafeMutablePointer(mutating: values.baseAddress!))
                        let rowNorms = UnsafeSendablePointer(norms.baseAddress!)
                        let bitBase = bits.baseAddress.map(UnsafeSendablePointer.init)
                        let floatBase = floats.baseAddress.map(UnsafeSendablePointer.init)
                        parallelChunks(n) { range in
                            for row in range {
                                rowNorms.pointer[row] = BFloat16.round(
                                    source.pointer + row * stride, count: stride,
                                    bits: product.holdsBits ? bitBase.map { $0.pointer + row * stride } : nil,
                                    rounded: product.holdsBits ? nil : floatBase.map { $0.pointer + row * stride })
                            }
                        }
                    }
                }
            }
        }
        largest = norms.reduce(.zero) { $0.atLeast($1) }
    }

    /// The operand as the product reads it (bits or floats, as `product.holdsBits` says).
    func withOperand<R>(_ product: BFloat16Product, _ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        product.holdsBits ? try bits.withUnsafeBytes { try body($0.baseAddress!) }
                          : try floats.withUnsafeBytes { try body($0.baseAddress!) }
    }
}

/// What the CPU engine's bfloat16 first pass keeps between tiles: the query block (or the current
/// row tile of all pairs) rounded once, the key or column tile, and the largest norms of every
/// row it multiplied, from which its candidates' error bound follows.
struct FirstPassTiles {
    var queries = RoundedTile()
    var keys = RoundedTile()
    /// `keys` packed for the native product's bands (all pairs, a column tile other than the row tile).
    var packedKeys: PackedOperand?
    /// The all-pairs offset `queries` holds (a row tile meets several column tiles in a row).
    var rowOffset = -1
    /// The largest norms over every row multiplied (queries and keys alike: in all pairs a row is
    /// both), and the dimension; nil before the first product.
    private var largest: BFloat16.RowNorms?
    private var stride = 0

    mutating func beginQueries(_ queries: UnitRows, product: BFloat16Product) {
        release()
        self.queries.fill(queries, product: product)
        note(self.queries)
    }

    mutating func beginAllPairs() { release() }

    mutating func note(_ tile: RoundedTile) {
        largest = (largest ?? .zero).atLeast(tile.largest)
        stride = max(stride, tile.stride)
    }

    /// The bound on |score - exact cosine| of every score this pass produced: BFloat16Bound's for
    /// the largest norms it saw (the bound grows with every norm), never below float32's (so that a
    /// list mixing both, a seed's and this pass's, is covered by it). Nil when nothing was multiplied.
    func errorBound() -> Double? {
        guard let largest, stride > 0 else { return nil }
        return max(BFloat16Bound.cosineBound(largest, againstAtMost: largest, dimension: stride),
                   ExactRanking.errorBound(dimension: stride))
    }

    mutating func release() { self = FirstPassTiles() }
}

extension CPUEngine {
    /// The bytes of similarities the all-pairs first pass multiplies and offers at a time: a band
    /// of rows small enough to still be in cache (L2 and a share of L3) when its rows and then its
    /// columns are offered, where a whole tile would be read back from memory twice. It also
    /// bounds the all-pairs similarity buffer (64 MiB for tiles of 4096: about 60 MiB less peak
    /// memory; the plan still counts the whole tile).
    static let firstPassBandBytes = 4 << 20

    /// Rows per band against `columns` columns: at least 256, so that a product is never too thin
    /// for the kernel (B is read once per band).
    static func firstPassBandRows(columns: Int) -> Int { max(256, firstPassBandBytes / (4 * max(1, columns))) }

    /// A key tile against the rounded query block: one product, then each core offers its rows.
    /// (Not in bands: a query block meets wide key tiles, whose bands would not stay in cache, and
    /// each band would read the whole key tile again; measured 1.57x float32 in bands against
    /// 1.64x whole.)
    func addRoundedKeys(_ keys: UnitRows, queries: UnitRows, product: BFloat16Product) throws {
        firstPass.keys.fill(keys, product: product)
        firstPass.note(firstPass.keys)
        let n = keys.rows
        reserveSimilarities(queries.rows * n)
        try multiplyRounded(firstPass.queries, rows: 0..<queries.rows, firstPass.keys, columns: 0..<n, ldc: n, product: product)
        offerRounded(band: 0..<queries.rows, columns: n, firstCandidate: 0, rowIds: queries.ids, keyIds: keys.ids, diagonal: false)
    }

    /// A pair tile of the all-pairs pass from bfloat16 rows: the row tile rounded once for all the
    /// column tiles it meets, then band by band a product and the offers of its rows and of its
    /// columns. oneDNN has no symmetric product: on the diagonal tile a band is multiplied against
    /// the columns from its first row on (a staircase over the upper triangle: half a band's share
    /// beyond it), and offered as the float32 path offers its upper triangle (entries below the
    /// diagonal are never read).
    func addRoundedPairTile(rows: UnitRows, rowOffset: Int, columns: UnitRows, columnOffset: Int,
                            product: BFloat16Product) throws {
        if firstPass.rowOffset != rowOffset || firstPass.queries.ids != rows.ids {
            firstPass.queries.fill(rows, product: product)
            firstPass.note(firstPass.queries)
            firstPass.rowOffset = rowOffset
        }
        let diagonal = rowOffset == columnOffset
        let n = columns.rows, band = Self.firstPassBandRows(columns: n)
        firstPass.packedKeys = nil
        if !diagonal {
            firstPass.keys.fill(columns, product: product)
            firstPass.note(firstPass.keys)
            // Packed once for its bands, when more than one meets it (the plan counts the copy).
            if rows.rows > band {
                let k = firstPass.keys.stride
                firstPass.packedKeys = firstPass.keys.withOperand(product) { product.packed(n: n, k: k, b: $0, ldb: k, rows: band) }
            }
        }
        let columnTile = diagonal ? firstPass.queries : firstPass.keys
        reserveSimilarities(min(band, rows.rows) * n)
        for start in stride(from: 0, to: rows.rows, by: band) {
            let rowBand = start..<min(rows.rows, start + band)
            try multiplyRounded(firstPass.queries, rows: rowBand, columnTile, columns: (diagonal ? start : 0)..<n, ldc: n,
                                product: product, packed: firstPass.packedKeys)
            offerRounded(band: rowBand, columns: n, firstCandidate: rowOffset, rowIds: rows.ids, keyIds: columns.ids,
                         diagonal: diagonal)
            offerColumns(band: rowBand, columns: n, firstCandidate: columnOffset, rowIds: rows.ids, columnIds: columns.ids,
                         diagonal: diagonal)
        }
        firstPass.packedKeys = nil
    }

    /// similarities[r - rows.lowerBound, c] = a[r] . b[c] for r in `rows`, c in `columns` (row
    /// length `ldc`), in bfloat16 with float32 sums: the native product as one call on oneDNN's
    /// threads; the portable one as a single-threaded sgemm per core.
    /// `packed`: b already packed (all its columns), multiplied instead of b's plain bits.
    private func multiplyRounded(_ a: RoundedTile, rows: Range<Int>, _ b: RoundedTile, columns: Range<Int>, ldc: Int,
                                 product: BFloat16Product, packed: PackedOperand? = nil) throws {
        let k = a.stride, m = rows.count, n = columns.count
        guard m > 0, n > 0 else { return }
        let width = product.holdsBits ? 2 : 4
        try similarities.withUnsafeMutableBufferPointer { s in
            try a.withOperand(product) { aBase in
                try b.withOperand(product) { bBase in
                    let ap = aBase + rows.lowerBound * k * width, bp = bBase + columns.lowerBound * k * width
                    let target = s.baseAddress! + columns.lowerBound
                    if let packed {
                        return try product.multiply(m: m, a: ap, lda: k, packed: packed, c: target, ldc: ldc)
                    }
                    guard product == .portable else {
                        return try product.multiply(m: m, n: n, k: k, a: ap, lda: k, b: bp, ldb: k, c: target,
                                                    ldc: ldc, transposedB: true)
                    }
                    CBLAS.setThreads(1)
                    let chunks = min(m, ProcessInfo.processInfo.activeProcessorCount)
                    let af = UnsafeSendablePointer(UnsafeMutablePointer(mutating: ap.assumingMemoryBound(to: Float.self)))
                    let bf = UnsafeSendablePointer(UnsafeMutablePointer(mutating: bp.assumingMemoryBound(to: Float.self)))
                    let c = UnsafeSendablePointer(target)
                    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                        let start = m * chunk / chunks, end = m * (chunk + 1) / chunks
                        CBLAS.multiplyTransposed(m: end - start, n: n, k: k, a: af.pointer + start * k, lda: k,
                                                 b: bf.pointer, ldb: k, c: c.pointer + start * ldc, ldc: ldc)
                    }
                }
            }
        }
    }

    /// Offers row r of a band (its similarities at (r - band.lowerBound) * n) to the list of
    /// candidate row firstCandidate + r, on all cores; on the diagonal only its entries after r
    /// (the upper triangle), as the float32 path.
    private func offerRounded(band: Range<Int>, columns n: Int, firstCandidate: Int, rowIds: [Int32], keyIds: [Int32],
                              diagonal: Bool) {
        withBuffers { s, offers in
            keyIds.withUnsafeBufferPointer { keyPointer in
                let keys = UnsafeSendablePointer(UnsafeMutablePointer(mutating: keyPointer.baseAddress!))
                parallelChunks(band.count) { range in
                    for position in range {
                        let row = band.lowerBound + position
                        let first = diagonal ? row + 1 : 0
                        guard first < n else { continue }
                        offers.offer(row: firstCandidate + row, values: s.pointer + position * n + first,
                                     keyIds: keys.pointer + first, count: n - first, selfId: rowIds[row])
                    }
                }
            }
        }
    }
}
