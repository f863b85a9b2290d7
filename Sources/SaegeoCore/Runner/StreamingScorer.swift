import Foundation

/// `score` fed batch by batch (a Python forward hook hands over each batch of token rows as the
/// model makes it, and nothing is written to disk): the toxic proximities are computed once at
/// creation, each batch of whole samples is scored as an in-memory ActivationsFile exactly as
/// `saegeo score` scores a file (the same planner, chunks from the batch's first sample), the
/// results are appended and the dataset summary's sums merged exactly (FeatureMass), and `finish`
/// computes the summary as `score --summary` does. One add of the whole dataset is the CLI's run,
/// bit for bit; other splits cut other chunks, which may round a sample's sums differently.
/// Not for concurrent use: a front end calls one method at a time.
public final class StreamingScorer {
    public let encoder: SAEEncoder
    public let proximity: ToxicProximity.Result
    private let norms: FeatureNorms
    private let engines: [ComputeEngine]
    /// Half the budget for the streaming tiles, as `score` plans them.
    private let tileBudget: Int?
    public let explain: Int
    public let skipNonFinite: Bool
    private var scores: [Float] = []
    private var active: [Int64] = []
    private var explanations: [[(feature: Int, activation: Double)]] = []
    private var numerators: [Double] = []
    private var denominators: [Double] = []
    private var mass: FeatureMass
    /// The encoder tile each engine holds between batches: uploaded once for the whole stream.
    private let heldTiles = DatasetScorer.HeldEncoderTiles()
    /// Token rows left out for NaN or infinity (with `skipNonFinite`), over every batch.
    public private(set) var skippedRows = 0
    public var samples: Int { scores.count }

    /// Opens the encoder and computes every feature's toxic proximity on the devices.
    public init(sae: SAECheckpoint, toxic: [Int], devices: JobDevices, explain: Int = 0, skipNonFinite: Bool = false,
                events: JobEvents = .silent, cancellation: Cancellation = Cancellation()) throws {
        encoder = try SAEEncoder(checkpoint: sae)
        try InMemoryJobs.checkIds(toxic, features: encoder.features, role: "toxic")
        guard explain >= 0 else { throw SaegeoError(.usage, "--explain must not be negative (got \(explain))") }
        let decoder = try sae.decoder()
        let norms = FeatureNorms(of: decoder, features: Array(0..<decoder.features))
        let engines = try devices.engines()
        let budget = try devices.budget()
        proximity = try JobDevices.replanningOnce(budget: budget, engines: engines, events: events) { budget in
            try ToxicProximity.compute(decoder: decoder, toxic: toxic, engines: engines, memoryBudget: budget, norms: norms,
                                       cancellation: cancellation)
        }
        self.norms = norms
        self.engines = engines
        tileBudget = budget.map { $0 / 2 }
        self.explain = min(explain, encoder.features)
        self.skipNonFinite = skipNonFinite
        mass = FeatureMass(features: encoder.features)
    }

    /// Scores one batch of whole samples and appends its results; a batch that fails adds nothing.
    public func add(_ batch: ActivationsFile, events: JobEvents = .silent, cancellation: Cancellation = Cancellation()) throws {
        guard batch.samples > 0 else { return }
        var scorer = try DatasetScorer(encoder: encoder, proximity: proximity.proximity, activations: batch)
        scorer.explain = explain
        scorer.skipNonFinite = skipNonFinite
        scorer.heldTiles = heldTiles
        try scorer.plan(for: engines, memoryBudget: tileBudget)
        let deviceIds = engines.map(\.device.id).joined(separator: ",")
        let progress = events.progress("score on \(deviceIds):")
        let engines = self.engines, tileBudget = self.tileBudget, heldTiles = self.heldTiles
        let result = try JobDevices.replanningOnce(budget: tileBudget, engines: engines, events: events) { budget in
            if budget != tileBudget {
                heldTiles.forgetAll()
                try scorer.plan(for: engines, memoryBudget: budget)
            }
            return try scorer.run(on: engines, cancellation: cancellation, progress: progress)
        }
        try cancellation.check()
        scores += result.scores
        active += result.active
        explanations += result.explanations
        numerators += result.sampleNumerators
        denominators += result.sampleDenominators
        mass.add(result.featureMass)
        skippedRows += scorer.skippedRows.current
    }

    /// Every sample's results so far, as one run over all of them would give them.
    public var result: DatasetScorer.Result {
        DatasetScorer.Result(scores: scores, active: active, featureMass: mass, explanations: explanations,
                             sampleNumerators: numerators, sampleDenominators: denominators)
    }

    /// The dataset summary (`score --summary`) with `nullSets` permutation and bootstrap draws.
    public func summary(nullSets: Int, seed: UInt64, cancellation: Cancellation = Cancellation()) throws -> DatasetSummary {
        guard samples > 0 else { throw SaegeoError(.badInput, "no samples were added; there is nothing to score") }
        guard (0...ScoreJob.maxNullSets).contains(nullSets) else {
            throw SaegeoError(.usage, "--null-sets must be between 0 and \(ScoreJob.maxNullSets) (got \(nullSets)); the p-value's Monte Carlo error shrinks as 1/sqrt(draws)")
        }
        return try DatasetSummary.compute(result: result, proximity: proximity.proximity, live: norms.isLive,
                                          draws: nullSets, seed: seed, cancellation: cancellation)
    }
}
