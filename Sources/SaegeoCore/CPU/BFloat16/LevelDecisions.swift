import CBFloat16

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
    /// written out, in C (saegeo_bf16_decide_levels: the same double operations, in vector
    /// clones Swift's baseline target cannot emit). A NaN or infinite value, bias or end (v - v
    /// is then not 0; an infinite bound makes hi infinite) is never decided.
    func decide(_ line: UnsafeMutablePointer<Float>, row x: BFloat16.RowNorms, undecided: inout [Int32]) {
        let terms = EncoderFirstPass.RowTerms(x, gamma: gamma, dimension: dimension)
        rounded.withUnsafeBufferPointer { rounded in
            error.withUnsafeBufferPointer { error in
                bias.withUnsafeBufferPointer { bias in
                    level.withUnsafeBufferPointer { level in
                        // Two passes: the decisions alone (no branch, no append: vector code),
                        // then the few undecided features listed by a scan for the NaN marks.
                        saegeo_bf16_decide_levels(line, rounded.count, rounded.baseAddress, error.baseAddress, bias.baseAddress,
                                                  level.baseAddress, terms.rounded, terms.error, terms.floor,
                                                  EncoderFirstPass.decided, EncoderFirstPass.undecided)
                    }
                }
            }
        }
        Self.listMarks(line, count: rounded.count, into: &undecided)
    }

    /// Appends the index of every NaN mark in line[0..<count], 16 lanes at a time: almost every
    /// block has none, so a vector compare skips it without a branch per value.
    static func listMarks(_ line: UnsafePointer<Float>, count: Int, into marks: inout [Int32]) {
        var j = 0
        while j + 16 <= count {
            let values = UnsafeRawPointer(line + j).loadUnaligned(as: SIMD16<Float>.self)
            if any(values .!= values) {
                for lane in 0..<16 where values[lane].isNaN { marks.append(Int32(j + lane)) }
            }
            j += 16
        }
        while j < count {
            if line[j].isNaN { marks.append(Int32(j)) }
            j += 1
        }
    }
}
