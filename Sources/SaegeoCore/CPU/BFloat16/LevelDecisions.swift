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

    /// Overwrites one row of approximate values with `decided` or `undecided`: EncoderFirstPass's
    /// `hi <= level` with `interval` written out, eight features at a time in double. A NaN or
    /// infinite value, bias, bound or end (v - v is then not 0) is never decided.
    func decide(_ line: UnsafeMutablePointer<Float>, row x: BFloat16.RowNorms) {
        let terms = EncoderFirstPass.RowTerms(x, gamma: gamma, dimension: dimension)
        rounded.withUnsafeBufferPointer { rounded in
            error.withUnsafeBufferPointer { error in
                bias.withUnsafeBufferPointer { bias in
                    level.withUnsafeBufferPointer { level in
                        let width = rounded.count
                        var j = 0
                        @inline(__always) func load<T>(_ p: UnsafeBufferPointer<T>, _ j: Int, as: SIMD8<T>.Type) -> SIMD8<T> {
                            UnsafeRawPointer(p.baseAddress! + j).loadUnaligned(as: SIMD8<T>.self)
                        }
                        let zero = SIMD8<Double>(repeating: 0)
                        while j + 8 <= width {
                            let a = SIMD8<Double>(UnsafeRawPointer(line + j).loadUnaligned(as: SIMD8<Float>.self))
                            let b = SIMD8<Double>(load(bias, j, as: SIMD8<Float>.self))
                            let beta = terms.rounded * load(rounded, j, as: SIMD8<Double>.self)
                                + terms.error * load(error, j, as: SIMD8<Double>.self) + terms.floor
                            let magnitude = a.replacing(with: -a, where: a .< zero) + b.replacing(with: -b, where: b .< zero) + beta
                            let hi = a + b + (beta + 0x1p-22 * magnitude + 0x1p-120)
                            let finite = ((a - a) .== zero) .& ((b - b) .== zero) .& ((beta - beta) .== zero) .& ((hi - hi) .== zero)
                            let decided = (hi .<= load(level, j, as: SIMD8<Double>.self)) .& finite
                            for lane in 0..<8 { line[j + lane] = decided[lane] ? EncoderFirstPass.decided : EncoderFirstPass.undecided }
                            j += 8
                        }
                        while j < width {
                            let beta = terms.bound(rounded: rounded[j], error: error[j])
                            let decided = EncoderFirstPass.interval(approximate: line[j], bias: bias[j], bound: beta)
                                .map { $0.hi <= level[j] } ?? false
                            line[j] = decided ? EncoderFirstPass.decided : EncoderFirstPass.undecided
                            j += 1
                        }
                    }
                }
            }
        }
    }
}
