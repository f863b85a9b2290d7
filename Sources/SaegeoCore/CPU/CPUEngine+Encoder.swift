import Foundation

/// Encoder tiles on the CPU. ReLU / JumpReLU work the way similarity tiles do: the tile is cut
/// into one product per core, each a single-threaded sgemm reduced at once to per-sample sums, so
/// the reductions run while the other cores multiply (no idle BLAS threads). Sums are kept per
/// fixed piece of 256 features and added in piece order, so they do not depend on the core count.
extension CPUEngine {
    /// The chunk and tile the encoder workload is on.
    struct EncoderState {
        var chunk: ActivationChunk?
        var tile: EncoderTile?
        /// The tile's weights: [width, d] rows, or [d, width] columns when the file stores W_enc
        /// as [d_model, d_sae] (copied as a stream and multiplied without a transpose).
        var weights: [Float] = []
        var columns = false
        /// A tile of every feature of a float32 file is multiplied straight from the mapping
        /// (`weights` stays empty): no 4 d_sae d_model bytes zeroed and copied before the first
        /// chunk. The matrix is kept so that its mapping outlives the pointer.
        var mapped: (matrix: FeatureMatrix, pointer: UnsafePointer<Float>)?
        /// Pre-activation buffers the products take and give back: as many as run at once, kept
        /// for the whole run (fresh multi-MiB allocations would fault in every page each time).
        let scratch = Locked<[UnsafeMutableBufferPointer<Float>]>([])
        /// The certified bfloat16 first pass (CPUEngine+BFloat16Encoder.swift): the chunk's rows and
        /// the tile rounded once each, and what the pass decided and left to the exact path.
        var roundedChunk: BFloat16Operand?
        var roundedTile: BFloat16Operand?
        /// A mapped whole tile stored as [d_model, d_sae] columns, copied once as [d_sae, d_model]
        /// rows (in the tile bytes the plan counts and a mapped tile does not use), so that the
        /// exact recompute reads each feature's vector contiguously instead of gathering columns
        /// for every chunk; empty otherwise.
        var tileRows: [Float] = []
        let counts = Locked(FirstPassCounts())
    }

    /// Features per piece of a tile: small enough that the cores share a tile evenly, large enough
    /// that each single-threaded product runs at full speed. Fixed, so that the sums are the same
    /// on any number of cores.
    static let pieceWidth = 256
    /// The most pieces one product covers: wide enough that the chunk's rows are packed once per
    /// core, narrow enough that its pre-activations stay a few MiB.
    static let piecesPerProductLimit = 16

    public func setActivations(_ chunk: ActivationChunk) throws {
        encoder.chunk = chunk
        if bfloat16 != nil { roundActivations(chunk) }
    }

    public func loadEncoderTile(_ tile: EncoderTile) throws {
        let d = tile.weights.dimension, width = tile.features.count
        let columns = tile.weights.layout == .columns
        encoder.columns = columns
        encoder.tile = tile
        encoder.mapped = nil
        if tile.features == 0..<tile.weights.features, let pointer = tile.weights.float32Storage {
            encoder.mapped = (tile.weights, pointer)
            encoder.weights = []
            if bfloat16 != nil { roundTile() }
            return
        }
        if encoder.weights.count < width * d { encoder.weights = [Float](repeating: 0, count: max(1, width * d)) }
        encoder.weights.withUnsafeMutableBufferPointer { w in
            if columns {
                tile.weights.copyColumns(tile.features, into: w.baseAddress!)
            } else {
                tile.copyRows(into: w.baseAddress!, stride: d)
            }
        }
        tile.weights.releasePages(ofFeatures: tile.features)
        if bfloat16 != nil { roundTile() }
    }

