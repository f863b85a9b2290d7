import CBFloat16

/// bfloat16 rounding (to nearest, ties to even, as the hardware does), in plain C so that every
/// test of the certified path runs the same rounding on any CPU.
enum BFloat16 {
    /// The unit roundoff of bfloat16 (8 significant bits): |x - round(x)| <= 2^-8 |x|.
    static let unitRoundoff = 0x1p-8

    /// One row rounded: the bits for the native product, the rounded values as floats for the
    /// portable one, and the row's norms (of the rounded values and of the rounding errors).
    struct RowNorms: Sendable, Equatable {
        /// ||round(x)||, computed in double.
        var rounded: Double
        /// ||x - round(x)||, computed in double (each error is exact in float).
        var error: Double
    }

    /// Rounds `count` floats at `source` (every `stride`-th) into `bits` and/or `rounded`.
    @discardableResult
    static func round(_ source: UnsafePointer<Float>, count: Int, stride: Int = 1,
                      bits: UnsafeMutablePointer<UInt16>?, rounded: UnsafeMutablePointer<Float>?) -> RowNorms {
        var sums = (0.0, 0.0)
        withUnsafeMutablePointer(to: &sums) { pair in
            pair.withMemoryRebound(to: Double.self, capacity: 2) { norms in
                saegeo_bf16_round_strided(source, count, stride, bits, rounded, norms)
            }
        }
        return RowNorms(rounded: sums.0.squareRoot(), error: sums.1.squareRoot())
    }

    /// One value rounded, as a float (tests and the bound's checks).
    static func rounded(_ value: Float) -> Float {
        var input = value, output: Float = 0
        round(&input, count: 1, bits: nil, rounded: &output)
        return output
    }
}
