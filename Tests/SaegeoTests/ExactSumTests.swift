import Foundation
import Testing
@testable import SaegeoCore

/// ExactSum and FeatureMass: the sum is exact and rounded once, so it does not depend on the order
/// or grouping of its terms (how merge reproduces a single run's dataset summary bit for bit).
struct ExactSumTests {
    /// Terms m * 2^e with |m| < 2^52 and e in -40...20: their exact sum, scaled by 2^40, is an
    /// integer of fewer than 126 bits, so Int128 holds it and one conversion rounds it to nearest.
    static func terms(_ count: Int, seed: UInt64) -> [Double] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let mantissa = Double(Int64(bitPattern: rng.next()) >> 12)
            let exponent = Int(rng.next() % 61) - 40
            return (rng.next() % 7 == 0 ? -1 : 1) * abs(mantissa) * pow(2.0, Double(exponent))
        }
    }

    static func reference(_ terms: [Double]) -> Double {
        let scaled = terms.reduce(Int128(0)) { $0 + Int128($1 * pow(2.0, 40)) }
        return Double(scaled) / pow(2.0, 40)
    }

    @Test("the exact sum equals the correctly rounded sum, in any order and grouping", arguments: [1, 2, 17, 1000, 4099])
    func exact(_ count: Int) {
        let terms = Self.terms(count, seed: UInt64(count))
        let expected = Self.reference(terms)
        var rng = SeededGenerator(seed: 99)
        for _ in 0..<5 {
            var shuffled = terms
            for i in shuffled.indices.reversed() { shuffled.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            // Split into groups summed on their own and then added (shards, chunks).
            let cut = count > 2 ? Int(rng.next() % UInt64(count)) : 0
            var left = ExactSum(), right = ExactSum()
            for term in shuffled[..<cut] { left.add(term) }
            for term in shuffled[cut...] { right.add(term) }
            left.add(right)
            #expect(left.value == expected)
        }
        // Where it matters: a float64 loop over the same terms in another order is not exact.
        if count == 4099 { #expect(terms.reduce(0, +) != terms.reversed().reduce(0, +) || terms.reduce(0, +) != expected) }
    }

    @Test("ties and cancellation round like math.fsum")
    func ties() {
        var sum = ExactSum()
        // 1 + 2^-53 + 2^-106: just above the tie, rounds up (a plain loop gets 1).
        for term in [1.0, pow(2.0, -53), pow(2.0, -106)] { sum.add(term) }
        #expect(sum.value == 1 + pow(2.0, -52))
        var cancel = ExactSum()
        for term in [1e100, 1.0, -1e100, 1e-100] { cancel.add(term) }
        #expect(cancel.value == 1.0)
        #expect(ExactSum().value == 0)
    }

    @Test("a feature mass carried as (feature, partial) pairs adds back to the same values")
    func featureMassRoundTrip() {
        let features = 37
        var a = FeatureMass(features: features), b = FeatureMass(features: features), whole = FeatureMass(features: features)
        for (i, term) in Self.terms(2000, seed: 5).enumerated() {
            let f = (i * 7) % features
            if i % 3 == 0 { a.add(term, to: f) } else { b.add(term, to: f) }
            whole.add(term, to: f)
        }
        var carried = FeatureMass(features: features)
        let entries = a.entries
        let added = carried.add(features: entries.features, partials: entries.partials)
        #expect(added)
        carried.add(b)
        #expect(carried.values == whole.values)
        let outOfRange = carried.add(features: [Int64(features)], partials: [1])
        let notFinite = carried.add(features: [0], partials: [.nan])
        #expect(!outOfRange && !notFinite)
    }
}
