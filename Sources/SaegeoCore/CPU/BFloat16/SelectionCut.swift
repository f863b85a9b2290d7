/// The cut of one token's TopK or GroupMax selection within a tile, from the lower ends of its
/// features' intervals (EncoderFirstPass (4)): a feature whose upper end is below `level` has K
/// features (TopK), or one of its group (GroupMax), whose float32 value is strictly larger, so the
/// selection cannot keep it. Ties at the level stay candidates.
struct SelectionCut {
    /// TopK: the K-th largest lower end (-inf with fewer than K features).
    private var topK = -Double.infinity
    /// GroupMax: the largest lower end of each group the tile touches, from `firstGroup`.
    private var groupLevels: [Double] = []
    private var firstGroup = 0
    private let groupSize: Int

    /// `lows`: the lower end of each feature of `features` (-inf where none is certain).
    init(_ selection: TopKState, features: Range<Int>, lows: [Double]) {
        groupSize = selection.groupSize
        if groupSize > 0 {
            firstGroup = features.lowerBound / groupSize
            let lastGroup = (features.upperBound - 1) / groupSize
            groupLevels = [Double](repeating: -.infinity, count: lastGroup - firstGroup + 1)
            for (j, low) in lows.enumerated() {
                let g = (features.lowerBound + j) / groupSize - firstGroup
                groupLevels[g] = max(groupLevels[g], low)
            }
        } else {
            topK = Self.largest(selection.k, of: lows)
        }
    }

    /// The level feature `f`'s upper end must reach to stay a candidate.
    func level(_ f: Int) -> Double {
        groupSize > 0 ? groupLevels[f / groupSize - firstGroup] : topK
    }

    /// The k-th largest of `values` other than -inf, or -inf with fewer than k of them.
    static func largest(_ k: Int, of values: [Double]) -> Double {
        guard k > 0, values.count >= k else { return -.infinity }
        var best = KBestScores(k: k)
        for value in values where value > -.infinity { best.insert(value) }
        return best.kth ?? -.infinity
    }
}
