/// The proven error of a bfloat16 product, the one fact the certified first pass relies on.
///
/// Let x, y be float vectors of dimension d (the values the float32 path multiplies), x' and y'
/// their bfloat16 roundings (BFloat16.round), and e = x - x', f = y - y' (each exact in float).
/// In real arithmetic
///     x . y = x' . y' + e . y' + x' . f + e . f,
/// so by Cauchy-Schwarz
///     |x . y - x' . y'| <= ||e|| ||y'|| + ||x'|| ||f|| + ||e|| ||f||.                      (1)
/// The first pass computes a = x' . y' in float (products of two bfloat16 values are exact in
/// float: 8 + 8 significant bits), summed in some order by the kernel (oneDNN's blocking, the
/// hardware's pairwise VDPBF16PS, or OpenBLAS's for the portable product). Any order of d
/// additions, each rounded to nearest with unit roundoff u = 2^-24, is within
///     gamma_d sum |x'_i y'_i| <= gamma_d ||x'|| ||y'||,   gamma_d = d u / (1 - d u).          (2)
/// The hardware may flush subnormal inputs, products and sums to zero (DAZ/FTZ): each flush
/// moves the sum by less than 2^-126, at most 2d of them.                                  (3)
/// The norms are summed in double from float values: relative error below (d + 2) 2^-53, covered
/// by the factor 1 + 2^-30. A product that overflows gives an infinite or NaN `a`, which the
/// first pass never uses to decide anything (the callers check `isFinite`).
///
/// So |a - x . y| <= dotBound(...) below. How tight it is: for unit rows the terms of (1) are
/// about 2 ||e|| ~ 2.6e-3 at d = 2304 (the rounding errors' norm is about 2^-8 / sqrt(3) ~
/// 2.3e-3 of the row's at worst, 1.3e-3 typically), against the 2^-7 = 7.8e-3 of the textbook
/// worst case 2 u_bf16; the observed largest error is ~2.3e-4 (docs/internals.md).
enum BFloat16Bound {
    static let floatRoundoff = 0x1p-24

    /// gamma_d of (2).
    static func gamma(_ d: Int) -> Double {
        let du = Double(d) * floatRoundoff
        return du / (1 - du)
    }

    /// The bound on |a - x . y| of (1) + (2) + (3), from the rows' norms (BFloat16.round).
    static func dotBound(_ x: BFloat16.RowNorms, _ y: BFloat16.RowNorms, dimension d: Int) -> Double {
        let rounding = x.error * y.rounded + x.rounded * y.error + x.error * y.error
        let summation = gamma(d) * x.rounded * y.rounded
        return (rounding + summation) * (1 + 0x1p-30) + Double(2 * d) * 0x1p-126
    }

    /// The bound on |a - cosine| for row x against every row y whose norms are at most `largest`
    /// (each of the two norms the largest over the rows, not necessarily of one row; the bound
    /// grows with both). For unit rows (`UnitRows`, float32 values of v / ||v||) against
    /// the exact cosine of the original rows: (1)-(3) plus what ExactRanking.errorBound allows the
    /// float32 unit rows themselves beyond their own summation (6 u, with its margin).
    static func cosineBound(_ x: BFloat16.RowNorms, againstAtMost largest: BFloat16.RowNorms, dimension d: Int) -> Double {
        dotBound(x, largest, dimension: d) + 6 * floatRoundoff * 1.01 + 1e-12
    }
}

extension BFloat16.RowNorms {
    /// The largest of each norm over two rows (the running maxima of a set of keys).
    func atLeast(_ other: BFloat16.RowNorms) -> BFloat16.RowNorms {
        BFloat16.RowNorms(rounded: max(rounded, other.rounded), error: max(error, other.error))
    }

    static let zero = BFloat16.RowNorms(rounded: 0, error: 0)
}
