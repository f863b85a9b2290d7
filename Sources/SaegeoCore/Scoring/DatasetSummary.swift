/// The dataset-level figure and its calibrated test (docs/statistics.md), so a whole dataset can be
/// judged before fine-tuning. The figure is the dataset's activation-weighted mean toxic proximity
/// M = sum_f A_f p_f / sum_f A_f (A_f: the dataset's total activation of feature f). The null keeps
/// the toxic set and moves the dataset's own mass among the live features (PermutationNull), so the
/// dictionary's cluster of near-duplicates around the toxic set cancels; a bootstrap over samples
/// (SampleBootstrap) gives M's interval, and the decision tests the interval's lower end, so both
/// the null's placement and the sampling variation over samples have to be beaten.
public struct DatasetSummary: Sendable, Encodable {
    /// The one-sided level of `leans_toxic`.
    public static let alpha = 0.05
    /// The interval reported (two-sided): its lower end is the one-sided 95% lower bound.
    public static let intervalLevel = 0.9

    public let samples: Int
    public let meanScore: Double
    public let meanProximity: Double
    /// How many permutation draws estimated the p-value (the key keeps its old name).
    public let nullSets: Int
    /// The null's exact mean and deviation (over all permutations), and z from them: neither
    /// depends on the number of draws.
    public let nullMean: Double
    public let nullStd: Double
    public let zScore: Double?
    public var null = "activation mass permuted over live features"
    public let interval: [Double]?
    public let intervalLevel = DatasetSummary.intervalLevel
    public let bootstrapDraws: Int
    /// The permutation p-value of the interval's lower end (or of M, if lower), its Monte Carlo
    /// standard error, and the decision p_value <= alpha.
    public let pValue: Double?
    public let mcError: Double?
    public let alpha = DatasetSummary.alpha
    public let leansToxic: Bool
    public let seed: UInt64
    /// With `score --reference` (ReferenceComparison): the reference's figures and the difference.
    public var reference: ReferenceFigures? = nil

    enum CodingKeys: String, CodingKey {
        case samples
        case meanScore = "mean_score", meanProximity = "mean_proximity", nullSets = "null_sets"
        case nullMean = "null_mean", nullStd = "null_std", zScore = "z_score"
        case null, interval, intervalLevel = "interval_level", bootstrapDraws = "bootstrap_draws"
        case pValue = "p_value", mcError = "mc_error", alpha, leansToxic = "leans_toxic", seed, reference
    }

    static func weightedMean(_ activation: [Double], _ proximity: [Float]) -> Double {
        PermutationNull.weightedMean(activation, proximity)
    }

    /// - Parameters:
    ///   - draws: permutation draws for the p-value, and bootstrap draws for the interval.
    ///   - live: whether a feature is live (only live features take part in the permutation).
    /// - Parameter cancellation: checked between draws: Ctrl-C stops the draws at once.
    public static func compute(result: DatasetScorer.Result, proximity: [Float], live: (Int) -> Bool,
                               draws: Int, seed: UInt64, cancellation: Cancellation = Cancellation()) throws -> DatasetSummary {
        let samples = result.scores.count
        let meanScore = samples == 0 ? 0 : result.scores.reduce(0) { $0 + Double($1) } / Double(samples)
        let mass = result.featureActivation
        guard mass.count == proximity.count else {
            throw SaegeoError.badInput("the dataset summary needs every feature's total activation (\(proximity.count)), and the run kept \(mass.count)")
        }
        guard result.sampleNumerators.count == samples, result.sampleDenominators.count == samples else {
            throw SaegeoError.badInput("the dataset summary needs every sample's sums (\(samples)), and the run kept \(result.sampleNumerators.count)")
        }
        let observed = weightedMean(mass, proximity)
        let liveFeatures = (0..<proximity.count).filter(live)
        let (mean, std) = PermutationNull.moments(mass: mass, proximity: proximity, live: liveFeatures)
        let interval = try SampleBootstrap.interval(numerators: result.sampleNumerators, denominators: result.sampleDenominators,
                                                    draws: draws, level: intervalLevel, seed: seed &+ 1, cancellation: cancellation)
        let null = try PermutationNull.draws(draws, mass: mass, proximity: proximity, live: liveFeatures, seed: seed,
                                             cancellation: cancellation)
        // The lower end, never above M itself: then P(leans_toxic) <= P(permutation p of M <= alpha) <= alpha
        // whenever the dataset's mass is placed without regard to p (docs/statistics.md).
        let tested = min(observed, interval?.low ?? observed)
        let test = PermutationNull.pValue(of: tested, draws: null)
        // Finite out: the figures come from finite scores and activations (DatasetScorer checks
        // them); a spread so small that z overflows is no spread: no z, as for a spread of 0.
        for (name, value) in [("mean score", meanScore), ("mean proximity", observed), ("null mean", mean), ("null std", std),
                              ("interval's low end", interval?.low ?? 0), ("interval's high end", interval?.high ?? 0)]
            where !value.isFinite {
            throw SaegeoError.badInput("the dataset's \(name) is \(value); the summary holds only finite figures; check the activations' scale")
        }
        let z = std > 0 ? (observed - mean) / std : .nan
        return DatasetSummary(samples: samples, meanScore: meanScore, meanProximity: observed, nullSets: null.count,
                              nullMean: mean, nullStd: std, zScore: z.isFinite ? z : nil,
                              interval: interval.map { [$0.low, $0.high] }, bootstrapDraws: interval == nil ? 0 : draws,
                              pValue: test?.p, mcError: test?.error, leansToxic: test.map { $0.p <= alpha } ?? false, seed: seed)
    }
}
