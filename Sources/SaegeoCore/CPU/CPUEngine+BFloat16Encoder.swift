import Foundation

/// Encoder tiles through the certified bfloat16 first pass (CPU/BFloat16/): the chunk's rows are
/// rounded once per chunk, the tile once per tile (a whole-dictionary tile read from the mapping
/// once for the whole run), and CertifiedEncoderTile leaves the float32 path's pre-activations
/// with the pairs it decided inactive at -inf; the float32 reductions then run on them unchanged,
/// piece by piece of 256 features as in CPUEngine+Encoder.swift.
extension CPUEngine {
    public var firstPassCounts: FirstPassCounts? {
        bfloat16 == nil ? nil : encoder.counts.current
    }

    func roundActivations(_ chunk: ActivationChunk) {
        guard let product = bfloat16 else { return }
        encoder.roundedChunk = chunk.values.withUnsafeBufferPointer {
            BFloat16Operand(rows: $0.baseAddress!, count: chunk.rows, dimension: chunk.dimension, product: product)
        }
        encoder.counts.withLock { $0.encoderRows += chunk.rows }
    }

    /// Rounds the loaded tile, unless it is the whole-dictionary mapping already rounded.
    func roundTile() {
        guard let product = bfloat16, let tile = encoder.tile else { return }
        if let mapped = encoder.mapped, let rounded = encoder.roundedTile, rounded.mapping === mapped.matrix.file,
           rounded.source == mapped.pointer, rounded.vectors == tile.features.count { return }
        encoder.roundedTile = nil  // the previous tile's rounding is freed before this one's is built
        encoder.tileRows = []
        let d = tile.weights.dimension, width = tile.features.count, columns = encoder.columns
        let rounded: BFloat16Operand
        if columns, let mapped = encoder.mapped {
            encoder.tileRows = Self.transposed(mapped.pointer, rows: d, columns: width)
            rounded = encoder.tileRows.withUnsafeBufferPointer {
                BFloat16Operand(rows: $0.baseAddress!, count: width, dimension: d, product: product)
            }
            rounded.source = mapped.pointer
        } else {
            rounded = withTileWeights { w in
                columns ? BFloat16Operand(columns: w, width: width, dimension: d, product: product)
                        : BFloat16Operand(rows: w, count: width, dimension: d, product: product)
            }
        }
        rounded.mapping = encoder.mapped?.matrix.file
        encoder.roundedTile = rounded
    }

    func reduceCertifiedTile(into sums: inout SampleAccumulators) throws {
        guard let product = bfloat16, let chunk = encoder.chunk, let tile = encoder.tile,
              let rounded = encoder.roundedChunk, let roundedTile = encoder.roundedTile else {
            preconditionFailure("activations and tile first")
        }
        let rows = chunk.rows, width = tile.features.count
        let buffer = encoder.scratch.take(atLeast: max(1, rows * width))
        defer { encoder.scratch.withLock { $0.append(buffer) } }
        // The tile as the first pass rounded it: rows, or columns as stored.
        let columns = encoder.columns && encoder.tileRows.isEmpty
        let pre = buffer.baseAddress!, selection = sums.selection
        let recomputed = try chunk.values.withUnsafeBufferPointer { xs in
            try withRoundedTileWeights { w in
                try CertifiedEncoderTile(product: product, rows: rounded, features: roundedTile, x: xs.baseAddress!, w: w,
                                         columns: columns, dimension: chunk.dimension, tile: tile)
                    .preActivations(into: pre, selection: sums.epilogue.selection ? selection : nil)
            }
        }
        encoder.counts.withLock {
            $0.recomputedFeatures += recomputed
            $0.decidedFeatures += rows * width - recomputed
        }
        if sums.epilogue.selection {
            sums.select(preActivations: UnsafeBufferPointer(start: pre, count: rows * width), features: tile.features, bias: tile.bias)
            return
        }
        let piece = Self.pieceWidth, pieces = (width + piece - 1) / piece, template = sums.empty(samples: chunk.samples)
        let results = UnsafeMutableBufferPointer<SampleAccumulators?>.allocate(capacity: pieces)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        let out = UnsafeSendablePointer(results.baseAddress!), values = UnsafeSendablePointer(pre)
        DispatchQueue.concurrentPerform(iterations: pieces) { q in
            let first = tile.features.lowerBound + q * piece
            let part = tile.restricted(to: first..<min(tile.features.upperBound, first + piece))
            var partSums = template
            partSums.add(UnsafePointer(values.pointer + q * piece), rowStride: width, tile: part, rowStarts: chunk.rowStarts)
            out.pointer[q] = partSums
        }
        for q in 0..<pieces { sums.absorb(results[q]!) }
    }

    /// The tile's float32 weights in the layout the first pass rounded them in.
    private func withRoundedTileWeights<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        if !encoder.tileRows.isEmpty { return try encoder.tileRows.withUnsafeBufferPointer { try body($0.baseAddress!) } }
        return try withTileWeights(body)
    }

    /// The [columns, rows] transpose of a row-major [rows, columns] matrix, in 64 x 64 blocks
    /// (each block's reads and writes stay in cache), the cores taking bands of columns.
    static func transposed(_ source: UnsafePointer<Float>, rows: Int, columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: max(1, rows * columns))
        let block = 64, input = UnsafeSendablePointer(source)
        out.withUnsafeMutableBufferPointer { buffer in
            let output = UnsafeSendablePointer(buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: (columns + block - 1) / block) { band in
                let j0 = band * block, j1 = min(columns, j0 + block)
                for i0 in stride(from: 0, to: rows, by: block) {
                    let i1 = min(rows, i0 + block)
                    for j in j0..<j1 {
                        for i in i0..<i1 { output.pointer[j * rows + i] = input.pointer[i * columns + j] }
                    }
                }
            }
        }
        return out
    }
}
