import CBFloat16
import Foundation

/// One chunk against one encoder tile through the certified bfloat16 first pass: the bfloat16
/// product, the decision of each (row, feature) pair by its bound (EncoderFirstPass), and the
/// exact float32 recompute of every pair left undecided, grouped by feature so that each encoder
/// vector is read once per chunk. What it leaves is the float32 path's pre-activation tile (bias
/// not added) with decided pairs at -inf: the existing reductions run on it unchanged.
struct CertifiedEncoderTile: @unchecked Sendable {  // because its pointers are only read, and tasks write disjoint parts of `pre`
    let product: BFloat16Product
    /// The chunk's rows and the tile's features, rounded, with their norms.
    let rows: BFloat16Operand
    let features: BFloat16Operand
    /// The original float32 values: x [rows, d]; w [width, d], or [d, width] when `columns`.
    let x: UnsafePointer<Float>
    let w: UnsafePointer<Float>
    let columns: Bool
    let dimension: Int
    let tile: EncoderTile

    /// Fills pre [rows, width] and returns the pairs recomputed exactly (the rest were decided).
    /// `selection`: the running TopK / GroupMax selection, whose K or groups set the cut.
    func preActivations(into pre: UnsafeMutablePointer<Float>, selection: TopKState?) throws -> Int {
        let m = rows.vectors, width = tile.features.count, d = dimension
        guard m > 0, width > 0 else { return 0 }
        if product == .portable { CBLAS.setThreads(ProcessInfo.processInfo.activeProcessorCount) }
        try rows.withValues { a in
            try features.withValues { b in
                try product.multiply(m: m, n: width, k: d, a: a, lda: d, b: b, ldb: columns ? width : d,
                                     c: pre, ldc: width, transposedB: !columns)
            }
        }
        let out = UnsafeSendablePointer(pre)
        let levels = selection.map { $0.k > 0 } == true ? nil : LevelDecisions(tile, norms: features.norms, dimension: d)
        // Each row's undecided features, listed while the row is in cache.
        let undecided = UnsafeMutableBufferPointer<[Int32]>.allocate(capacity: m)
        undecided.initialize(repeating: [])
        defer { undecided.deinitialize(); undecided.deallocate() }
        let lists = UnsafeSendablePointer(undecided.baseAddress!)
        parallelChunks(m) { range in
            for row in range {
                let line = out.pointer + row * width
                if let levels {
                    levels.decide(line, row: rows.norms[row], undecided: &lists.pointer[row])
                } else {
                    decide(row: row, line: line, selection: selection!)
                    LevelDecisions.listMarks(line, count: width, into: &lists.pointer[row])
                }
            }
        }
        return recompute(pre, undecided: UnsafeBufferPointer(undecided))
    }

    /// Marks each pair of one row decided (-inf) or undecided (NaN) for a TopK / GroupMax cut.
    private func decide(row: Int, line: UnsafeMutablePointer<Float>, selection: TopKState) {
        let width = tile.features.count, first = tile.features.lowerBound, d = dimension
        let gamma = BFloat16Bound.gamma(d), xNorms = rows.norms[row]
        func interval(_ j: Int) -> (lo: Double, hi: Double)? {
            EncoderFirstPass.interval(approximate: line[j], bias: tile.bias[first + j],
                                      bound: EncoderFirstPass.bound(xNorms, features.norms[j], gamma: gamma, dimension: d))
        }
        let bounds = (0..<width).map { interval($0) }
        let cut = SelectionCut(selection, features: tile.features, lows: bounds.map { $0?.lo ?? -.infinity })
        for j in 0..<width {
            if let bound = bounds[j], bound.hi <= 0 || bound.hi < cut.level(first + j) {
                line[j] = EncoderFirstPass.decided
            } else {
                line[j] = EncoderFirstPass.undecided
            }
        }
    }

    /// Recomputes every undecided pair in float32 from the original rows, piece by piece of the
    /// tile's features (one piece per task), each feature's vector read once for all its rows.
    private func recompute(_ pre: UnsafeMutablePointer<Float>, undecided: UnsafeBufferPointer<[Int32]>) -> Int {
        let width = tile.features.count, d = dimension, piece = CPUEngine.pieceWidth
        let pieces = (width + piece - 1) / piece
        // Each piece's pairs, feature by feature (rows ascending within a feature).
        var pairs = [[(feature: Int32, row: Int32)]](repeating: [], count: pieces)
        for (row, list) in undecided.enumerated() {
            for j in list { pairs[Int(j) / piece].append((j, Int32(row))) }
        }
        let total = pairs.reduce(0) { $0 + $1.count }
        let grouped = pairs.map { $0.sorted { ($0.feature, $0.row) < ($1.feature, $1.row) } }
        let out = UnsafeSendablePointer(pre), x = UnsafeSendablePointer(self.x), w = UnsafeSendablePointer(self.w)
        let columns = self.columns
        DispatchQueue.concurrentPerform(iterations: pieces) { q in
            let pending = grouped[q]
            guard !pending.isEmpty else { return }
            let j0 = q * piece, j1 = min(width, j0 + piece)
            // A [d, width] tile's vectors are gathered as rows: a few columns one by one, or the
            // whole piece reading 4 (j1 - j0) contiguous bytes of each of its d rows (cheaper than
            // a dozen columns, each of which misses the cache d times).
            var distinct: [Int32] = []
            for pair in pending where distinct.last != pair.feature { distinct.append(pair.feature) }
            let wholePiece = columns && distinct.count * 12 >= j1 - j0
            var gathered = [Float](repeating: 0, count: columns ? (wholePiece ? (j1 - j0) : distinct.count) * d : 0)
            gathered.withUnsafeMutableBufferPointer { buffer in
                if wholePiece {
                    for i in 0..<d {
                        let line = w.pointer + i * width
                        for j in j0..<j1 { buffer[(j - j0) * d + i] = line[j] }
                    }
                } else if columns {
                    for (n, j) in distinct.enumerated() {
                        for i in 0..<d { buffer[n * d + i] = w.pointer[i * width + Int(j)] }
                    }
                }
                var n = -1, current: Int32 = -1, vector = UnsafePointer(w.pointer)
                for pair in pending {
                    let j = Int(pair.feature)
                    if pair.feature != current {
                        current = pair.feature
                        n += 1
                        vector = UnsafePointer(!columns ? w.pointer + j * d
                                               : buffer.baseAddress! + (wholePiece ? j - j0 : n) * d)
                    }
                    out.pointer[Int(pair.row) * width + j] = ExactFloat32.dot(x.pointer + Int(pair.row) * d, vector, count: d)
                }
            }
        }
        return total
    }
}

/// The float32 dot product the exact path recomputes with: one fixed summation order (two
/// 16-lane fused accumulators, then the tail), so a pair's value is the same on any core count.
enum ExactFloat32 {
    /// saegeo_bf16's exact dot: 2 x 16 lanes of fused multiply-adds, the lanes summed in order,
    /// then the rest fused (the bits of the SIMD16 Swift loop it replaces, which Swift's baseline
    /// target turned into a libm call per lane).
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count d: Int) -> Float {
        saegeo_exact_dot_f32(x, y, d)
    }
}
