import Foundation

/// A part of a chunk's samples, from `first`, and their sums.
struct AccumulatorPart: Sendable {
    let first: Int
    var accumulators: SampleAccumulators
}

/// The run's results, merged chunk by chunk from every device (disjoint samples).
final class ScoreTotals: Sendable {
    private struct Sums {
        var numerator: [Double]
        var denominator: [Double]
        var active: [Int64]
        var featureMass: FeatureMass
        var explanations: [[(feature: Int, activation: Double)]]
    }

    private let sums: Locked<Sums>
    /// The first sample of the run: results are indexed from it.
    private let first: Int

    init(first: Int, samples: Int, features: Int, explain: Int) {
        self.first = first
        sums = Locked(Sums(numerator: [Double](repeating: 0, count: samples),
                           denominator: [Double](repeating: 0, count: samples),
                           active: [Int64](repeating: 0, count: samples),
                           featureMass: FeatureMass(features: features),
                           explanations: Array(repeating: [], count: explain > 0 ? samples : 0)))
    }

    func merge(_ parts: [AccumulatorPart]) {
        let first = self.first
        sums.withLock { sums in
            for part in parts {
                let a = part.accumulators
                for s in 0..<a.numerator.count {
                    let i = part.first - first + s
                    sums.numerator[i] = a.numerator[s]
                    sums.denominator[i] = a.denominator[s]
                    sums.active[i] = Int64(a.active[s])
                    if !sums.explanations.isEmpty { sums.explanations[i] = a.explanation(s) }
                }
                // Exactly: the chunks arrive in the order the devices finish them (ExactSum).
                for (f, value) in a.featureActivation { sums.featureMass.add(value, to: f) }
            }
        }
    }

    func result() -> DatasetScorer.Result {
        sums.withLock { sums in
            var scores = [Float](repeating: 0, count: sums.numerator.count)
            for s in scores.indices where sums.denominator[s] > 0 { scores[s] = Float(sums.numerator[s] / sums.denominator[s]) }
            return DatasetScorer.Result(scores: scores, active: sums.active, featureMass: sums.featureMass,
                                        explanations: sums.explanations, sampleNumerators: sums.numerator,
                                        sampleDenominators: sums.denominator)
        }
    }
}
