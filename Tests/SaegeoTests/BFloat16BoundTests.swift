import Foundation
import Testing
@testable import SaegeoCore

/// The one fact the certified bfloat16 first pass relies on (BFloat16Bound): every entry of the
/// bfloat16 product is within dotBound of the exact dot of the float rows, for both products
/// (oneDNN's where this CPU has the instructions, and the portable one everywhere).
struct BFloat16BoundTests {
    static var products: [BFloat16Product] { BFloat16Product.best == .native ? [.portable, .native] : [.portable] }

    /// Rows rounded as the engine rounds them, multiplied by `product` (A Bᵀ), each entry checked
    /// against the float64 dot of the original rows; returns the largest error / bound seen.
    @discardableResult
    static func check(_ a: [Float], _ b: [Float], m: Int, n: Int, d: Int, product: BFloat16Product,
                      _ comment: Comment) throws -> Double {
        func round(_ x: [Float], rows: Int) -> (bits: [UInt16], floats: [Float], norms: [BFloat16.RowNorms]) {
            var bits = [UInt16](repeating: 0, count: rows * d), floats = [Float](repeating: 0, count: rows * d)
            let norms = (0..<rows).map { r in
                x.withUnsafeBufferPointer { source in
                    BFloat16.round(source.baseAddress! + r * d, count: d, bits: &bits[r * d], rounded: &floats[r * d])
                }
            }
            return (bits, floats, norms)
        }
        let x = round(a, rows: m), y = round(b, rows: n)
        var c = [Float](repeating: .nan, count: m * n)
        if product.holdsBits {
            try product.multiply(m: m, n: n, k: d, a: x.bits, lda: d, b: y.bits, ldb: d, c: &c, ldc: n, transposedB: true)
        } else {
            try product.multiply(m: m, n: n, k: d, a: x.floats, lda: d, b: y.floats, ldb: d, c: &c, ldc: n, transposedB: true)
        }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var exact = 0.0
                for t in 0..<d { exact += Double(a[i * d + t]) * Double(b[j * d + t]) }
                let bound = BFloat16Bound.dotBound(x.norms[i], y.norms[j], dimension: d)
                let error = abs(Double(c[i * n + j]) - exact)
                #expect(error <= bound, "\(comment) \(product) (\(i), \(j)): error \(error) > bound \(bound)")
                worst = max(worst, error / bound)
            }
        }
        return worst
    }

    @Test("random rows of awkward sizes: every entry within the bound", arguments: products)
    func randomRows(product: BFloat16Product) throws {
        var rng = SeededGenerator(seed: 25)
        for (m, n, d) in [(1, 1, 1), (7, 5, 3), (13, 11, 67), (33, 17, 301), (5, 9, 2304), (64, 3, 1000)] {
            let a = (0..<(m * d)).map { _ in Float(rng.gaussian()) }
            let b = (0..<(n * d)).map { _ in Float(rng.gaussian()) * 0.01 }
            try Self.check(a, b, m: m, n: n, d: d, product: product, "random \(m)x\(n)x\(d)")
        }
    }

    @Test("every element rounding the same way by nearly half an ulp: the bound is reached, not exceeded",
          arguments: products)
    func coherentRounding(product: BFloat16Product) throws {
        // 1 + 2^-8 - 2^-23 rounds down to 1 by almost half of bfloat16's ulp 2^-7: all errors add up.
        let down = Float(1) + 0x1p-8 - 0x1p-23, up = Float(1) + 0x1p-8 + 0x1p-23
        for d in [1, 17, 256, 2304] {
            for (x, y) in [(down, down), (up, up), (down, up), (-down, up)] {
                let worst = try Self.check([Float](repeating: x, count: d), [Float](repeating: y, count: d), m: 1, n: 1, d: d,
                                           product: product, "coherent d \(d)")
                // The rounding terms are the whole error here: the bound is tight within 1%
                // (a bound half as large would fail this test).
                if x == y { #expect(worst > 0.97, "d \(d): error only \(worst) of the bound") }
            }
        }
    }

    @Test("huge and tiny magnitudes, mixed within rows, subnormal products", arguments: products)
    func magnitudes(product: BFloat16Product) throws {
        var rng = SeededGenerator(seed: 7)
        let d = 129
        let down = Float(1) + 0x1p-8 - 0x1p-23
        for (scaleA, scaleB): (Float, Float) in [(0x1p60, 0x1p-60), (0x1p-62, 0x1p-62), (0x1p-70, 0x1p-60), (0x1p40, 0x1p40)] {
            var a: [Float] = [], b: [Float] = []
            for row in 0..<6 {
                for i in 0..<d {
                    // Mixed magnitudes inside a row, near-half-ulp mantissas, some exact zeros.
                    let wide = Float(sign: .plus, exponent: (i % 5) * 8 - 16, significand: 1)
                    let mantissa = row % 2 == 0 ? down : Float(1 + abs(rng.gaussian()))
                    a.append(i % 11 == 0 ? 0 : scaleA * wide * mantissa)
                    b.append(scaleB * wide * (row % 3 == 0 ? down : Float(rng.gaussian())))
                }
            }
            try Self.check(a, b, m: 6, n: 6, d: d, product: product, "scales \(scaleA) \(scaleB)")
        }
    }

    @Test("the portable rounding rounds to nearest, ties to even, as the hardware does")
    func roundingMatchesDefinition() {
        #expect(BFloat16.rounded(1 + 0x1p-8) == 1)                  // a tie: to even (1)
        #expect(BFloat16.rounded(1 + 0x1p-7 + 0x1p-8) == 1 + 0x1p-6) // a tie: to even (1 + 2^-6)
        #expect(BFloat16.rounded(1 + 0x1p-8 + 0x1p-23) == 1 + 0x1p-7)
        #expect(BFloat16.rounded(-(1 + 0x1p-8 - 0x1p-23)) == -1)
        #expect(BFloat16.rounded(0) == 0 && BFloat16.rounded(.infinity) == .infinity)
    }
}
