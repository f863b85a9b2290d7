import Foundation

/// The null of the dataset figure (docs/statistics.md): the dataset's per-feature activation mass
/// A_f moved among the live features by a uniform random permutation, the toxic proximities p_f
/// left where they are. The dictionary's structure around the toxic set (its cluster of
/// near-duplicates) is in every null draw as it is in the observed figure, so it cancels; what is
/// left is whether the dataset puts its own mass on high-p features more than that same mass
/// placed at random would.
///
/// The null's mean and deviation are exact (closed form, below), so z does not depend on how many
/// draws are taken; only the permutation p-value is estimated from draws, and its Monte Carlo
/// error is reported with it.
public enum PermutationNull {
    /// One default for `score --summary` and `contrast --toxic`: with 1000 draws a p-value near
    /// 0.05 has a Monte Carlo error of about 0.007, and the smallest possible p-value (1/1001) is
    /// far below any usual alpha. A draw costs O(activated features), so 1000 are cheap.
    public static let defaultDraws = 1000
    /// The most draws either command takes (a p-value's error shrinks as 1/sqrt(draws)).
    public static let maxDraws = 100_000

    /// The figure with its own mass on its own features: sum_f A_f p_f / sum_f A_f.
    static func weightedMean(_ mass: [Double], _ proximity: [Float]) -> Double {
        var num = 0.0, den = 0.0
        for f in mass.indices where mass[f] > 0 {
            num += mass[f] * Double(proximity[f])
            den += mass[f]
        }
        return den > 0 ? num / den : 0
    }

    /// The exact mean and standard deviation of the figure over all permutations of the mass
    /// among the live features (dead features keep theirs; their p is 0). For a linear
    /// permutation statistic sum_i a_i p_pi(i) over n positions (Hoeffding 1951):
    ///   E = n a_bar p_bar,  Var = (1 / (n - 1)) sum_i (a_i - a_bar)^2 sum_i (p_i - p_bar)^2;
    /// the figure divides that sum by the total mass S, which no permutation changes.
    static func moments(mass: [Double], proximity: [Float], live: [Int]) -> (mean: Double, std: Double) {
        let total = mass.reduce(0) { $0 + max($1, 0) }
        let n = live.count
        guard total > 0, n > 0 else { return (0, 0) }
        var massSum = 0.0, proximitySum = 0.0
        for f in live { massSum += mass[f]; proximitySum += Double(proximity[f]) }
        let massMean = massSum / Double(n), proximityMean = proximitySum / Double(n)
        let mean = Double(n) * massMean * proximityMean / total
        guard n > 1 else { return (mean, 0) }
        var massSquares = 0.0, proximitySquares = 0.0
        for f in live {
            massSquares += (mass[f] - massMean) * (mass[f] - massMean)
            proximitySquares += (Double(proximity[f]) - proximityMean) * (Double(proximity[f]) - proximityMean)
        }
        let variance = massSquares * proximitySquares / Double(n - 1) / (total * total)
        return (mean, variance.squareRoot())
    }

    /// `draws` values of the figure under the null, seeded. Only the live features holding mass
    /// matter: each draw sends their masses to as many distinct live features chosen uniformly
    /// (a partial Fisher-Yates shuffle, undone after the draw, so a draw costs O(massed features)).
    /// The draws run on the host in blocks through the scheduler loop, in draw order (one stream),
    /// so Ctrl-C ends even 100000 draws over a large dictionary at once.
    static func draws(_ draws: Int, mass: [Double], proximity: [Float], live: [Int], seed: UInt64,
                      cancellation: Cancellation = Cancellation()) throws -> [Double] {
        let total = mass.reduce(0) { $0 + max($1, 0) }
        let massed = live.filter { mass[$0] > 0 }.map { mass[$0] }
        guard total > 0, !massed.isEmpty else { return [Double](repeating: 0, count: draws) }
        let values = Locked([Double](repeating: 0, count: draws))
        let loop = SchedulerLoop(items: draws, cancellation: cancellation, batch: { _ in 64 })
        try loop.run(on: [()], start: { _ in Shuffle(positions: live, seed: seed, massed: massed.count) }, item: { _, shuffle, block in
            shuffle.draws(block.count, massed: massed, proximity: proximity).map { $0 / total }
        }, merge: { block, drawn in values.withLock { $0.replaceSubrange(block, with: drawn) } })
        return values.current
    }

    /// The live features' order and the stream one run of draws shares.
    struct Shuffle {
        var positions: [Int]
        var rng: SeededGenerator
        var swaps: [Int]

        init(positions: [Int], seed: UInt64, massed: Int) {
            self.positions = positions
            rng = SeededGenerator(seed: seed)
            swaps = [Int](repeating: 0, count: massed)
        }

        /// The next `count` draws' sums of massed_i p_(where i's mass went).
        mutating func draws(_ count: Int, massed: [Double], proximity: [Float]) -> [Double] {
            Self.draws(count, positions: &positions, swaps: &swaps, rng: &rng, massed: massed, proximity: proximity)
        }

        private static func draws(_ count: Int, positions: inout [Int], swaps: inout [Int], rng: inout SeededGenerator,
                                  massed: [Double], proximity: [Float]) -> [Double] {
            var sums = [Double](repeating: 0, count: count)
            // Raw buffers: this loop runs draws x massed features times.
            positions.withUnsafeMutableBufferPointer { positions in
                swaps.withUnsafeMutableBufferPointer { swaps in
                    massed.withUnsafeBufferPointer { massed in
                        proximity.withUnsafeBufferPointer { proximity in
                            let features = UInt64(positions.count)
                            for draw in 0..<count {
                                var sum = 0.0
                                for i in 0..<massed.count {
                                    let j = i + Int(rng.next() % (features - UInt64(i)))
                                    positions.swapAt(i, j)
                                    swaps[i] = j
                                    sum += massed[i] * Double(proximity[positions[i]])
                                }
                                // Undo in reverse, so every draw starts from the same order (a draw
                                // depends only on the seed's stream, not on the draws before it).
                                for i in (0..<massed.count).reversed() { positions.swapAt(i, swaps[i]) }
                                sums[draw] = sum
                            }
                        }
                    }
                }
            }
            return sums
        }
    }

    /// The one-sided permutation p-value of `value` with the +1 correction
    /// ((1 + #{draws >= value}) / (B + 1)), which keeps P(p <= alpha) <= alpha for any number of
    /// draws B (Phipson and Smyth 2010), and its Monte Carlo standard error sqrt(p (1 - p) / B).
    /// Nil without draws.
    static func pValue(of value: Double, draws: [Double]) -> (p: Double, error: Double)? {
        guard !draws.isEmpty else { return nil }
        let above = draws.reduce(0) { $0 + ($1 >= value ? 1 : 0) }
        let p = Double(1 + above) / Double(draws.count + 1)
        return (p, (p * (1 - p) / Double(draws.count)).squareRoot())
    }
}
