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

    /// Overwrites one row of approximate values with `decided` or `undecided`, and lists the
    /// undecided features in `undecided`: EncoderFirstPass's `hi <= level` with `interval`
    /// written out (plain double arithmetic the compiler can keep in registers). A NaN or
    /// infinite value, bias or end (v - v is then not 0; an infinite bound makes hi infinite) is
    /// never decided.
    func decide(_ line: UnsafeMutablePointer<Float>, row x: BFloat16.RowNorms, undecided: inout [Int32]) {
        let terms = EncoderFirstPass.RowTerms(x, gamma: gamma, dimension: dimension)
        rounded.withUnsafeBufferPointer { rounded in
            error.withUnsafeBufferPointer { error in
                bias.withUnsafeBufferPointer { bias in
                    level.withUnsafeBufferPointer { level in
                        // Two passes: the decisions alone (no branch, no append: vector code),
                        // then the few undecided features listed by a scan for the NaN marks.
                        let decided = EncoderFirstPass.decided, open = EncoderFirstPass.undecided
                        for j in 0..<rounded.count {
                            let a = Double(line[j]), b = Double(bias[j])
                            let beta = terms.rounded * rounded[j] + terms.error * error[j] + terms.floor
                            let hi = a + b + (beta + 0x1p-22 * (abs(a) + abs(b) + beta) + 0x1p-120)
                            let certain = (hi <= level[j]) && (a - a == 0) && (b - b == 0) && (hi - hi == 0)
                            line[j] = certain ? decided : open
                        }
                        for j in 0..<rounded.count where line[j].isNaN { undecided.append(Int32(j)) }
                    }
                }
            }
        }
    }
}
