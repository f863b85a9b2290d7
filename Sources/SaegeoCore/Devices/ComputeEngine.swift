/// The one interface through which every workload reaches a device. Both backends implement all
/// of it; workloads (neighbour search, scoring) are written once against it and know nothing of
/// OpenCL or OpenBLAS. An engine is used by one thread at a time.
///
/// Two kinds of tile run on it:
/// - similarity tiles with candidate selection: unit rows against unit rows, keeping the best
///   `candidates` keys of each query (itself excluded). Engines only choose candidates; the exact
///   ranking happens on the host (ExactRanking). The keys may come from any dictionary of the same
///   dimension, since the engine sees only rows and ids.
/// - encoder tiles with epilogues: a chunk of activation rows times a tile of encoder features,
///   activated and reduced at once to what the accumulators' `EncoderEpilogue` asks for (score
///   sums, explanations, contrast's per-feature moments, TopK selection), so that the [rows,
///   d_sae] activations never exist. A new statistic is a new field of the epilogue with its
///   reduction in each engine (docs/internals.md: "A new statistic"), not a new path.
public protocol ComputeEngine: AnyObject {
    var device: DeviceDescription { get }
    /// What the engine can run and the buffers it keeps, as the planner reads them.
    var capabilities: DeviceCapabilities { get }
    /// A short description of how the engine computes, for the summary line.
    var configurationSummary: String { get }

    // MARK: similarity tiles: queries against keys
    // A block of queries meets a stream of key tiles. `addKeys` may return before the tile is
    // used; the engine keeps `keys.values` alive until then.
    func beginQueries(_ queries: UnitRows, candidates: Int) throws
    func addKeys(_ keys: UnitRows) throws
    func finishQueries() throws -> CandidateLists

    // MARK: similarity tiles: all pairs
    // The candidates of all `features` positions live on the engine for the whole run. A pair
    // tile updates the rows' candidates and, unless it is on the diagonal (the same tile, same
    // offset), the columns' candidates too: each pair of tiles is computed once. `seed`, when
    // given (`features` rows of `candidates`, each row best first), is where the lists start
    // instead of empty: a sharded job's earlier blocks, so that a block's rows start as warm as
    // the single run's (a list that starts empty takes far more of a tile's offers).
    func beginAllPairs(features: Int, candidates: Int, seed: CandidateLists?) throws
    func addPairTile(rows: UnitRows, rowOffset: Int, columns: UnitRows, columnOffset: Int) throws
    func finishAllPairs() throws -> CandidateLists

    // MARK: encoder tiles
    /// The chunk of activation rows the following tiles multiply.
    func setActivations(_ chunk: ActivationChunk) throws
    /// The encoder features the following reductions use (kept until the next call).
    func loadEncoderTile(_ tile: EncoderTile) throws
    /// Runs the epilogue `sums.epilogue` on the loaded tile over the chunk: activates it (ReLU,
    /// JumpReLU, gated) and adds what the epilogue asks for into `sums`, whose samples are the
    /// chunk's; or, for a selecting epilogue (TopK, GroupMax), offers the tile's pre-activations
    /// to `sums.select(preActivations:features:bias:)`.
    func reduceEncoderTile(into sums: inout SampleAccumulators) throws

    /// The counts of a certified first pass (FirstPassCounts), nil without one (the default).
    var firstPassCounts: FirstPassCounts? { get }
}

extension ComputeEngine {
    /// Whether the engine's buffers are host memory (the CPU engine).
    public var isHost: Bool { capabilities.buffersInHostMemory }
}

/// What a certified low-precision first pass (the CPU's bfloat16 one) left to the exact path, so
/// that a run can say how tight the bound was: counted by the engine since it was built.
public struct FirstPassCounts: Sendable, Equatable {
    /// Query rows whose candidate lists the first pass chose, and the candidates the exact ranking
    /// re-scored for them (in float64).
    public var queryRows = 0
    public var rescoredCandidates = 0
    /// Rows the exact ranking could not certify from the candidates, ranked over every key.
    public var exhaustiveRows = 0
    /// Activation rows the encoder's first pass saw, (row, feature) pairs it decided by the bound,
    /// and pairs recomputed exactly in float32 (every one that is or may be active, or in the TopK cut).
    public var encoderRows = 0
    public var decidedFeatures = 0
    public var recomputedFeatures = 0

    public init() {}

    public static func + (a: FirstPassCounts, b: FirstPassCounts) -> FirstPassCounts {
        var sum = a
        sum.queryRows += b.queryRows
        sum.rescoredCandidates += b.rescoredCandidates
        sum.exhaustiveRows += b.exhaustiveRows
        sum.encoderRows += b.encoderRows
        sum.decidedFeatures += b.decidedFeatures
        sum.recomputedFeatures += b.recomputedFeatures
        return sum
    }
}

extension ComputeEngine {
    public var firstPassCounts: FirstPassCounts? { nil }
}
