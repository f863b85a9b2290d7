/// A sum of doubles kept exactly, as non-overlapping partials (Shewchuk 1997; the algorithm of
/// Python's `math.fsum`), and rounded once, to nearest, when read. Why exact: the dataset figure
/// adds each feature's activation mass over chunks of samples, and those chunks arrive in the
/// order the devices finish them, in one run, or shard by shard in `merge`. A float sum would
/// depend on that order in its last bits; the exact sum's rounded value does not, so one run on
/// several devices, a resumed run and a merged Slurm array write the same summary, byte for byte.
/// The partials can be carried in a file and added in anywhere: they are the exact sum, whatever
/// their number and order.
struct ExactSum: Sendable, Equatable {
    /// Non-overlapping, increasing in magnitude; their exact sum is the sum of every term added.
    private(set) var partials: [Double] = []

    /// Adds a finite term exactly (a term of 0 changes nothing and is skipped).
    mutating func add(_ term: Double) {
        guard term != 0 else { return }
        var x = term, kept = 0
        for i in partials.indices {
            var y = partials[i]
            if abs(x) < abs(y) { swap(&x, &y) }
            // TwoSum with |x| >= |y|: high + low == x + y exactly.
            let high = x + y, low = y - (high - x)
            if low != 0 {
                partials[kept] = low
                kept += 1
            }
            x = high
        }
        partials.removeSubrange(kept...)
        partials.append(x)
    }

    /// Adds another exact sum (its partials, each exactly).
    mutating func add(_ other: ExactSum) {
        for term in other.partials { add(term) }
    }

    /// The exact sum rounded to the nearest double (ties to even), as `math.fsum` rounds it: the
    /// partials are summed from the largest down until one is lost, and a lost half-ulp is
    /// settled by the sign of the partial below it.
    var value: Double {
        var n = partials.count
        guard n > 0 else { return 0 }
        n -= 1
        var high = partials[n], low = 0.0
        while n > 0 {
            let x = high, y = partials[n - 1]
            n -= 1
            high = x + y
            low = y - (high - x)
            if low != 0 { break }
        }
        if n > 0, (low < 0 && partials[n - 1] < 0) || (low > 0 && partials[n - 1] > 0) {
            let y = low * 2, x = high + y
            if y == x - high { high = x }
        }
        return high
    }
}

/// An exact sum per feature: the dataset's activation mass A_f, order-independent (ExactSum).
public struct FeatureMass: Sendable, Equatable {
    private var sums: [ExactSum]

    public init(features: Int) {
        sums = Array(repeating: ExactSum(), count: features)
    }

    public var features: Int { sums.count }

    mutating func add(_ value: Double, to feature: Int) { sums[feature].add(value) }

    public mutating func add(_ other: FeatureMass) {
        precondition(other.features == features, "feature masses of different widths")
        for f in sums.indices where !other.sums[f].partials.isEmpty { sums[f].add(other.sums[f]) }
    }

    /// Each feature's mass, rounded once.
    public var values: [Double] { sums.map(\.value) }

    /// The partials as (feature, partial) pairs, feature by feature: what a file carries.
    public var entries: (features: [Int64], partials: [Double]) {
        var features: [Int64] = [], partials: [Double] = []
        for (f, sum) in sums.enumerated() {
            for partial in sum.partials {
                features.append(Int64(f))
                partials.append(partial)
            }
        }
        return (features, partials)
    }

    /// Adds (feature, partial) pairs read from a file; false (and nothing sensible added) if a
    /// feature is out of range or a partial is not finite.
    public mutating func add(features: [Int64], partials: [Double]) -> Bool {
        guard features.count == partials.count else { return false }
        for (f, partial) in zip(features, partials) {
            guard f >= 0, f < Int64(sums.count), partial.isFinite else { return false }
            sums[Int(f)].add(partial)
        }
        return true
    }
}
