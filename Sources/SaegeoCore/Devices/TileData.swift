/// A tile of unit-normalised float32 rows as the engines take them: `rows` valid rows, padded with
/// zero rows to `capacity`, each row `stride` floats long (the dimension padded with zeros).
public struct UnitRows: Sendable {
    public let ids: [Int32]
    public let capacity: Int
    public let stride: Int
    public var values: [Float]

    public var rows: Int { ids.count }
}

/// For each query row, `perRow` candidate keys chosen by float32 similarity, in no order.
/// Empty slots hold id -1 and score -inf. A row may be the concatenation of `segments` lists kept
/// by different devices over disjoint keys (all pairs on several devices); each segment is
/// certified on its own terms (ExactRanking).
public struct CandidateLists: Sendable {
    public let rows: Int
    public let perRow: Int
    public var segments: Int = 1
    public var ids: [Int32]
    public var scores: [Float]
    /// The largest |score - exact cosine| of any score the lists were chosen by (kept or not), or
    /// nil for float32 unit-row dots (ExactRanking.errorBound(dimension:)). A certified low-precision
    /// first pass (the CPU's bfloat16 one) sets it, never below float32's; ExactRanking certifies with it.
    public var errorBound: Double? = nil

    public init(rows: Int, perRow: Int, segments: Int = 1, ids: [Int32], scores: [Float], errorBound: Double? = nil) {
        self.rows = rows
        self.perRow = perRow
        self.segments = segments
        self.ids = ids
        self.scores = scores
        self.errorBound = errorBound
    }

    public static func empty(rows: Int, perRow: Int) -> CandidateLists {
        CandidateLists(rows: rows, perRow: perRow,
                       ids: [Int32](repeating: -1, count: rows * perRow),
                       scores: [Float](repeating: -.infinity, count: rows * perRow))
    }

    /// The lists of several devices side by side, row by row.
    public static func concatenating(_ parts: [CandidateLists]) -> CandidateLists {
        guard parts.count > 1, let first = parts.first else { return parts.first ?? .empty(rows: 0, perRow: 0) }
        let width = parts.reduce(0) { $0 + $1.perRow }
        var ids: [Int32] = [], scores: [Float] = []
        ids.reserveCapacity(first.rows * width)
        scores.reserveCapacity(first.rows * width)
        for row in 0..<first.rows {
            for part in parts {
                ids += part.ids[(row * part.perRow)..<((row + 1) * part.perRow)]
                scores += part.scores[(row * part.perRow)..<((row + 1) * part.perRow)]
            }
        }
        // Each segment is certified with the largest bound: valid for every one of them (a set
        // bound is never below float32's).
        let bound = parts.compactMap(\.errorBound).max()
        return CandidateLists(rows: first.rows, perRow: width, segments: parts.reduce(0) { $0 + $1.segments },
                              ids: ids, scores: scores, errorBound: bound)
    }
}

/// How a device wants its tiles shaped.
public struct TileLayout: Sendable, Equatable {
    /// Tiles hold a multiple of this many rows (padding rows are zero).
    public let rowAlignment: Int
    /// Rows are padded with zeros to a multiple of this many floats.
    public let dimensionAlignment: Int
    /// The largest single buffer the device can hold.
    public let maxAllocationBytes: Int

    public init(rowAlignment: Int, dimensionAlignment: Int, maxAllocationBytes: Int) {
        self.rowAlignment = rowAlignment
        self.dimensionAlignment = dimensionAlignment
        self.maxAllocationBytes = maxAllocationBytes
    }
}
