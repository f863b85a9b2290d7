/// Toxic proximity of every feature (DESIGN.md): p_f = max over toxic t of cos(f, t), computed by
/// the neighbour search with the toxic set as keys and k = 1; p_t = 1 for a live toxic feature
/// (the search excludes self), 0 for a dead feature.
public enum ToxicProximity {
    public struct Result: Sendable {
        public let proximity: [Float]
        /// The nearest toxic feature of each feature (itself for a toxic one), -1 when none.
        public let nearestToxic: [Int]
    }

    /// - Parameters:
    ///   - norms: the decoder's norms of every feature, when already computed.
    ///   - queries: the features whose proximity is wanted (default all; the others stay 0).
    public static func compute(decoder: FeatureMatrix, toxic: [Int], engines: [ComputeEngine],
                               memoryBudget: Int? = nil, norms: FeatureNorms? = nil, queries: [Int]? = nil,
                               cancellation: Cancellation = Cancellation()) throws -> Result {
        let features = decoder.features, queries = queries ?? Array(0..<features)
        var search = try NeighborSearch(dictionary: decoder, queries: queries, keys: toxic, k: 1,
                                        memoryBudget: memoryBudget)
        search.norms = norms
        let result = try search.run(on: engines, cancellation: cancellation)
        var proximity = [Float](repeating: 0, count: features)
        var nearest = [Int](repeating: -1, count: features)
        for (row, f) in queries.enumerated() where result.indices[row] >= 0 {
            proximity[f] = result.scores[row]
            nearest[f] = Int(result.indices[row])
        }
        let toxicNorms = norms ?? FeatureNorms(of: decoder, features: toxic)
        for t in Set(toxic) where toxicNorms.isLive(t) {
            proximity[t] = 1
            nearest[t] = t
        }
        return Result(proximity: proximity, nearestToxic: nearest)
    }
}
