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
                               nullSets: Int, seed: UInt64, engines: [ComputeEngine], memoryBudget: Int?,
                               norms: FeatureNorms? = nil) throws -> DatasetSummary {
        let samples = result.scores.count
        let meanScore = samples == 0 ? 0 : result.scores.reduce(0) { $0 + Double($1) } / Double(samples)
        let observed = weightedMean(result.featureActivation, proximity)
        let toxicSet = Set(toxic)
        let norms = norms ?? FeatureNorms(of: decoder, features: Array(0..<decoder.features))
        let pool = (0..<decoder.features).filter { !toxicSet.contains($0) && norms.isLive($0) }
        var rng = SeededGenerator(seed: seed)
        var sets: [[Int]] = []
        if pool.count >= toxicSet.count, !toxicSet.isEmpty {
            for _ in 0..<nullSets {
                var choice = pool
                for i in 0..<toxicSet.count { choice.swapAt(i, i + Int(rng.next() % UInt64(choice.count - i))) }
                sets.append(Array(choice.prefix(toxicSet.count)))
            }
        }
        // The weighted mean reads only the features the dataset activates: only theirs are needed.
        let activated = result.featureActivation.indices.filter { result.featureActivation[$0] > 0 }
        let null = try nullProximities(sets, decoder: decoder, norms: norms, engines: engines, memoryBudget: memoryBudget,
                                       queries: activated)
            .map { weightedMean(result.featureActivation, $0) }
        let mean = null.isEmpty ? 0 : null.reduce(0, +) / Double(null.count)
        let variance = null.count < 2 ? 0 : null.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(null.count - 1)
        let std = variance.squareRoot()
        // Finite out: the figures come from finite scores and activations (DatasetScorer checks
        // them); a spread so small that z overflows is no spread: no z, as for a spread of 0.
        for (name, value) in [("mean score", meanScore), ("mean proximity", observed), ("null mean", mean), ("null std", std)]
            where !value.isFinite {
            throw SaegeoError.badInput("the dataset's \(name) is \(value); the summary holds only finite figures; check the activations' scale")
        }
        let z = std > 0 ? (observed - mean) / std : .nan
        return DatasetSummary(samples: samples, meanScore: meanScore, meanProximity: observed, nullSets: null.count,
                              nullMean: mean, nullStd: std, zScore: z.isFinite ? z : nil)
    }

    /// The toxic proximity of every feature to each null set: the values one ToxicProximity pass
    /// per set gives, several sets at a time (SetProximities) while their union stays small.
    /// Only `queries` (default all) get a proximity; the others stay 0.
    static func nullProximities(_ sets: [[Int]], decoder: FeatureMatrix, norms: FeatureNorms, engines: [ComputeEngine],
                                memoryBudget: Int?, queries: [Int]? = nil) throws -> [[Float]] {
        let features = decoder.features, queries = queries ?? Array(0..<features)
        // Keys per shared pass: its candidate lists hold queries x keys slots (8 bytes each, twice).
        let unionLimit = min(256, (256 << 20) / max(1, queries.count * 24))
        var proximities: [[Float]] = []
        var start = 0
        while start < sets.count {
            var union = Set(sets[start]), end = start + 1
            while end < sets.count, union.union(sets[end]).count <= unionLimit { union.formUnion(sets[end]); end += 1 }
            if end == start + 1 {
                proximities.append(try ToxicProximity.compute(decoder: decoder, toxic: sets[start], engines: engines,
                                                              memoryBudget: memoryBudget, norms: norms, queries: queries).proximity)
                start = end
                continue
            }
            proximities += try SetProximities.compute(Array(sets[start..<end]), decoder: decoder, norms: norms,
                                                      engines: engines, queries: queries, memoryBudget: memoryBudget)
            start = end
        }
        return proximities
    }
}
