import Foundation

// What the device threads of a score run share or carry from tile to tile: TopK's running
// selection, the queue of sample chunks, the run's totals and its first error.

/// The running K largest pre-activations of each token across feature tiles.
struct TopKState: Sendable {
    let k: Int
    var values: [Float]
    var ids: [Int32]

    init(encoder: SAEEncoder, rows: Int) {
        if case .topK(let k) = encoder.activation { self.k = k } else { self.k = 0 }
        values = [Float](repeating: -.infinity, count: rows * k)
        ids = [Int32](repeating: -1, count: rows * k)
    }

    mutating func offer(_ pre: [Float], features: Range<Int>, bias: [Float]) {
        let width = features.count, k = self.k
        let rows = k == 0 ? 0 : values.count / k
        values.withUnsafeMutableBufferPointer { v in
            ids.withUnsafeMutableBufferPointer { i in
                let vBase = UnsafeSendablePointer(v.baseAddress!), iBase = UnsafeSendablePointer(i.baseAddress!)
                parallelChunks(rows) { range in
                    for row in range {
                        let heap = CandidateHeap(scores: vBase.pointer + row * k, ids: iBase.pointer + row * k, capacity: k)
                        for j in 0..<width {
                            let value = pre[row * width + j] + bias[features.lowerBound + j]
                            // Ties at the K-th value keep the lower feature (offered first).
                            if value > heap.threshold { heap.replaceRoot(score: value, id: Int32(features.lowerBound + j)) }
                        }
                    }
                }
            }
        }
    }
}

/// Hands out chunks of whole samples, up to `rowChunk` rows each (a longer sample gets a chunk of
/// its own), to whichever device asks next.
final class ChunkCursor: @unchecked Sendable {
    private let lock = NSLock()
    private let starts: [Int]
    private let rowChunk: Int
    private var sample: Int
    private let samples: Int

    init(starts: [Int], samples range: Range<Int>, rowChunk: Int) {
        self.starts = starts
        self.rowChunk = rowChunk
        sample = range.lowerBound
        samples = range.upperBound
    }

    func next() -> (Int, Int)? {
        lock.lock()
        defer { lock.unlock() }
        guard sample < samples else { return nil }
        let end = Self.chunkEnd(from: sample, starts: starts, limit: samples, rowChunk: rowChunk)
        defer { sample = end }
        return (sample, end)
    }

    /// The end of the chunk that starts at `sample`: as many whole samples as fit in `rowChunk`
    /// rows, at least one.
    static func chunkEnd(from sample: Int, starts: [Int], limit: Int, rowChunk: Int) -> Int {
        var end = sample + 1
        while end < limit, starts[end + 1] - starts[sample] <= rowChunk { end += 1 }
        return end
    }
}

/// The run's results, merged chunk by chunk from every device (disjoint samples).
final class ScoreTotals: @unchecked Sendable {
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

/// An optional device handed to its own thread.
struct DeviceHandle: @unchecked Sendable {
    let engine: OpenCLScoreEngine?
}

/// The first error of any device thread.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: Error?

    func set(_ error: Error) {
        lock.lock()
        if self.error == nil { self.error = error }
        lock.unlock()
    }
}
