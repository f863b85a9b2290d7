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
                         seed: UInt64, cancellation: Cancellation? = nil) -> (low: Double, high: Double)? {
        guard let values = replicates(numerators: numerators, denominators: denominators, draws: draws, seed: seed,
                                      cancellation: cancellation) else { return nil }
        return percentiles(values, level: level)
    }

    /// The percentile interval of `level` of the values.
    static func percentiles(_ values: [Double], level: Double) -> (low: Double, high: Double) {
        let sorted = values.sorted(), tail = (1 - level) / 2
        return (quantile(sorted, tail), quantile(sorted, 1 - tail))
    }

    /// `draws` resampled figures, in draw order (seeded); nil without samples or draws. Stops early
    /// once `cancellation` is raised (the caller checks it).
    static func replicates(numerators: [Double], denominators: [Double], draws: Int, seed: UInt64,
                           cancellation: Cancellation? = nil) -> [Double]? {
        let n = numerators.count
        guard n > 0, draws > 0, denominators.count == n else { return nil }
        var rng = SeededGenerator(seed: seed)
        var values = [Double](repeating: 0, count: draws)
        // Raw buffers: this loop runs draws x samples times.
        numerators.withUnsafeBufferPointer { numerators in
            denominators.withUnsafeBufferPointer { denominators in
                for draw in 0..<draws {
                    if draw % 16 == 0, cancellation?.isCancelled == true { break }
                    var num = 0.0, den = 0.0
                    for _ in 0..<n {
                        let s = Int(rng.next() % UInt64(n))
                        num += numerators[s]
                        den += denominators[s]
                    }
                    values[draw] = den > 0 ? num / den : 0
                }
            }
        }
        return values
    }

    /// The q-quantile of sorted values (linear between order statistics, as numpy's default).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let below = Int(position.rounded(.down)), above = min(below + 1, sorted.count - 1)
        let fraction = position - Double(below)
        return sorted[below] + (sorted[above] - sorted[below]) * fraction
    }
}
