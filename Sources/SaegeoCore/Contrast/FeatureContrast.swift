import Foundation

/// One feature's contrast between activation sets A and B (DESIGN.md, Definitions: contrast).
public struct FeatureContrast: Sendable, Equatable {
    public let feature: Int
    /// Samples of A and of B on which the feature fired, and tokens.
    public let firesA: Int64, firesB: Int64
    public let tokensA: Int64, tokensB: Int64
    /// Firing rate per sample, and the mean over samples of the per-sample mean activation.
    public let rateA: Double, rateB: Double
    public let meanA: Double, meanB: Double
    /// Welch's t over per-sample mean activations (paired: the paired t of the differences).
    public let t: Double
    /// Log odds ratio of firing per sample, with a 0.5 continuity correction.
    public let logOdds: Double
    /// Whether the feature's decoder direction is dead (zero or not finite): ranked last.
    public let dead: Bool

    /// Every feature's contrast, ranked: t descending, ties to the lower id, dead features last
    /// (among themselves by id). `differences` holds the paired sets' d_f(s) statistics.
    public static func ranked(a: FeatureStatistics, b: FeatureStatistics, differences: FeatureStatistics? = nil,
                              dead: (Int) -> Bool) -> [FeatureContrast] {
        let nA = Double(a.samples), nB = Double(b.samples)
        let rows = (0..<a.features).map { f -> FeatureContrast in
            let t: Double
            if let d = differences {
                t = ratio(d.mean(f), (d.variance(f) / Double(max(d.samples, 1))).squareRoot())
            } else {
                t = ratio(a.mean(f) - b.mean(f), (a.variance(f) / max(nA, 1) + b.variance(f) / max(nB, 1)).squareRoot())
            }
            let cA = Double(a.fires[f]), cB = Double(b.fires[f])
            let logOdds = log(((cA + 0.5) / (nA - cA + 0.5)) / ((cB + 0.5) / (nB - cB + 0.5)))
            return FeatureContrast(feature: f, firesA: a.fires[f], firesB: b.fires[f], tokensA: a.tokens[f], tokensB: b.tokens[f],
                                   rateA: nA > 0 ? cA / nA : 0, rateB: nB > 0 ? cB / nB : 0, meanA: a.mean(f), meanB: b.mean(f),
                                   t: t, logOdds: logOdds, dead: dead(f))
        }
        return rows.sorted(by: precedes)
    }

    /// The Definitions' convention: 0/0 is 0, x/0 is +-infinity.
    static func ratio(_ numerator: Double, _ denominator: Double) -> Double {
        if denominator > 0 { return numerator / denominator }
        return numerator == 0 ? 0 : (numerator > 0 ? .infinity : -.infinity)
    }

    /// The ranking's order.
    static func precedes(_ x: FeatureContrast, _ y: FeatureContrast) -> Bool {
        if x.dead != y.dead { return !x.dead }
        if x.dead { return x.feature < y.feature }
        return x.t != y.t ? x.t > y.t : x.feature < y.feature
    }
}
