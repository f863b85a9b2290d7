import Foundation

/// The paper's measurement (DESIGN.md): the features characteristic of one set over the other
/// should sit closer to toxic features than chance. For the top N features of A over B, the
/// mean toxic proximity weighted by each feature's mean activation on A; the same for random
/// sets of N live non-toxic features (seeded), giving the null's mean and deviation and a
/// z-score; likewise for the top N of B over A, weighted by their mean activation on B. The
/// number of null sets defaults to score's number of null draws (PermutationNull.defaultDraws).
public struct ToxicContrast: Sendable, Encodable {
    public struct Side: Sendable, Encodable {
        public let features: [Int]
        public let meanProximity: Double
        public let nullMean: Double
        public let nullStd: Double
        public let zScore: Double?

        enum CodingKeys: String, CodingKey {
            case features, meanProximity = "mean_proximity", nullMean = "null_mean", nullStd = "null_std", zScore = "z_score"
        }
    }

    /// Each null set holds --top ids, all kept at once: at most this many sets.
    public static let maxNullSets = 1000

    public let top: Int
    public let nullSets: Int
    public let seed: UInt64
    /// The top N of A over B, and of B over A.
    public let aOverB: Side
    public let bOverA: Side

    enum CodingKeys: String, CodingKey {
        case top, nullSets = "null_sets", seed, aOverB = "a_over_b", bOverA = "b_over_a"
    }

    /// - Parameters:
    ///   - ranking: every feature, ranked (FeatureContrast.ranked).
    ///   - proximity: each feature's toxic proximity.
    public static func compute(ranking: [FeatureContrast], proximity: [Float], toxic: [Int], top: Int,
                               nullSets: Int, seed: UInt64) -> ToxicContrast {
        let live = ranking.filter { !$0.dead }
        let byFeature = Dictionary(uniqueKeysWithValues: ranking.map { ($0.feature, $0) })
        let toxicSet = Set(toxic)
        let pool = live.map(\.feature).filter { !toxicSet.contains($0) }.sorted()
        // The same null sets for both sides, drawn once from the seed.
        var rng = SeededGenerator(seed: seed)
        var sets: [[Int]] = []
        let n = min(top, live.count)
        if pool.count >= n, n > 0 {
            for _ in 0..<nullSets {
                var choice = pool
                for i in 0..<n { choice.swapAt(i, i + Int(rng.next() % UInt64(choice.count - i))) }
                sets.append(Array(choice.prefix(n)))
            }
        }
        func side(_ features: [Int], weight: (FeatureContrast) -> Double) -> Side {
            func weighted(_ set: [Int]) -> Double {
                var num = 0.0, den = 0.0
                for f in set {
                    let w = weight(byFeature[f]!)
                    num += w * Double(proximity[f])
                    den += w
                }
                return den > 0 ? num / den : 0
            }
            let observed = weighted(features)
            let null = sets.map(weighted)
            let mean = null.isEmpty ? 0 : null.reduce(0, +) / Double(null.count)
            let std = null.count < 2 ? 0 : (null.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(null.count - 1)).squareRoot()
            // A spread so small that z overflows is no spread: no z, as for a spread of 0.
            let z = std > 0 ? (observed - mean) / std : .nan
            return Side(features: features, meanProximity: observed, nullMean: mean, nullStd: std,
                        zScore: z.isFinite ? z : nil)
        }
        // B over A: the most negative t first, ties to the lower id.
        let reversed = live.sorted { $0.t != $1.t ? $0.t < $1.t : $0.feature < $1.feature }
        return ToxicContrast(top: n, nullSets: sets.count, seed: seed,
                             aOverB: side(live.prefix(n).map(\.feature), weight: \.meanA),
                             bOverA: side(reversed.prefix(n).map(\.feature), weight: \.meanB))
    }
}
