import Foundation

/// The sampling variation of the dataset figure over its samples (docs/statistics.md): the figure
/// is a ratio of per-sample sums, M = sum_s N_s / sum_s D_s (N_s = sum a p, D_s = sum a over the
/// sample's tokens and features), so resampling the samples with replacement and recomputing the
/// ratio needs only the two sums per sample, never the activations again.
enum SampleBootstrap {
    /// The percentile interval [q(level_low), q(level_high)] of `draws` resampled figures, seeded;
    /// nil without samples or draws. The lower end of the 90% interval is the one-sided 95% lower
    /// bound that the decision uses.
    static func interval(numerators: [Double], denominators: [Double], draws: Int, level: Double,
                         seed: UInt64, cancellation: Cancellation = Cancellation()) throws -> (low: Double, high: Double)? {
        guard let values = try replicates(numerators: numerators, denominators: denominators, draws: draws, seed: seed,
                                      cancellation: cancellation) else { return nil }
        return percentiles(values, level: level)
    }

    /// The percentile interval of `level` of the values.
    static func percentiles(_ values: [Double], level: Double) -> (low: Double, high: Double) {
        let sorted = values.sorted(), tail = (1 - level) / 2
        return (quantile(sorted, tail), quantile(sorted, 1 - tail))
    }

    /// `draws` resampled figures, in draw order (seeded); nil without samples or draws. The draws
    /// run on the host in blocks through the scheduler loop, in draw order (one stream), so
    /// Ctrl-C stops them at once.
    static func replicates(numerators: [Double], denominators: [Double], draws: Int, seed: UInt64,
                           cancellation: Cancellation = Cancellation()) throws -> [Double]? {
        let n = numerators.count
        guard n > 0, draws > 0, denominators.count == n else { return nil }
        let values = Locked([Double](repeating: 0, count: draws))
        let loop = SchedulerLoop(items: draws, cancellation: cancellation, batch: { _ in 16 })
        try loop.run(on: [()], start: { _ in SeededGenerator(seed: seed) }, item: { _, rng, block in
            (0..<block.count).map { _ in resample(numerators, denominators, rng: &rng) }
        }, merge: { block, drawn in values.withLock { $0.replaceSubrange(block, with: drawn) } })
        return values.current
    }

    /// One resampled figure: n samples drawn with replacement.
    private static func resample(_ numerators: [Double], _ denominators: [Double], rng: inout SeededGenerator) -> Double {
        let n = numerators.count
        var num = 0.0, den = 0.0
        // Raw buffers: this loop runs draws x samples times.
        numerators.withUnsafeBufferPointer { numerators in
            denominators.withUnsafeBufferPointer { denominators in
                for _ in 0..<n {
                    let s = Int(rng.next() % UInt64(n))
                    num += numerators[s]
                    den += denominators[s]
                }
            }
        }
        return den > 0 ? num / den : 0
    }

    /// The q-quantile of sorted values (linear between order statistics, as numpy's default).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let below = Int(position.rounded(.down)), above = min(below + 1, sorted.count - 1)
        let fraction = position - Double(below)
        return sorted[below] + (sorted[above] - sorted[below]) * fraction
    }
}
