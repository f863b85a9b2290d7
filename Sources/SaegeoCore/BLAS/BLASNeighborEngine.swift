import Foundation

/// The CPU engine: `cblas_sgemm` on tiles, then a top-k selection per query row in Swift,
/// spread over the cores.
public final class BLASNeighborEngine: NeighborEngine {
    public let device: DeviceDescription
    public let layout: TileLayout
    public var configurationSummary: String { "OpenBLAS \(CBLAS.coreName), \(CBLAS.threads) threads" }

    private var queries: UnitRows?
    // Kept as two arrays (not a CandidateLists) so both can be borrowed mutably at once.
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

    public func beginQueries(_ queries: UnitRows, candidates perRow: Int) throws {
        self.queries = queries
        let empty = CandidateLists.empty(rows: queries.rows, perRow: perRow)
        self.perRow = perRow
        candidateScores = empty.scores
        candidateIds = empty.ids
    }

    public func addKeys(_ keys: UnitRows) throws {
        guard let queries, keys.rows > 0, queries.rows > 0 else { return }
        let m = queries.rows, n = keys.rows
        if similarities.count < m * n { similarities = [Float](repeating: 0, count: m * n) }
        similarities.withUnsafeMutableBufferPointer { s in
            queries.values.withUnsafeBufferPointer { q in
                keys.values.withUnsafeBufferPointer { k in
                    CBLAS.multiplyTransposed(m: m, n: n, k: queries.stride, a: q.baseAddress!, lda: queries.stride,
                                             b: k.baseAddress!, ldb: keys.stride, c: s.baseAddress!, ldc: n)
                }
            }
        }
        select(rows: m, columns: n, keyIds: keys.ids, queryIds: queries.ids)
    }

    /// Offers each row of the similarity tile to that query's heap, rows split across the cores.
    private func select(rows: Int, columns: Int, keyIds: [Int32], queryIds: [Int32]) {
        let perRow = self.perRow
        similarities.withUnsafeBufferPointer { s in
            keyIds.withUnsafeBufferPointer { keyIds in
                candidateScores.withUnsafeMutableBufferPointer { scores in
                    candidateIds.withUnsafeMutableBufferPointer { ids in
                        // Pointers are captured as addresses: each chunk touches only its own rows.
                        let sBase = UnsafeSendablePointer(s.baseAddress!), kBase = UnsafeSendablePointer(keyIds.baseAddress!)
                        let scoreBase = UnsafeSendablePointer(scores.baseAddress!), idBase = UnsafeSendablePointer(ids.baseAddress!)
                        parallelChunks(rows) { range in
                            for row in range {
                                let heap = CandidateHeap(scores: scoreBase.pointer + row * perRow, ids: idBase.pointer + row * perRow,
                                                         capacity: perRow)
                                heap.offer(row: sBase.pointer + row * columns, keyIds: kBase.pointer, count: columns,
                                           selfId: queryIds[row])
                            }
                        }
                    }
                }
            }
        }
    }

    public func finishQueries() throws -> CandidateLists {
        defer { queries = nil }
        return CandidateLists(rows: queries?.rows ?? 0, perRow: perRow, ids: candidateIds, scores: candidateScores)
    }

    static func cpuModelName() -> String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "CPU" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
}
