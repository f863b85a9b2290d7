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
        multiplyAndOfferRows(queries, keys, firstCandidate: 0)
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
            // The full square: every row sees every other feature of the tile.
            return multiplyAndOfferRows(rows, columns, firstCandidate: rowOffset)
        }
        multiplyAndOfferRows(rows, columns, firstCandidate: rowOffset)
        if rowOffset != columnOffset {
            offerColumns(rows: rows.rows, columns: columns.rows, firstCandidate: columnOffset,
                         rowIds: rows.ids, columnIds: columns.ids)
        }
    }

    public func finishAllPairs() throws -> CandidateLists { takeCandidates() }

    // MARK: arithmetic

    /// similarities[m, n] = a[m] . b[n], each core multiplying its own rows with a single-threaded
    /// sgemm and then offering them to their heaps while they are in cache. (OpenBLAS's own threads
    /// would spin between calls, taking the cores from the selection.)
    private func multiplyAndOfferRows(_ a: UnitRows, _ b: UnitRows, firstCandidate: Int) {
        let m = a.rows, n = b.rows, perRow = self.perRow
        if similarities.count < m * n { similarities = [Float](repeating: 0, count: m * n) }
        CBLAS.setThreads(1)
        let chunks = min(m, ProcessInfo.processInfo.activeProcessorCount)
        let rowIds = a.ids, aStride = a.stride, bStride = b.stride
        withBuffers { s, scores, ids in
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
                                let slot = (firstCandidate + row) * perRow
                                CandidateHeap(scores: scores.pointer + slot, ids: ids.pointer + slot, capacity: perRow)
                                    .offer(row: s.pointer + row * n, keyIds: keys.pointer, count: n, selfId: rowIds[row])
                            }
                        }
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
        similarities.withUnsafeMutableBufferPointer { s in
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
