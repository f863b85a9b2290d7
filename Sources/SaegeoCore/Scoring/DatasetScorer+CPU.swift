import Foundation

/// The CPU side of scoring: rows read and checked, and feature tiles multiplied and reduced on
/// the cores.
extension DatasetScorer {
    /// Rows as float32, b_dec subtracted and scaled as the encoder says. A row with a NaN or an
    /// infinity is refused, or with `skipNonFinite` made all NaN: no comparison with NaN holds, so
    /// it activates nothing on any device and the sample is scored as if the row were absent.
    func readRows(_ first: Int, _ count: Int) throws -> [Float] {
        let d = encoder.dimension
        var x = [Float](repeating: 0, count: max(1, count * d))
        try x.withUnsafeMutableBufferPointer { out in
            if !activations.rows.readFeatures(first..<(first + count), into: out.baseAddress!) {
                for r in 0..<count { activations.rows.copyFeature(first + r, into: out.baseAddress! + r * d) }
            }
            var skipped = 0
            for r in 0..<count {
                let row = out.baseAddress! + r * d
                if let column = (0..<d).first(where: { !row[$0].isFinite }) {
                    guard skipNonFinite else {
                        throw SaegeoError.badInput("\(activations.path): token row \(first + r) holds \(row[column]) at column \(column); fix the activations, or pass --skip-nonfinite to leave such rows out (they are counted)")
                    }
                    for i in 0..<d { row[i] = .nan }
                    skipped += 1
                    continue
                }
                if let b = encoder.decoderBias { for i in 0..<d { row[i] -= b[i] } }
                if encoder.inputScale != 1 { for i in 0..<d { row[i] *= encoder.inputScale } }
            }
            if skipped > 0 { skippedRows.add(skipped) }
        }
        return x
    }

    /// Features per piece of a tile on the CPU: small enough that the cores share a tile evenly,
    /// large enough that each single-threaded product runs at full speed. Fixed, so that the sums
    /// are the same on any number of cores.
    static let cpuPieceWidth = 256

    /// ReLU / JumpReLU of one feature tile on the CPU, the way the neighbour engine works: the
    /// tile's pieces of features are shared among the cores, and each core multiplies its piece
    /// with a single-threaded sgemm and at once reduces it to per-sample sums, so the reductions
    /// run while the other cores multiply (no idle BLAS threads). The pieces' sums are added into
    /// `part` in piece order.
    func reduceOnCores(_ x: [Float], rows: Int, weights: [Float], features: Range<Int>, columns: Bool,
                       samples: Range<Int>, firstRow: Int, into part: AccumulatorPart) {
        let d = encoder.dimension, width = features.count, piece = Self.cpuPieceWidth
        let pieces = (width + piece - 1) / piece
        let results = UnsafeMutableBufferPointer<SampleAccumulators?>.allocate(capacity: pieces)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        let out = UnsafeSendablePointer(results.baseAddress!)
        let scorer = self, starts = activations.sampleStarts
        CBLAS.setThreads(1)
        x.withUnsafeBufferPointer { xs in
            weights.withUnsafeBufferPointer { w in
                let xBase = UnsafeSendablePointer(UnsafeMutablePointer(mutating: xs.baseAddress!))
                let wBase = UnsafeSendablePointer(UnsafeMutablePointer(mutating: w.baseAddress!))
                DispatchQueue.concurrentPerform(iterations: pieces) { p in
                    let j0 = p * piece, count = min(width, j0 + piece) - j0
                    let pre = [Float](unsafeUninitializedCapacity: max(1, rows * count)) { buffer, initialized in
                        // A columns tile is [d, width]: the piece is its columns j0..<j0 + count.
                        CBLAS.multiply(m: rows, n: count, k: d, a: xBase.pointer, lda: d,
                                       b: wBase.pointer + (columns ? j0 : j0 * d), ldb: columns ? width : d,
                                       c: buffer.baseAddress!, ldc: count, transposedB: !columns)
                        initialized = max(1, rows * count)
                    }
                    var sums = SampleAccumulators(samples: samples.count, explain: scorer.explain)
                    let range = (features.lowerBound + j0)..<(features.lowerBound + j0 + count)
                    sums.add(pre, features: range, encoder: scorer.encoder, proximity: scorer.proximity,
                             sampleStarts: starts, firstSample: samples.lowerBound, firstRow: firstRow)
                    out.pointer[p] = sums
                }
            }
        }
        for p in 0..<pieces { part.accumulators.absorb(results[p]!) }
    }

    /// pre[rows, count] = x . weightsᵀ for a tile of `count` feature rows, or x . weights for a
    /// tile stored as `[d, count]` columns (bias added by the callers).
    func multiply(_ x: inout [Float], rows: Int, weights: [Float], count: Int, columns: Bool = false) -> [Float] {
        var pre = [Float](repeating: 0, count: max(1, rows * count))
        CBLAS.setThreads(ProcessInfo.processInfo.activeProcessorCount)
        pre.withUnsafeMutableBufferPointer { p in
            x.withUnsafeBufferPointer { xs in
                weights.withUnsafeBufferPointer { w in
                    CBLAS.multiply(m: rows, n: count, k: encoder.dimension, a: xs.baseAddress!, lda: encoder.dimension,
                                   b: w.baseAddress!, ldb: columns ? count : encoder.dimension,
                                   c: p.baseAddress!, ldc: count, transposedB: !columns)
                }
            }
        }
        return pre
    }
}
