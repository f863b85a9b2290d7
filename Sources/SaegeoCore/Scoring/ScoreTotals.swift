import Foundation

/// One core's share of a chunk: its first sample and its sums (a class, so each core mutates its
/// own part in place).
final class AccumulatorPart: @unchecked Sendable {  // because each core mutates only its own part
    let first: Int
    var accumulators: SampleAccumulators

    init(first: Int, accumulators: SampleAccumulators) {
        self.first = first
        self.accumulators = accumulators
    }
}


/// The run's results, merged chunk by chunk from every device (disjoint samples).
final class ScoreTotals: @unchecked Sendable {  // because every access holds `lock`
    private let lock = NSLock()
    private var numerator: [Double]
    private var denominator: [Double]
    private var active: [Int64]
    private var featureActivation: [Double]
    private var explanations: [[(feature: Int, activation: Double)]]
    /// The first sample of the run: results are indexed from it.
    private let first: Int

    init(first: Int, samples: Int, features: Int, explain: Int) {
        self.first = first
        numerator = [Double](repeating: 0, count: samples)
        denominator = numerator
        active = [Int64](repeating: 0, count: samples)
        featureActivation = [Double](repeating: 0, count: features)
        explanations = Array(repeating: [], count: explain > 0 ? samples : 0)
    }

    func merge(_ parts: [AccumulatorPart]) {
        lock.lock()
        defer { lock.unlock() }
        for part in parts {
            let a = part.accumulators
            for s in 0..<a.numerator.count {
                let i = part.first - first + s
                numerator[i] = a.numerator[s]
                denominator[i] = a.denominator[s]
                active[i] = Int64(a.active[s])
                if !explanations.isEmpty { explanations[i] = a.explanation(s) }
            }
            for (f, value) in a.featureActivation.sorted(by: { $0.key < $1.key }) { featureActivation[f] += value }
        }
    }

    func result() -> DatasetScorer.Result {
        lock.lock()
        defer { lock.unlock() }
        var scores = [Float](repeating: 0, count: numerator.count)
        for s in scores.indices where denominator[s] > 0 { scores[s] = Float(numerator[s] / denominator[s]) }
        return DatasetScorer.Result(scores: scores, active: active, featureActivation: featureActivation, explanations: explanations)
    }
}
