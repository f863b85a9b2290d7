/// The dataset-level figure: how close the dataset's active features sit to the toxic features,
/// against a null of equally many random non-toxic features, so a whole dataset can be judged
/// before fine-tuning. The dataset's mean proximity weighs each feature by its total activation:
/// sum_f A_f p_f / sum_f A_f; each null set gets the same figure with its own p; z compares.
public struct DatasetSummary: Sendable, Encodable {
    public let samples: Int
    public let meanScore: Double
    public let meanProximity: Double
    public let nullSets: Int
    public let nullMean: Double
    public let nullStd: Double
    public let zScore: Double?

    enum CodingKeys: String, CodingKey {
        case samples
        case meanScore = "mean_score", meanProximity = "mean_proximity", nullSets = "null_sets"
        case nullMean = "null_mean", nullStd = "null_std", zScore = "z_score"
    }

    static func weightedMean(_ activation: [Double], _ proximity: [Float]) -> Double {
        var num = 0.0, den = 0.0
        for f in activation.indices where activation[f] > 0 {
            num += activation[f] * Double(proximity[f])
            den += activation[f]
        }
        return den > 0 ? num / den : 0
    }

    /// - Parameter nullSets: how many random sets of |toxic| live non-toxic features form the null.
    public static func compute(result: DatasetScorer.Result, proximity: [Float], decoder: FeatureMatrix, toxic: [Int],
                               nullSets: Int, seed: UInt64, engines: [ComputeEngine], memoryBudget: Int?) throws -> DatasetSummary {
        let samples = result.scores.count
        let meanScore = samples == 0 ? 0 : result.scores.reduce(0) { $0 + Double($1) } / Double(samples)
        let observed = weightedMean(result.featureActivation, proximity)
        let toxicSet = Set(toxic)
        let norms = FeatureNorms(of: decoder, features: Array(0..<decoder.features))
        let pool = (0..<decoder.features).filter { !toxicSet.contains($0) && norms.isLive($0) }
        var rng = SeededGenerator(seed: seed)
        var null: [Double] = []
        if pool.count >= toxicSet.count, !toxicSet.isEmpty {
            for _ in 0..<nullSets {
                var choice = pool
                for i in 0..<toxicSet.count { choice.swapAt(i, i + Int(rng.next() % UInt64(choice.count - i))) }
                let p = try ToxicProximity.compute(decoder: decoder, toxic: Array(choice.prefix(toxicSet.count)),
                                                   engines: engines, memoryBudget: memoryBudget).proximity
                null.append(weightedMean(result.featureActivation, p))
            }
        }
        let mean = null.isEmpty ? 0 : null.reduce(0, +) / Double(null.count)
        let variance = null.count < 2 ? 0 : null.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(null.count - 1)
        let std = variance.squareRoot()
        return DatasetSummary(samples: samples, meanScore: meanScore, meanProximity: observed, nullSets: null.count,
                              nullMean: mean, nullStd: std, zScore: std > 0 ? (observed - mean) / std : nil)
    }
}
