import Foundation

/// Finite through: a bound on every pre-activation of a token row, checked on the host for each
/// chunk before any device sees it, so that no pre-activation, activation or sum of them can
/// leave float32's range on any backend (finite activations near 3e38 used to give NaN scores on
/// OpenCL, whose sums are float32, and finite ones on the CPU, whose are float64).
///
/// Why the bound holds: for feature f, `pre_f = sum_i x'_i W[f, i] + b_f`, and by Cauchy-Schwarz
/// every partial sum of that dot product, in any order, is at most |x'| |W[f]| in magnitude;
/// float32 rounding adds a relative d 2^-24 at most (tiny next to the headroom below). A gated
/// magnitude `product exp(r_mag) + b_mag` is bounded the same way with the gain |W[f]| exp(r_mag).
/// So with `gain` the largest such factor and `offset` the largest bias, every |pre| and every
/// activation is at most `|x'| gain + offset`. A row whose bound stays within `limit` = 2^64 makes
/// activations of at most about 2^64, and a float32 sum of fewer than 2^63 of them (a sample's
/// tokens x features on a device, a chunk's per-feature totals) stays below float32's 2^128; the
/// float64 sums and statistics built from them stay far inside float64. A row beyond the limit is
/// refused, naming its sample: real residual streams stay within 1e6 in norm, 13 orders below it,
/// so the limit only meets activations that are mis-scaled or corrupt.
struct EncoderRange: Sendable {
    /// The largest factor from |x'| to a pre-activation (or gated magnitude), and its feature.
    let gain: Double
    let gainFeature: Int
    /// The largest |bias| added after the product (b_enc; b_mag for a gated magnitude).
    let offset: Double

    static let limit: Double = 0x1p64

    /// - Parameters:
    ///   - norms: |W_enc[f]| per feature (FiniteTensors.featureNorms).
    ///   - magnitudeScale: a gated encoder's exp(r_mag) per feature.
    init(norms: [Double], bias: [Float], magnitudeScale: [Float]?, magnitudeBias: [Float]?) {
        var gain = 0.0, feature = 0
        for f in norms.indices {
            let g = norms[f] * max(1, Double(magnitudeScale?[f] ?? 1))
            if g > gain { gain = g; feature = f }
        }
        self.gain = gain
        gainFeature = feature
        offset = max(bias.map { Double(abs($0)) }.max() ?? 0, magnitudeBias?.map { Double(abs($0)) }.max() ?? 0)
    }

    /// Checks every row of a chunk (`rows` x `dimension`, as the engines get it) against the limit,
    /// on all cores. Rows made all NaN by --skip-nonfinite are skipped: they activate nothing.
    /// - Parameters:
    ///   - rowStarts: the chunk's samples' rows, from 0; `firstSample` is the chunk's first sample.
    func check(_ x: [Float], rows: Int, dimension d: Int, rowStarts: [Int], firstSample: Int, firstRow: Int,
               skippingNaN: Bool, path: String) throws {
        var norms = [Double](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xs in
            norms.withUnsafeMutableBufferPointer { out in
                let input = UnsafeSendablePointer(xs.baseAddress!), base = UnsafeSendablePointer(out.baseAddress!)
                parallelChunks(rows) { range in
                    for r in range { base.pointer[r] = Exact.norm(input.pointer + r * d, count: d) }
                }
            }
        }
        let limit = Self.limit, gain = gain, offset = offset
        guard let r = norms.indices.first(where: { r in
            let norm = norms[r]
            if norm.isNaN, skippingNaN { return false }
            return !(norm * gain + offset <= limit)
        }) else { return }
        let s = (rowStarts.lastIndex { $0 <= r } ?? 0)
        let bound = norms[r] * gain + offset
        throw SaegeoError.badInput("\(path): sample \(firstSample + s)'s activations are too large for the encoder: token row \(firstRow + r) has norm \(Float(norms[r])) (after the checkpoint's scaling and b_dec) and W_enc's largest row norm is \(Float(gain)) (feature \(gainFeature)), so its pre-activations can reach \(Float(bound)), past \(Float(limit)), beyond which float32 sums can overflow; check the activations' scale")
    }
}
