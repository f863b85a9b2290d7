import Foundation

/// The CPU engine: `cblas_sgemm` on tiles, then a top-k selection per query in Swift (a heap per
/// query whose root is the score to beat), spread over the cores.
public final class BLASNeighborEngine: NeighborEngine {
    public let device: DeviceDescription
    public let layout: TileLayout
    public var configurationSummary: String { "OpenBLAS \(CBLAS.coreName), \(CBLAS.threads) threads" }

    private var queries: UnitRows?
    // Kept as two arrays (not a CandidateLists) so both can be borrowed mutably at once.
    private var rows = 0
    private var perRow = 0
    private var candidateScores: [Float] = []
    private var candidateIds: [Int32] = []
    private var similarities: [Float] = []

    public init(maxAllocationBytes: Int = Int.max) {
        device = Self.describe()
        layout = TileLayout(rowAlignment: 1, dimensionAlignment: 1, maxAllocationBytes: maxAllocationBytes)
    }

    public static func describe() -> DeviceDescription {
        let memory = Int(ProcessInfo.processInfo.physicalMemory)
        return DeviceDescription(
            id: "cpu", name: "\(cpuModelName()) (OpenBLAS \(CBLAS.coreName))", vendor: "OpenBLAS",
            type: .cpu, backend: .blas, globalMemoryBytes: memory, maxAllocationBytes: memory,
            computeUnits: ProcessInfo.processInfo.activeProcessorCount, driverVersion: CBLAS.configuration)
    }

    private func resetCandidates(rows: Int, perRow: Int) {
        let empty = CandidateLists.empty(rows: rows, perRow: perRow)
        self.rows = rows
        self.perRow = perRow
        candidateScores = empty.scores
        candidateIds = empty.ids
    }

    private func takeCandidates() -> CandidateLists {
        defer { candidateScores = []; candidateIds = [] }
        return CandidateLists(rows: rows, perRow: perRow, ids: candidateIds, scores: candidateScores)
    }

    // MARK: queries against keys

    public func beginQueries(_ queries: UnitRows, candidates perRow: Int) throws {
        self.queries = queries
        resetCandidates(rows: queries.rows, perRow: perRow)
    }

    public func addKeys(_ keys: UnitRows) throws {
        guard let queries, keys.rows > 0, queries.rows > 0 else { return }
        multiply(queries, keys)
        offerRows(count: queries.rows, columns: keys.rows, firstCandidate: 0, rowIds: queries.ids, columnIds: keys.ids)
    }

    public func finishQueries() throws -> CandidateLists {
        queries = nil
        return takeCandidates()
    }

    // MARK: all pairs

    public func beginAllPairs(features: Int, candidates: Int) throws {
        resetCandidates(rows: features, perRow: candidates)
    }

    public func addPairTile(rows: UnitRows, rowOffset: Int, columns: UnitRows, columnOffset: Int) throws {
        guard rows.rows > 0, columns.rows > 0 else { return }
        if rowOffset == columnOffset {
            return addDiagonalTile(rows, offset: rowOffset)
        }
        multiply(rows, columns)
        offerRows(count: rows.rows, columns: columns.rows, firstCandidate: rowOffset, rowIds: rows.ids, columnIds: columns.ids)
        if rowOffset != columnOffset {
            offerColumns(rows: rows.rows, columns: columns.rows, firstCandidate: columnOffset,
                         rowIds: rows.ids, columnIds: columns.ids)
        }
    }

    public func finishAllPairs() throws -> CandidateLists { takeCandidates() }

