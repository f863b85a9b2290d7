import Foundation

/// The CPU engine: `cblas_sgemm` on tiles, each core multiplying its own part with a
/// single-threaded product and reducing it while it is in cache: a top-k selection per query for
/// similarity tiles (RunningCandidates: a bar per query to beat, and a buffer of values that beat
/// it), per-sample sums for encoder tiles (CPUEngine+Encoder.swift).
public final class CPUEngine: ComputeEngine {
    public let device: DeviceDescription
    public let capabilities: DeviceCapabilities
    public var configurationSummary: String {
        let float32 = "OpenBLAS \(CBLAS.coreName), one single-threaded sgemm per core on \(ProcessInfo.processInfo.activeProcessorCount) cores"
        guard let product = bfloat16 else { return float32 }
        return "certified bfloat16 first pass (\(product.summary)), exact recompute with \(float32)"
    }
    /// The products' arithmetic: nil for float32 (OpenBLAS), or the bfloat16 product of the
    /// certified first pass (CPU/BFloat16/), whose outputs are those of float32.
    let bfloat16: BFloat16Product?

    private var queries: UnitRows?
    /// The running candidates of the current pass (queries, or every feature of all pairs).
    private var candidates = RunningCandidates(rows: 0, perRow: 0)
    var similarities: [Float] = []
    /// The bfloat16 first pass's rounded tiles and norms (CPUEngine+BFloat16.swift).
    var firstPass = FirstPassTiles()
    /// The encoder workload's chunk and tile (CPUEngine+Encoder.swift).
    var encoder = EncoderState()

    /// - Parameter bfloat16: the product of the certified bfloat16 first pass, or nil for float32
    ///   (CPUBackend resolves `--precision` to it).
    convenience init(maxAllocationBytes: Int = Int.max, bfloat16: BFloat16Product?) {
        self.init(maxAllocationBytes: maxAllocationBytes, bfloat16Product: bfloat16)
    }

    /// A float32 engine (benchmarks and tests that build one directly).
    public convenience init(maxAllocationBytes: Int = Int.max) {
        self.init(maxAllocationBytes: maxAllocationBytes, bfloat16Product: nil)
    }

    private init(maxAllocationBytes: Int, bfloat16Product bfloat16: BFloat16Product?) {
        self.bfloat16 = bfloat16
        device = Self.describe()
        capabilities = Self.capabilities(maxAllocationBytes: maxAllocationBytes, bfloat16: bfloat16)
    }

    deinit { encoder.scratch.withLock { $0.forEach { $0.deallocate() } } }

    /// Host memory, no alignment, each staged tile used before the next is filled, candidates
    /// updated in place, with pending slots (RunningCandidates).
    /// With a bfloat16 first pass, the rounded chunk and tile count too (`firstPassValueBytes`).
    public static func capabilities(maxAllocationBytes: Int = Int.max) -> DeviceCapabilities {
        capabilities(maxAllocationBytes: maxAllocationBytes, bfloat16: nil)
    }

    static func capabilities(maxAllocationBytes: Int, bfloat16: BFloat16Product?) -> DeviceCapabilities {
        DeviceCapabilities(layout: TileLayout(rowAlignment: 1, dimensionAlignment: 1, maxAllocationBytes: maxAllocationBytes),
                           buffersInHostMemory: true, stagedKeyTiles: 1, candidateBuffers: 2, streamedTileBuffers: 0,
                           firstPassValueBytes: BFloat16Operand.valueBytes(bfloat16), pendsCandidates: true,
                           packsColumnTiles: bfloat16 == .native)
    }

    public static func describe() -> DeviceDescription {
        let memory = Int(ProcessInfo.processInfo.physicalMemory)
        return DeviceDescription(
            id: "cpu", name: "\(cpuModelName()) (OpenBLAS \(CBLAS.coreName))", vendor: "OpenBLAS",
            type: .cpu, backend: .blas, globalMemoryBytes: memory, maxAllocationBytes: memory,
            computeUnits: ProcessInfo.processInfo.activeProcessorCount, driverVersion: CBLAS.configuration)
    }

    private func takeCandidates() -> CandidateLists {
        defer { firstPass.release() }
        return candidates.finish(errorBound: bfloat16 == nil ? nil : firstPass.errorBound())
    }

