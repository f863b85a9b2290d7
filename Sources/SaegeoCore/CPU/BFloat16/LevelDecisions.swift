/// The first pass's decisions for ReLU, JumpReLU and the gate (EncoderFirstPass: a pair whose
/// upper end hi is at most its feature's level is inactive), the hot loop of the bfloat16 path:
/// each feature's norms, bias and level gathered once per tile into plain arrays, each row's
/// terms of the bound computed once (EncoderFirstPass.RowTerms).
struct LevelDecisions: Sendable {
    private let rounded: [Double]
    private let error: [Double]
    private let bias: [Float]
    /// -inf where no level is certain (a NaN threshold): nothing is at most -inf.
    private let level: [Double]
    private let gamma: Double
    private let dimension: Int

    init(_ tile: EncoderTile, norms: [BFloat16.RowNorms], dimension d: Int) {
        let features = tile.features, jump = tile.activation == .jumpReLU
        rounded = norms.map(\.rounded)
        error = norms.map(\.error)
        bias = Array(tile.bias[features])
        level = features.map { f in EncoderFirstPass.level(threshold: jump ? tile.thresholds![f] : nil) ?? -.infinity }
        gamma = BFloat16Bound.gamma(d)
        dimension = d
    }

    /// Overwrites one row of approximate values with `decided` or `undecided`.
    func decide(_ line: UnsafeMutablePointer<Float>, row x: BFloat16.RowNorms) {
        let terms = EncoderFirstPass.RowTerms(x, gamma: gamma, dimension: dimension)
        rounded.withUnsafeBufferPointer { rounded in
            error.withUnsafeBufferPointer { error in
                bias.withUnsafeBufferPointer { bias in
                    level.withUnsafeBufferPointer { level in
                        for j in 0..<rounded.count {
                            let beta = terms.bound(rounded: rounded[j], error: error[j])
                            let decided = EncoderFirstPass.interval(approximate: line[j], bias: bias[j], bound: beta)
                                .map { $0.hi <= level[j] } ?? false
                            line[j] = decided ? EncoderFirstPass.decided : EncoderFirstPass.undecided
                        }
                    }
                }
            }
        }
    }
}
