import CBFloat16
import Foundation
import Testing
@testable import SaegeoCore

/// The first pass's C kernels (vector clones of plain loops) against their definitions written
/// plainly in Swift: the same bits, on awkward lengths, with NaN, infinities, subnormals and
/// values at the decision's edge.
struct BFloat16KernelTests {
    /// saegeo_exact_dot_f32's documented order: lanes l of two 16-lane accumulators of fused
    /// multiply-adds over blocks of 32, the lanes summed in order from -0, then the rest fused.
    static func referenceDot(_ x: [Float], _ y: [Float]) -> Float {
        var s0 = [Float](repeating: 0, count: 16), s1 = [Float](repeating: 0, count: 16)
        var i = 0
        while i + 32 <= x.count {
            for l in 0..<16 {
                s0[l] = s0[l].addingProduct(x[i + l], y[i + l])
                s1[l] = s1[l].addingProduct(x[i + 16 + l], y[i + 16 + l])
            }
            i += 32
        }
        var total: Float = -0.0
        for l in 0..<16 { total += s0[l] + s1[l] }
        while i < x.count { total = total.addingProduct(x[i], y[i]); i += 1 }
        return total
    }

    @Test("the native product with its B packed once: every entry within the summation bound of the float64 dot, short bands too")
    func packedProduct() throws {
        guard BFloat16Product.best == .native else { return }  // the portable product never packs
        var rng = SeededGenerator(seed: 77)
        for (rowsHint, m, n, k) in [(256, 256, 130, 67), (64, 37, 17, 2304), (8, 3, 300, 5)] {
            let a = (0..<(m * k)).map { _ in BFloat16.rounded(Float(rng.gaussian())) }
            let b = (0..<(n * k)).map { _ in BFloat16.rounded(Float(rng.gaussian()) * 1e3) }
            let aBits = a.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }, bBits = b.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
            let packed = try #require(bBits.withUnsafeBytes { BFloat16Product.native.packed(n: n, k: k, b: $0.baseAddress!, ldb: k, rows: rowsHint) })
            var c = [Float](repeating: .nan, count: m * n)
            try aBits.withUnsafeBytes { a in
                try c.withUnsafeMutableBufferPointer { try BFloat16Product.native.multiply(m: m, a: a.baseAddress!, lda: k, packed: packed, c: $0.baseAddress!, ldc: n) }
            }
            for r in 0..<m {
                for j in 0..<n {
                    var exact = 0.0, magnitude = 0.0
                    for i in 0..<k {
                        exact += Double(a[r * k + i]) * Double(b[j * k + i])
                        magnitude += abs(Double(a[r * k + i]) * Double(b[j * k + i]))
                    }
                    #expect(abs(Double(c[r * n + j]) - exact) <= BFloat16Bound.gamma(k) * magnitude * 1.001,
                            "\(m) x \(n) x \(k): entry (\(r), \(j)) \(c[r * n + j]) against \(exact)")
                }
            }
        }
    }

    @Test("the exact float32 dot gives its documented order's bits on every length")
    func exactDot() {
        var rng = SeededGenerator(seed: 77)
        for n in [0, 1, 15, 31, 32, 33, 67, 301, 2304, 2311] {
            // Magnitudes spread over 2^±20, so that the order of the additions shows in the bits.
            let x = (0..<n).map { _ in Float(rng.gaussian()) * Float(pow(2.0, Double(Int(rng.next() % 41) - 20))) }
            let y = (0..<n).map { _ in Float(rng.gaussian()) }
            let dot = saegeo_exact_dot_f32(x, y, n)
            #expect(dot.bitPattern == Self.referenceDot(x, y).bitPattern, "n \(n): \(dot) against \(Self.referenceDot(x, y))")
            // And ExactFloat32 is that kernel.
            #expect(ExactFloat32.dot(x, y, count: n).bitPattern == dot.bitPattern)
        }
    }

    @Test("level decisions: every value decided as the formula written plainly decides it, marks listed in order")
    func levelDecisions() {
        var rng = SeededGenerator(seed: 78)
        let decided = EncoderFirstPass.decided, open = EncoderFirstPass.undecided
        for n in [1, 7, 16, 17, 100, 1003] {
            let rounded = (0..<n).map { _ in abs(rng.gaussian()) }, error = (0..<n).map { _ in abs(rng.gaussian()) * 1e-3 }
            let special: [Float] = [.nan, .infinity, -.infinity, .leastNonzeroMagnitude, -.greatestFiniteMagnitude, 0]
            func value() -> Float {
                rng.next() % 9 == 0 ? special[Int(rng.next() % UInt64(special.count))] : Float(rng.gaussian())
            }
            let bias = (0..<n).map { _ in value() }
            let approximate = (0..<n).map { _ in value() }
            // Levels at the pair's own edge as often as not: exactly hi, or one ulp either side.
            let terms = (rounded: 0.37, error: 1.9, floor: Double(2 * 64) * 0x1p-126)
            func hi(_ j: Int) -> Double {
                let a = Double(approximate[j]), b = Double(bias[j])
                let beta = terms.rounded * rounded[j] + terms.error * error[j] + terms.floor
                return a + b + (beta + 0x1p-22 * (abs(a) + abs(b) + beta) + 0x1p-120)
            }
            let level: [Double] = (0..<n).map { j in
                switch rng.next() % 5 {
                case 0: return hi(j)
                case 1: return hi(j).nextUp
                case 2: return hi(j).nextDown
                case 3: return -.infinity
                default: return rng.gaussian()
                }
            }
            var line = approximate
            saegeo_bf16_decide_levels(&line, n, rounded, error, bias, level, terms.rounded, terms.error, terms.floor,
                                      decided, open)
            var expected: [Int32] = []
            for j in 0..<n {
                let a = Double(approximate[j]), b = Double(bias[j]), h = hi(j)
                let certain = h <= level[j] && a.isFinite && b.isFinite && h.isFinite
                #expect(certain ? line[j] == decided : line[j].isNaN, "n \(n) j \(j): a \(a) b \(b) hi \(h) level \(level[j])")
                if !certain { expected.append(Int32(j)) }
            }
            var marks: [Int32] = []
            line.withUnsafeBufferPointer { LevelDecisions.listMarks($0.baseAddress!, count: n, into: &marks) }
            #expect(marks == expected, "n \(n)")
        }
    }
}