    // MARK: queries against keys

    public func beginQueries(_ queries: UnitRows, candidates perRow: Int) throws {
        self.queries = queries
        candidates = RunningCandidates(rows: queries.rows, perRow: perRow)
        if let product = bfloat16 { firstPass.beginQueries(queries, product: product) }
    }

    public func addKeys(_ keys: UnitRows) throws {
        guard let queries, keys.rows > 0, queries.rows > 0 else { return }
        if let product = bfloat16 { return try addRoundedKeys(keys, queries: queries, product: product) }
        multiplyAndOfferRows(queries, keys, firstCandidate: 0)
    }

    public func finishQueries() throws -> CandidateLists {
        queries = nil
        return takeCandidates()
    }

    // MARK: all pairs

    public func beginAllPairs(features: Int, candidates: Int, seed: CandidateLists?) throws {
        self.candidates = RunningCandidates(rows: features, perRow: candidates, seed: seed)
        firstPass.beginAllPairs()
    }

    public func addPairTile(rows: UnitRows, rowOffset: Int, columns: UnitRows, columnOffset: Int) throws {
        guard rows.rows > 0, columns.rows > 0 else { return }
        if let product = bfloat16 {
            return try addRoundedPairTile(rows: rows, rowOffset: rowOffset, columns: columns, columnOffset: columnOffset,
                                          product: product)
        }
        if rowOffset == columnOffset {
            return addDiagonalTile(rows, offset: rowOffset)
        }
        multiplyAndOfferRows(rows, columns, firstCandidate: rowOffset)
        if rowOffset != columnOffset {
            offerColumns(rows: rows.rows, columns: columns.rows, firstCandidate: columnOffset,
                         rowIds: rows.ids, columnIds: columns.ids)
        }
    }

    public func finishAllPairs() throws -> CandidateLists { takeCandidates() }

    /// A tile against itself: only its upper triangle is computed (half the arithmetic), and each
    /// entry (r, c), r < c, feeds the candidates of r (as a row) and of c (as a column). The rows are
    /// split among the cores so that each does the same share of the triangle: rows [a, b) take
    /// ssyrk on their own block plus sgemm against the rows after b, then offer their rows.
    private func addDiagonalTile(_ tile: UnitRows, offset: Int) {
        let n = tile.rows, ids = tile.ids, stride = tile.stride
        reserveSimilarities(n * n)
        CBLAS.setThreads(1)
        // Row r costs n - r: cut the cumulative cost r n - r^2 / 2 into equal parts.
        let cores = min(n, ProcessInfo.processInfo.activeProcessorCount)
        let total = Double(n) * Double(n) / 2
        var bounds = [0]
        for j in 1..<cores {
            let target = total * Double(j) / Double(cores)
            let r = Double(n) - (Double(n) * Double(n) - 2 * target).squareRoot()
            bounds.append(min(n, max(bounds.last!, Int(r.rounded()))))
        }
        bounds.append(n)
        let cuts = bounds
        withBuffers { s, offers in
            tile.values.withUnsafeBufferPointer { values in
                ids.withUnsafeBufferPointer { idPointer in
                    let a = UnsafeSendablePointer(values.baseAddress!), keys = UnsafeSendablePointer(idPointer.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: cores) { part in
                        let start = cuts[part], end = cuts[part + 1]
                        guard end > start else { return }
                        CBLAS.upperGram(n: end - start, k: stride, a: a.pointer + start * stride, lda: stride,
                                        c: s.pointer + start * n + start, ldc: n)
                        CBLAS.multiplyTransposed(m: end - start, n: n - end, k: stride,
                                                 a: a.pointer + start * stride, lda: stride,
                                                 b: a.pointer + end * stride, ldb: stride,
                                                 c: s.pointer + start * n + end, ldc: n)
                        for row in start..<end where row + 1 < n {
                            offers.offer(row: offset + row, values: s.pointer + row * n + row + 1, keyIds: keys.pointer + row + 1,
                                         count: n - row - 1, selfId: ids[row])
                        }
                    }
                }
            }
        }
        offerDiagonalColumns(tile, offset: offset)
    }