    /// The loaded tile's weights as `loadEncoderTile` left them.
    func withTileWeights<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        if let mapped = encoder.mapped { return try body(mapped.pointer) }
        return try encoder.weights.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    public func reduceEncoderTile(into sums: inout SampleAccumulators) throws {
        guard let chunk = encoder.chunk, let tile = encoder.tile else { preconditionFailure("activations and tile first") }
        if bfloat16 != nil { return try reduceCertifiedTile(into: &sums) }
        if sums.epilogue.selection {
            let pre = preActivations()
            pre.withUnsafeBufferPointer { sums.select(preActivations: $0, features: tile.features, bias: tile.bias) }
            return
        }
        let d = chunk.dimension, width = tile.features.count, piece = Self.pieceWidth, rows = chunk.rows
        let pieces = (width + piece - 1) / piece, columns = encoder.columns, template = sums.empty(samples: chunk.samples)
        // One product per core (each packs the chunk's rows once), each reduced piece by piece.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let piecesPerProduct = max(1, min(Self.piecesPerProductLimit, pieces / cores))
        let products = (pieces + piecesPerProduct - 1) / piecesPerProduct
        let results = UnsafeMutableBufferPointer<SampleAccumulators?>.allocate(capacity: pieces)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        let out = UnsafeSendablePointer(results.baseAddress!), scratch = encoder.scratch
        CBLAS.setThreads(1)
        chunk.values.withUnsafeBufferPointer { xs in
            withTileWeights { w in
                let x = UnsafeSendablePointer(xs.baseAddress!), weights = UnsafeSendablePointer(w)
                DispatchQueue.concurrentPerform(iterations: products) { p in
                    let firstPiece = p * piecesPerProduct, lastPiece = min(pieces, firstPiece + piecesPerProduct)
                    let j0 = firstPiece * piece, count = min(width, lastPiece * piece) - j0
                    let buffer = scratch.take(atLeast: max(1, rows * piecesPerProduct * piece))
                    defer { scratch.withLock { $0.append(buffer) } }
                    let pre = buffer.baseAddress!
                    // A columns tile is [d, width]: the product is its columns j0..<j0 + count.
                    CBLAS.multiply(m: rows, n: count, k: d, a: x.pointer, lda: d,
                                   b: weights.pointer + (columns ? j0 : j0 * d), ldb: columns ? width : d,
                                   c: pre, ldc: count, transposedB: !columns)
                    for q in firstPiece..<lastPiece {
                        let first = tile.features.lowerBound + q * piece, offset = q * piece - j0
                        let part = tile.restricted(to: first..<min(tile.features.upperBound, first + piece))
                        var partSums = template
                        partSums.add(UnsafePointer(pre + offset), rowStride: count, tile: part, rowStarts: chunk.rowStarts)
                        out.pointer[q] = partSums
                    }
                }
            }
        }
        for q in 0..<pieces { sums.absorb(results[q]!) }
    }

    /// pre[rows, width] = x . W_tileᵀ with OpenBLAS's own threads (TopK's selection runs after).
    private func preActivations() -> [Float] {
        guard let chunk = encoder.chunk, let tile = encoder.tile else { preconditionFailure("activations and tile first") }
        let width = tile.features.count, d = chunk.dimension, columns = encoder.columns
        var pre = [Float](repeating: 0, count: max(1, chunk.rows * width))
        CBLAS.setThreads(ProcessInfo.processInfo.activeProcessorCount)
        pre.withUnsafeMutableBufferPointer { p in
            chunk.values.withUnsafeBufferPointer { xs in
                withTileWeights { w in
                    CBLAS.multiply(m: chunk.rows, n: width, k: d, a: xs.baseAddress!, lda: d,
                                   b: w, ldb: columns ? width : d,
                                   c: p.baseAddress!, ldc: width, transposedB: !columns)
                }
            }
        }
        return pre
    }
}

extension Locked where Value == [UnsafeMutableBufferPointer<Float>] {
    /// A kept buffer of at least `count` floats (a smaller one is freed), or a new one.
    func take(atLeast count: Int) -> UnsafeMutableBufferPointer<Float> {
        if let kept = withLock({ $0.popLast() }) {
            if kept.count >= count { return kept }
            kept.deallocate()
        }
        return .allocate(capacity: count)
    }
}