    /// A tile against itself: only the upper triangle (ssyrk, half the arithmetic); each entry
    /// (r, c), r < c, feeds the candidates of r (as a row) and of c (as a column).
    private func addDiagonalTile(_ tile: UnitRows, offset: Int) {
        let n = tile.rows
        if similarities.count < n * n { similarities = [Float](repeating: 0, count: n * n) }
        similarities.withUnsafeMutableBufferPointer { s in
            tile.values.withUnsafeBufferPointer { a in
                CBLAS.upperGram(n: n, k: tile.stride, a: a.baseAddress!, lda: tile.stride, c: s.baseAddress!, ldc: n)
            }
        }
        let perRow = self.perRow, ids = tile.ids
        withBuffers { s, scores, candidateIds in
            ids.withUnsafeBufferPointer { idPointer in
                let keys = UnsafeSendablePointer(idPointer.baseAddress!)
                // Rows: row r sees columns r+1..<n.
                parallelChunks(n) { range in
                    for row in range where row + 1 < n {
                        let slot = (offset + row) * perRow
                        CandidateHeap(scores: scores.pointer + slot, ids: candidateIds.pointer + slot, capacity: perRow)
                            .offer(row: s.pointer + row * n + row + 1, keyIds: keys.pointer + row + 1,
                                   count: n - row - 1, selfId: ids[row])
                    }
                }
            }
            // Columns: column c sees rows 0..<c.
            parallelChunks(n) { range in
                var bars = range.map { scores.pointer[(offset + $0) * perRow] }
                for row in 0..<(range.upperBound - 1) {
                    let line = s.pointer + row * n
                    for column in max(range.lowerBound, row + 1)..<range.upperBound where line[column] > bars[column - range.lowerBound] {
                        guard ids[row] != ids[column] else { continue }
                        let slot = (offset + column) * perRow
                        let heap = CandidateHeap(scores: scores.pointer + slot, ids: candidateIds.pointer + slot, capacity: perRow)
                        heap.replaceRoot(score: line[column], id: ids[row])
                        bars[column - range.lowerBound] = heap.threshold
                    }
                }
            }
        }
    }

    // MARK: arithmetic

    /// similarities[m, n] = a[m] . b[n]
    private func multiply(_ a: UnitRows, _ b: UnitRows) {
        let m = a.rows, n = b.rows
        if similarities.count < m * n { similarities = [Float](repeating: 0, count: m * n) }
        similarities.withUnsafeMutableBufferPointer { s in
            a.values.withUnsafeBufferPointer { q in
                b.values.withUnsafeBufferPointer { k in
                    CBLAS.multiplyTransposed(m: m, n: n, k: a.stride, a: q.baseAddress!, lda: a.stride,
                                             b: k.baseAddress!, ldb: b.stride, c: s.baseAddress!, ldc: n)
                }
            }
        }
    }

    /// Offers row r of the similarity tile to the heap of candidate position firstCandidate + r.
    private func offerRows(count: Int, columns: Int, firstCandidate: Int, rowIds: [Int32], columnIds: [Int32]) {
        let perRow = self.perRow
        withBuffers { s, scores, ids in
            columnIds.withUnsafeBufferPointer { columnIds in
                let keys = UnsafeSendablePointer(columnIds.baseAddress!)
                parallelChunks(count) { range in
                    for row in range {
                        let slot = (firstCandidate + row) * perRow
                        CandidateHeap(scores: scores.pointer + slot, ids: ids.pointer + slot, capacity: perRow)
                            .offer(row: s.pointer + row * columns, keyIds: keys.pointer, count: columns, selfId: rowIds[row])
                    }
                }
            }
        }
    }

    /// Offers column c to the heap of candidate position firstCandidate + c. Each core owns a
    /// range of columns and walks the rows, comparing with the contiguous thresholds first.
    private func offerColumns(rows: Int, columns: Int, firstCandidate: Int, rowIds: [Int32], columnIds: [Int32]) {
        let perRow = self.perRow
        withBuffers { s, scores, ids in
            parallelChunks(columns) { range in
                var bars = range.map { scores.pointer[(firstCandidate + $0) * perRow] }
                for row in 0..<rows {
                    let line = s.pointer + row * columns
                    for (index, column) in range.enumerated() where line[column] > bars[index] {
                        guard rowIds[row] != columnIds[column] else { continue }
                        let slot = (firstCandidate + column) * perRow
                        let heap = CandidateHeap(scores: scores.pointer + slot, ids: ids.pointer + slot, capacity: perRow)
                        heap.replaceRoot(score: line[column], id: rowIds[row])
                        bars[index] = heap.threshold
                    }
                }
            }
        }
    }

    private func withBuffers(_ body: (UnsafeSendablePointer<Float>, UnsafeSendablePointer<Float>, UnsafeSendablePointer<Int32>) -> Void) {
        similarities.withUnsafeBufferPointer { s in
            candidateScores.withUnsafeMutableBufferPointer { scores in
                candidateIds.withUnsafeMutableBufferPointer { ids in
                    body(UnsafeSendablePointer(s.baseAddress!), UnsafeSendablePointer(scores.baseAddress!),
                         UnsafeSendablePointer(ids.baseAddress!))
                }
            }
        }
    }

    static func cpuModelName() -> String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "CPU" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
}
