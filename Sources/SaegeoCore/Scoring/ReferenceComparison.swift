import Foundation

/// The reference set's figures beside the dataset's (summary.json's "reference").
public struct ReferenceFigures: Sendable, Encodable {
    public let samples: Int
    public let meanProximity: Double
    /// The dataset's M minus the reference's, and its bootstrap interval (both sets resampled).
    public let difference: Double
    public let differenceInterval: [Double]?

    enum CodingKeys: String, CodingKey {
        case samples, meanProximity = "mean_proximity", difference, differenceInterval = "difference_interval"
    }
}

/// The two-sample figure (`score --reference`, docs/statistics.md): the dataset against ordinary
/// activations through the same model and SAE. The null is that the dataset's samples and the
/// reference's come from one source: the samples are relabelled at random (as many "dataset" as
/// the dataset has) and the dataset's figure recomputed. Every feature-level effect of the
/// dictionary, co-activating near-duplicates included, is in both sets alike, so it cancels; this
/// is the remedy for the one-sample null's limit. The keys are the one-sample summary's, on the
/// same scale (M), so the report reads either.
extension DatasetSummary {
    public static func compare(result: DatasetScorer.Result, reference: DatasetScorer.Result, proximity: [Float],
                               draws: Int, seed: UInt64, cancellation: Cancellation = Cancellation()) throws -> DatasetSummary {
        for (name, run) in [("dataset", result), ("reference", reference)] {
            guard run.sampleNumerators.count == run.scores.count, run.sampleDenominators.count == run.scores.count else {
                throw SaegeoError.badInput("the \(name)'s per-sample sums were not kept; run score without --shard")
            }
        }
        let samples = result.scores.count
        let meanScore = samples == 0 ? 0 : result.scores.reduce(0) { $0 + Double($1) } / Double(samples)
        let observed = weightedMean(result.featureActivation, proximity)
        let referenceMean = weightedMean(reference.featureActivation, proximity)
        let numerators = result.sampleNumerators + reference.sampleNumerators
        let denominators = result.sampleDenominators + reference.sampleDenominators
        let null = try relabelled(draws, numerators: numerators, denominators: denominators, dataset: samples, seed: seed,
                                  cancellation: cancellation)
        let mean = null.isEmpty ? 0 : null.reduce(0, +) / Double(null.count)
        let std = null.count < 2 ? 0 : (null.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(null.count - 1)).squareRoot()
        let own = try SampleBootstrap.replicates(numerators: result.sampleNumerators, denominators: result.sampleDenominators,
                                                 draws: draws, seed: seed &+ 1, cancellation: cancellation)
        let theirs = try SampleBootstrap.replicates(numerators: reference.sampleNumerators, denominators: reference.sampleDenominators,
                                                    draws: draws, seed: seed &+ 2, cancellation: cancellation)
        let interval = own.map { SampleBootstrap.percentiles($0, level: intervalLevel) }
        let differences = own.flatMap { a in theirs.map { b in zip(a, b).map { $0 - $1 } } }
        let differenceInterval = differences.map { SampleBootstrap.percentiles($0, level: intervalLevel) }
        // Samples are the units relabelled, so this null already is the sampling variation of M
        // under one source: M itself is tested (the interval is reported, not tested again).
        let test = PermutationNull.pValue(of: observed, draws: null)
        for (name, value) in [("mean score", meanScore), ("mean proximity", observed), ("reference's mean proximity", referenceMean),
                              ("null mean", mean), ("null std", std)] where !value.isFinite {
            throw SaegeoError.badInput("the dataset's \(name) is \(value); the summary holds only finite figures; check the activations' scale")
        }
        let z = std > 0 ? (observed - mean) / std : .nan
        var summary = DatasetSummary(samples: samples, meanScore: meanScore, meanProximity: observed, nullSets: null.count,
                                     nullMean: mean, nullStd: std, zScore: z.isFinite ? z : nil,
                                     interval: interval.map { [$0.low, $0.high] }, bootstrapDraws: interval == nil ? 0 : draws,
                                     pValue: test?.p, mcError: test?.error, leansToxic: test.map { $0.p <= alpha } ?? false, seed: seed)
        summary.null = "samples permuted between the dataset and the reference"
        summary.reference = ReferenceFigures(samples: reference.scores.count, meanProximity: referenceMean,
                                             difference: observed - referenceMean,
                                             differenceInterval: differenceInterval.map { [$0.low, $0.high] })
        return summary
    }

    /// `draws` figures of `dataset` samples chosen at random from the pool (a partial
    /// Fisher-Yates shuffle, undone after each draw so that draws depend only on the seed).
    static func relabelled(_ draws: Int, numerators: [Double], denominators: [Double], dataset: Int, seed: UInt64,
                           cancellation: Cancellation = Cancellation()) throws -> [Double] {
        guard dataset > 0, dataset <= numerators.count else { return [Double](repeating: 0, count: draws) }
        let values = Locked([Double](repeating: 0, count: draws))
        // On the host in blocks through the scheduler loop, in draw order (one stream).
        let loop = SchedulerLoop(items: draws, cancellation: cancellation, batch: { _ in 16 })
        try loop.run(on: [()], start: { _ in Relabelling(samples: numerators.count, dataset: dataset, seed: seed) }, item: { _, state, block in
            (0..<block.count).map { _ in
                Relabelling.draw(order: &state.order, swaps: &state.swaps, rng: &state.rng, numerators: numerators, denominators: denominators)
            }
        }, merge: { block, drawn in values.withLock { $0.replaceSubrange(block, with: drawn) } })
        return values.current
    }
}

/// The samples' order and the stream one run of relabellings shares.
private struct Relabelling {
    var order: [Int]
    var swaps: [Int]
    var rng: SeededGenerator

    init(samples: Int, dataset: Int, seed: UInt64) {
        order = Array(0..<samples)
        swaps = [Int](repeating: 0, count: dataset)
        rng = SeededGenerator(seed: seed)
    }

    /// The figure of one relabelling: `swaps.count` samples chosen without replacement as "dataset".
    static func draw(order: inout [Int], swaps: inout [Int], rng: inout SeededGenerator,
                     numerators: [Double], denominators: [Double]) -> Double {
        let count = UInt64(order.count), dataset = swaps.count
        var num = 0.0, den = 0.0
        order.withUnsafeMutableBufferPointer { order in
            for i in 0..<dataset {
                let j = i + Int(rng.next() % (count - UInt64(i)))
                order.swapAt(i, j)
                swaps[i] = j
                num += numerators[order[i]]
                den += denominators[order[i]]
            }
            // Undo in reverse, so every relabelling starts from the same order.
            for i in (0..<dataset).reversed() { order.swapAt(i, swaps[i]) }
        }
        return den > 0 ? num / den : 0
    }
}
