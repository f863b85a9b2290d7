import Foundation

/// Encoder tiles on the CPU. ReLU / JumpReLU work the way similarity tiles do: the tile's pieces
/// of features are shared among the cores, and each core multiplies its piece with a
/// single-threaded sgemm and at once reduces it to per-sample sums, so the reductions run while
/// the other cores multiply (no idle BLAS threads). The pieces' sums are added in piece order.
extension CPUEngine {
    /// The chunk and tile the encoder workload is on.
    struct EncoderState {
        var chunk: ActivationChunk?
        var tile: EncoderTile?
        /// The tile's weights: [width, d] rows, or [d, width] columns when the file stores W_enc
        /// as [d_model, d_sae] (copied as a stream and multiplied without a transpose).
        var weights: [Float] = []
        var columns = false
    }

    /// Features per piece of a tile: small enough that the cores share a tile evenly, large enough
    /// that each single-threaded product runs at full speed. Fixed, so that the sums are the same
    /// on any number of cores.
    static let pieceWidth = 256

    public func setActivations(_ chunk: ActivationChunk) throws {
        encoder.chunk = chunk
    }

    public func loadEncoderTile(_ tile: EncoderTile) throws {
        let d = tile.weights.dimension, width = tile.features.count
        let columns = tile.weights.layout == .columns
        encoder.columns = columns
        if encoder.weights.count < width * d { encoder.weights = [Float](repeating: 0, count: max(1, width * d)) }
        encoder.weights.withUnsafeMutableBufferPointer { w in
            let base = UnsafeSendablePointer(w.baseAddress!), matrix = tile.weights, first = tile.features.lowerBound
            if columns {
                matrix.copyColumns(tile.features, into: base.pointer)
            } else {
                parallelChunks(width) { range in
                    for j in range { matrix.copyFeature(first + j, into: base.pointer + j * d) }
                }
            }
        }
        tile.weights.releasePages(ofFeatures: tile.features)
        encoder.tile = tile
    }

    public func reduceEncoderTile(into sums: inout SampleAccumulators) throws {
        guard let chunk = encoder.chunk, let tile = encoder.tile else { preconditionFailure("activations and tile first") }
        let d = chunk.dimension, width = tile.features.count, piece = Self.pieceWidth, rows = chunk.rows
        let pieces = (width + piece - 1) / piece, columns = encoder.columns, explain = sums.explain
        let results = UnsafeMutableBufferPointer<SampleAccumulators?>.allocate(capacity: pieces)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        let out = UnsafeSendablePointer(results.baseAddress!)
        CBLAS.setThreads(1)
        chunk.values.withUnsafeBufferPointer { xs in
            encoder.weights.withUnsafeBufferPointer { w in
                let x = UnsafeSendablePointer(xs.baseAddress!), weights = UnsafeSendablePointer(w.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: pieces) { p in
                    let j0 = p * piece, count = min(width, j0 + piece) - j0
                    let pre = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows * count))
                    defer { pre.deallocate() }
                    // A columns tile is [d, width]: the piece is its columns j0..<j0 + count.
                    CBLAS.multiply(m: rows, n: count, k: d, a: x.pointer, lda: d,
                                   b: weights.pointer + (columns ? j0 : j0 * d), ldb: columns ? width : d,
                                   c: pre, ldc: count, transposedB: !columns)
                    let first = tile.features.lowerBound + j0
                    let part = EncoderTile(weights: tile.weights, features: first..<(first + count), bias: tile.bias,
                                           thresholds: tile.thresholds, activation: tile.activation, proximity: tile.proximity)
                    var partSums = SampleAccumulators(samples: chunk.samples, explain: explain)
                    partSums.add(UnsafePointer(pre), tile: part, rowStarts: chunk.rowStarts)
                    out.pointer[p] = partSums
                }
            }
        }
        for p in 0..<pieces { sums.absorb(results[p]!) }
    }

    /// pre[rows, width] = x . W_tileᵀ with OpenBLAS's own threads (TopK's selection runs after).
    public func encoderPreActivations() throws -> [Float] {
        guard let chunk = encoder.chunk, let tile = encoder.tile else { preconditionFailure("activations and tile first") }
        let width = tile.features.count, d = chunk.dimension, columns = encoder.columns
        var pre = [Float](repeating: 0, count: max(1, chunk.rows * width))
        CBLAS.setThreads(ProcessInfo.processInfo.activeProcessorCount)
        pre.withUnsafeMutableBufferPointer { p in
            chunk.values.withUnsafeBufferPointer { xs in
                encoder.weights.withUnsafeBufferPointer { w in
                    CBLAS.multiply(m: chunk.rows, n: width, k: d, a: xs.baseAddress!, lda: d,
                                   b: w.baseAddress!, ldb: columns ? width : d,
                                   c: p.baseAddress!, ldc: width, transposedB: !columns)
                }
            }
        }
        return pre
    }
}
