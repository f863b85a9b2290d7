import Foundation
import SaegeoCore

/// The float64 test engine's similarity tiles: every product of a query row and a key row summed
/// in Double, one value at a time, rounded to float32 only to be offered as a candidate (the
/// scores the contract speaks of are float32). The host's exact ranking then decides the answer,
/// so the result must be bit-identical to the CPU's and OpenCL's; only the candidates may differ.
/// Encoder tiles: Float64Engine+Encoder.swift.
final class Float64Engine: ComputeEngine {
    let device: DeviceDescription
    let capabilities: DeviceCapabilities
    var configurationSummary: String { "plain Swift loops in float64 (tests only)" }

    private var queries: UnitRows?
    private var candidates = Float64Candidates(rows: 0, perRow: 0)
    /// The encoder workload's chunk and tile (Float64Engine+Encoder.swift).
    var chunk: ActivationChunk?
    var tile: EncoderTile?
    /// The tile's rows of W_enc in float64, [width, dimension].
    var weights: [Double] = []

    init(maxAllocationBytes: Int = .max) {
        device = Self.describe()
        capabilities = Self.capabilities(maxAllocationBytes: maxAllocationBytes)
    }

    /// Host memory, rows as they come (no alignment), each staged key tile used before the next is
    /// filled, candidates updated in place (`candidates`: one list of scores, one of ids): what the
    /// CPU engine declares.
    static func capabilities(maxAllocationBytes: Int) -> DeviceCapabilities {
        DeviceCapabilities(layout: TileLayout(rowAlignment: 1, dimensionAlignment: 1, maxAllocationBytes: maxAllocationBytes),
                           buffersInHostMemory: true, stagedKeyTiles: 1, candidateBuffers: 2, streamedTileBuffers: 0)
    }

    static func describe() -> DeviceDescription {
        let memory = Int(ProcessInfo.processInfo.physicalMemory)
        return DeviceDescription(id: Float64Backend.family, name: "float64 reference loops", vendor: "saegeo tests",
                                 type: .cpu, backend: BackendKind(rawValue: "float64"), globalMemoryBytes: memory,
                                 maxAllocationBytes: memory, computeUnits: 1, driverVersion: "none")
    }

    /// The dot product of row `i` of `a` and row `j` of `b`, in float64, rounded once.
    private static func similarity(_ a: UnitRows, _ i: Int, _ b: UnitRows, _ j: Int) -> Float {
        var dot = 0.0
        for x in 0..<min(a.stride, b.stride) {
            dot += Double(a.values[i * a.stride + x]) * Double(b.values[j * b.stride + x])
        }
        return Float(dot)
    }

    // MARK: queries against keys

    func beginQueries(_ queries: UnitRows, candidates perRow: Int) throws {
        self.queries = queries
        candidates = Float64Candidates(rows: queries.rows, perRow: perRow)
    }

    func addKeys(_ keys: UnitRows) throws {
        guard let queries else { return }
        for q in 0..<queries.rows {
            for k in 0..<keys.rows where keys.ids[k] != queries.ids[q] {
                candidates.offer(row: q, score: Self.similarity(queries, q, keys, k), id: keys.ids[k])
            }
        }
    }

    func finishQueries() throws -> CandidateLists {
        queries = nil
        return candidates.take()
    }

    // MARK: all pairs

    func beginAllPairs(features: Int, candidates perRow: Int, seed: CandidateLists?) throws {
        candidates = Float64Candidates(rows: features, perRow: perRow, seed: seed)
    }

    /// Every (row, column) pair of the two tiles, offered to the row's list and, off the diagonal,
    /// to the column's: a diagonal tile (the same tile at the same offset) offers each pair both
    /// ways already, as its own rows and columns.
    func addPairTile(rows: UnitRows, rowOffset: Int, columns: UnitRows, columnOffset: Int) throws {
        let diagonal = rowOffset == columnOffset
        for r in 0..<rows.rows {
            for c in 0..<columns.rows where columns.ids[c] != rows.ids[r] {
                let score = Self.similarity(rows, r, columns, c)
                candidates.offer(row: rowOffset + r, score: score, id: columns.ids[c])
                if !diagonal { candidates.offer(row: columnOffset + c, score: score, id: rows.ids[r]) }
            }
        }
    }

    func finishAllPairs() throws -> CandidateLists { candidates.take() }
}
