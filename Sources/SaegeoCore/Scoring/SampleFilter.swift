/// Which samples to drop before fine-tuning (DESIGN.md): the ceil(q N) samples with the highest
/// score, ties to the lower sample index, or the same number uniformly at random from a seed
/// (the paper's baseline). Pure functions of the scores.
public enum SampleFilter {
    public enum Strategy: String, Sendable, CaseIterable {
        case geometry
        case random
    }

    public static func dropCount(samples: Int, fraction: Double) throws -> Int {
        guard fraction.isFinite, fraction >= 0, fraction <= 1 else {
            throw SaegeoError(.usage, "--drop-fraction must be between 0 and 1 (got \(fraction))")
        }
        // ceil(q N) in integers where q N is exact; tolerate the rounding of q's decimal form.
        let product = fraction * Double(samples)
        let nearest = product.rounded()
        return min(samples, abs(product - nearest) < 1e-9 * max(1, product) ? Int(nearest) : Int(product.rounded(.up)))
    }

    /// The dropped sample indices, ascending.
    public static func dropped(_ scores: SampleScores, fraction: Double, strategy: Strategy, seed: UInt64) throws -> [Int] {
        let count = try dropCount(samples: scores.count, fraction: fraction)
        switch strategy {
        case .geometry:
            let order = scores.scores.indices.sorted { a, b in
                scores.scores[a] != scores.scores[b] ? scores.scores[a] > scores.scores[b] : a < b
            }
            return order.prefix(count).sorted()
        case .random:
            // A seeded Fisher-Yates shuffle, the same on every machine.
            var rng = SeededGenerator(seed: seed)
            var indices = Array(scores.scores.indices)
            for i in stride(from: indices.count - 1, to: 0, by: -1) {
                indices.swapAt(i, Int(rng.next() % UInt64(i + 1)))
            }
            return indices.prefix(count).sorted()
        }
    }
}
