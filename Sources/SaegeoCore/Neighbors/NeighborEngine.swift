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
/// Empty slots hold id -1 and score -inf.
public struct CandidateLists: Sendable {
    public let rows: Int
    public let perRow: Int
    public var ids: [Int32]
    public var scores: [Float]

    public static func empty(rows: Int, perRow: Int) -> CandidateLists {
        CandidateLists(rows: rows, perRow: perRow,
                       ids: [Int32](repeating: -1, count: rows * perRow),
                       scores: [Float](repeating: -.infinity, count: rows * perRow))
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
}

/// One device's part of a neighbour search: the float32 similarity of a block of queries against
/// stream of key tiles, keeping the best `candidates` keys of each query (itself excluded).
/// Engines only choose candidates; the exact ranking happens on the host (ExactRanking).
public protocol NeighborEngine: AnyObject {
    var device: DeviceDescription { get }
    var layout: TileLayout { get }
    /// A short description of how the engine computes, for the summary line.
    var configurationSummary: String { get }

    func beginQueries(_ queries: UnitRows, candidates: Int) throws
    func addKeys(_ keys: UnitRows) throws
    func finishQueries() throws -> CandidateLists
}
