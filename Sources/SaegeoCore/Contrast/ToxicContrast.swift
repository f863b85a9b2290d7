import Foundation

/// The paper's measurement (DESIGN.md): the features characteristic of one set over the other
/// should sit closer to toxic features than chance. For the top N features of A over B, the
/// mean toxic proximity weighted by each feature's mean activation on A; likewise for the top N of
/// B over A, weighted by their mean activation on B.
///
/// Its null is score's (PermutationNull, docs/statistics.md): the N weights moved to N live
/// features drawn at random, the toxic features and their near-duplicates included, so the
/// dictionary's cluster around the toxic set is in every draw as in the observed figure. When the
/// top N are chosen without regard to p (A and B differ in ways unrelated to the toxic features),
/// the observed figure is one more draw of that null, so the permutation p-value's test
/// (`leans_toxic`, p <= alpha) fires at rate at most alpha; CalibrationTests measures it. The
/// null's mean and deviation are exact, so z does not depend on the number of draws.
public struct ToxicContrast: Sendable, Encodable {
    public struct Side: Sendable, Encodable {
        public let features: [Int]
        public let meanProximity: Double
        public let nullMean: Double
        public let nullStd: Double
        public let zScore: Double?
        /// The permutation p-value of the figure, its Monte Carlo error, and the decision.
        public let pValue: Double?
        public let mcError: Double?
        public let leansToxic: Bool

        enum CodingKeys: String, CodingKey {
            case features, meanProximity = "mean_proximity", nullMean = "null_mean", nullStd = "null_std", zScore = "z_score"
            case pValue = "p_value", mcError = "mc_error", leansToxic = "leans_toxic"
        }
    }

    /// Draws are streamed (O(N) each), so as many as score takes.
    public static let maxNullSets = PermutationNull.maxDraws

    public let top: Int
    public let nullSets: Int
    public let seed: UInt64
    public var null = "weights of the top features placed on random live features"
    public let alpha = DatasetSummary.alpha
    /// The top N of A over B, and of B over A.
    public let aOverB: Side
    public let bOverA: Side

    enum CodingKeys: String, CodingKey {
        case top, nullSets = "null_sets", seed, null, alpha, aOverB = "a_over_b", bOverA = "b_over_a"
    }

    /// - Parameters:
    ///   - ranking: every feature, ranked (FeatureContrast.ranked).
    ///   - proximity: each feature's toxic proximity.
    public static func compute(ranking: [FeatureContrast], proximity: [Float], top: Int,
                               nullSets: Int, seed: UInt64, cancellation: Cancellation = Cancellation()) throws -> ToxicContrast {
        let live = ranking.filter { !$0.dead }
        let liveFeatures = live.map(\.feature).sorted()
        let n = min(top, live.count)
        func side(_ chosen: [FeatureContrast], weight: (FeatureContrast) -> Double, seed: UInt64) throws -> Side {
            // The chosen features' weights as a mass vector: the null moves it among live features.
            var mass = [Double](repeating: 0, count: proximity.count)
            for feature in chosen { mass[feature.feature] = max(0, weight(feature)) }
            let observed = PermutationNull.weightedMean(mass, proximity)
            let (mean, std) = PermutationNull.moments(mass: mass, proximity: proximity, live: liveFeatures)
            let draws = try PermutationNull.draws(nullSets, mass: mass, proximity: proximity, live: liveFeatures, seed: seed,
                                                  cancellation: cancellation)
            let test = PermutationNull.pValue(of: observed, draws: draws)
            // A spread so small that z overflows is no spread: no z, as for a spread of 0.
            let z = std > 0 ? (observed - mean) / std : .nan
            return Side(features: chosen.map(\.feature), meanProximity: observed, nullMean: mean, nullStd: std,
                        zScore: z.isFinite ? z : nil, pValue: test?.p, mcError: test?.error,
                        leansToxic: test.map { $0.p <= DatasetSummary.alpha } ?? false)
        }
        // B over A: the most negative t first, ties to the lower id.
        let reversed = live.sorted { $0.t != $1.t ? $0.t < $1.t : $0.feature < $1.feature }
        return ToxicContrast(top: n, nullSets: n > 0 ? nullSets : 0, seed: seed,
                             aOverB: try side(Array(live.prefix(n)), weight: \.meanA, seed: seed),
                             bOverA: try side(Array(reversed.prefix(n)), weight: \.meanB, seed: seed &+ 1))
    }
}
