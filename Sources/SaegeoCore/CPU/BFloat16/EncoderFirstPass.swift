import Foundation

/// What the certified bfloat16 first pass decides about one (row, feature) pair of an encoder
/// tile, and why the float32 path would decide the same.
///
/// Let x be the row and w the feature's encoder vector (float32, as the float32 path multiplies
/// them), a the first pass's value x' . w' (BFloat16Product) and p any float32 evaluation of x . w
/// (OpenBLAS's sgemm of the float32 path, or the fixed-order recompute below), b the bias.
///   |a - x . w| <= dotBound(x, w)                          (BFloat16Bound (1)-(3))
///   |p - x . w| <= gamma_d ||x|| ||w||,  ||x|| <= ||x'|| + ||e||   (any order of d float additions)
/// so p lies in [a - beta, a + beta] with beta the sum of the two (`bound`). The float32 path
/// activates fl(p + b); rounding to nearest is monotone, so fl(p + b) lies in
/// [fl(a - beta + b), fl(a + beta + b)], and each end is within 2^-24 of its real value relative
/// (or 2^-149 absolute near zero). `interval` widens beta by 2^-22 (|a| + |b| + beta) + 2^-120,
/// which covers that rounding, the two double additions that form the ends, and leaves the ends
/// strictly apart from what they bound; so the activated value v = fl(p + b) satisfies
///   lo < v < hi   (lo, hi in double).                                                 (4)
/// Decisions:
/// - ReLU, gated (gate `v > 0`), JumpReLU (`v > 0 && v > threshold`): hi <= t, t = 0 or
///   max(0, threshold), gives v <= t: inactive on the float32 path whatever its summation order.
/// - TopK: with L the K-th largest lo of the token's features in the tile, a feature with
///   hi < L has K features whose value is strictly larger, so no order or tie rule selects it;
///   GroupMax likewise with L the largest lo of its group in the tile. A feature with hi <= 0
///   activates to relu(v) = 0 whatever is selected.
/// Everything else (and anything with a non-finite a or beta) is recomputed exactly in float32.
enum EncoderFirstPass {
    /// The entry of a pre-activation tile for a pair the first pass decided inactive: -inf plus
    /// any finite bias is -inf, which no activation passes and no selection keeps.
    static let decided = -Float.infinity
    /// The entry for a pair the exact path recomputes (overwritten before anything reads it).
    static let undecided = Float.nan

    /// beta: |a - p| for every float32 evaluation p of x . w.
    @inline(__always)
    static func bound(_ x: BFloat16.RowNorms, _ w: BFloat16.RowNorms, gamma: Double, dimension d: Int) -> Double {
        RowTerms(x, gamma: gamma, dimension: d).bound(w)
    }

    /// beta as a linear function of the feature's norms for one row x, the form the hot loop
    /// evaluates: with r, e the norms of x' and of its rounding errors, and gamma = gamma_d,
    ///   dotBound + gamma ||x|| ||w||
    ///   <= [e ||w'|| + r ||f|| + e ||f|| + gamma r ||w'|| + gamma (r + e)(||w'|| + ||f||)] (1 + 2^-30)
    ///      + 2d 2^-126
    ///   =  [A ||w'|| + B ||f||] (1 + 2^-30) + 2d 2^-126,
    ///   A = e + gamma r + gamma (r + e),  B = r + e + gamma (r + e).
    /// Evaluating it in double adds a few units of 2^-53 relative, covered by using 1 + 2^-29.
    struct RowTerms {
        let rounded: Double
        let error: Double
        let floor: Double

        @inline(__always)
        init(_ x: BFloat16.RowNorms, gamma: Double, dimension d: Int) {
            let norm = x.rounded + x.error
            rounded = (x.error + gamma * x.rounded + gamma * norm) * (1 + 0x1p-29)
            error = (norm + gamma * norm) * (1 + 0x1p-29)
            floor = Double(2 * d) * 0x1p-126
        }

        @inline(__always)
        func bound(_ w: BFloat16.RowNorms) -> Double { bound(rounded: w.rounded, error: w.error) }

        @inline(__always)
        func bound(rounded wRounded: Double, error wError: Double) -> Double {
            rounded * wRounded + error * wError + floor
        }
    }

    /// (lo, hi) of (4), or nil when they are not finite (the pair is then recomputed).
    @inline(__always)
    static func interval(approximate a: Float, bias b: Float, bound beta: Double) -> (lo: Double, hi: Double)? {
        guard a.isFinite, b.isFinite, beta.isFinite else { return nil }
        let a = Double(a), b = Double(b)
        let width = beta + 0x1p-22 * (abs(a) + abs(b) + beta) + 0x1p-120
        let lo = a + b - width, hi = a + b + width
        guard lo.isFinite, hi.isFinite else { return nil }
        return (lo, hi)
    }

    /// The level at or below which a feature's activated value is inactive (0 for ReLU and the
    /// gate, max(0, threshold) for JumpReLU), nil when none is certain (a NaN threshold).
    @inline(__always)
    static func level(threshold: Float?) -> Double? {
        guard let threshold else { return 0 }
        guard !threshold.isNaN else { return nil }
        return max(0, Double(threshold))
    }
}