    /// The columns of a diagonal tile whose upper triangle is in `similarities` (n x n): column c
    /// sees rows 0..<c.
    func offerDiagonalColumns(_ tile: UnitRows, offset: Int) {
        offerColumns(band: 0..<tile.rows, columns: tile.rows, firstCandidate: offset, rowIds: tile.ids, columnIds: tile.ids,
                     diagonal: true)
    }

    // MARK: arithmetic

    /// similarities[m, n] = a[m] . b[n], each core multiplying its own rows with a single-threaded
    /// sgemm and then offering them to their lists while they are in cache. (OpenBLAS's own threads
    /// would spin between calls, taking the cores from the selection.)
    private func multiplyAndOfferRows(_ a: UnitRows, _ b: UnitRows, firstCandidate: Int) {
        let m = a.rows, n = b.rows
        reserveSimilarities(m * n)
        CBLAS.setThreads(1)
        let chunks = min(m, ProcessInfo.processInfo.activeProcessorCount)
        let rowIds = a.ids, aStride = a.stride, bStride = b.stride
        withBuffers { s, offers in
            a.values.withUnsafeBufferPointer { av in
                b.values.withUnsafeBufferPointer { bv in
                    b.ids.withUnsafeBufferPointer { keyIds in
                        let aBase = UnsafeSendablePointer(av.baseAddress!), bBase = UnsafeSendablePointer(bv.baseAddress!)
                        let keys = UnsafeSendablePointer(keyIds.baseAddress!)
                        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                            let start = m * chunk / chunks, end = m * (chunk + 1) / chunks
                            CBLAS.multiplyTransposed(m: end - start, n: n, k: aStride,
                                                     a: aBase.pointer + start * aStride, lda: aStride,
                                                     b: bBase.pointer, ldb: bStride, c: s.pointer + start * n, ldc: n)
                            for row in start..<end {
                                offers.offer(row: firstCandidate + row, values: s.pointer + row * n, keyIds: keys.pointer,
                                             count: n, selfId: rowIds[row])
                            }
                        }
                    }
                }
            }
        }
    }

    /// Offers column c to the list of candidate row firstCandidate + c. Each core owns a share of
    /// the columns, 16 at a time over all the rows (CandidateOffers.offerColumns).
    func offerColumns(rows: Int, columns: Int, firstCandidate: Int, rowIds: [Int32], columnIds: [Int32]) {
        offerColumns(band: 0..<rows, columns: columns, firstCandidate: firstCandidate, rowIds: rowIds, columnIds: columnIds,
                     diagonal: false)
    }

    /// `offerColumns` for the rows `band` of a tile, whose similarities start at `similarities[0]`
    /// (row r at (r - band.lowerBound) * columns). On a diagonal tile column c takes only the rows
    /// before it (the upper triangle).
    func offerColumns(band: Range<Int>, columns: Int, firstCandidate: Int, rowIds: [Int32], columnIds: [Int32],
                      diagonal: Bool) {
        withBuffers { s, offers in
            columnIds.withUnsafeBufferPointer { columnIdPointer in
                rowIds.withUnsafeBufferPointer { rowIdPointer in
                    let keys = UnsafeSendablePointer(columnIdPointer.baseAddress!)
                    let bandIds = UnsafeSendablePointer(rowIdPointer.baseAddress! + band.lowerBound)
                    // Each core a share of the column groups of 16.
                    parallelChunks((columns + 15) / 16) { groups in
                        offers.offerColumns(s.pointer, ld: columns, rows: band, rowIds: bandIds.pointer,
                                            columns: (groups.lowerBound * 16)..<min(columns, groups.upperBound * 16),
                                            upperTriangle: diagonal, firstCandidate: firstCandidate, columnIds: keys.pointer)
                    }
                }
            }
        }
    }

    /// Room for `count` similarities (the buffer only grows).
    func reserveSimilarities(_ count: Int) {
        if similarities.count < count { similarities = [Float](repeating: 0, count: count) }
    }

    /// The similarity buffer and the running candidates' offers, for the cores to share.
    func withBuffers(_ body: (UnsafeSendablePointer<Float>, CandidateOffers) -> Void) {
        similarities.withUnsafeMutableBufferPointer { s in
            candidates.withOffers { offers in body(UnsafeSendablePointer(s.baseAddress!), offers) }
        }
    }

    static func cpuModelName() -> String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "CPU" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
}
