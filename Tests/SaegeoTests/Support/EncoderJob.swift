import Foundation
@testable import SaegeoCore

/// A small encoder workload held in memory, run tile by tile on an engine as DatasetScorer runs it
/// (the certified bfloat16 first pass against the float32 path and an independent reference).
struct EncoderJob {
    var d: Int
    var features: Int
    var rowStarts: [Int]
    /// Activation rows [rows, d] and encoder vectors [features, d] (written as columns on request).
    var x: [Float]
    var w: [Float]
    var bias: [Float]
    var thresholds: [Float]?
    var activation: EncoderActivation
    var magnitude: MagnitudePath?
    var proximity: [Float]
    var rows: Int { rowStarts.last! }
    var samples: Int { rowStarts.count - 1 }

    /// Gaussian rows and unit-scale encoder vectors; thresholds and biases that leave a few
    /// percent of the pairs active.
    static func generated(_ activation: EncoderActivation, seed: UInt64, d: Int = 72, features: Int = 96,
                          rowStarts: [Int] = [0, 4, 4, 11, 12, 25, 31]) -> EncoderJob {
        var rng = SeededGenerator(seed: seed)
        let rows = rowStarts.last!
        let x = (0..<(rows * d)).map { _ in Float(rng.gaussian()) }
        let w = (0..<(features * d)).map { _ in Float(rng.gaussian() / Double(d).squareRoot()) }
        let jump = activation == .jumpReLU, gated = activation == .gated
        return EncoderJob(
            d: d, features: features, rowStarts: rowStarts, x: x, w: w,
            bias: (0..<features).map { _ in Float(rng.gaussian() * 0.3 - (jump || activation.k > 0 ? 0 : 1.2)) },
            thresholds: jump ? (0..<features).map { _ in Float(1 + Double.random(in: 0..<1, using: &rng)) } : nil,
            activation: activation,
            magnitude: gated ? MagnitudePath(scale: (0..<features).map { _ in Float(0.5 + Double.random(in: 0..<1, using: &rng)) },
                                             bias: (0..<features).map { _ in Float(rng.gaussian() * 0.2) }) : nil,
            proximity: (0..<features).map { _ in Float(Double.random(in: 0..<1, using: &rng) * 2 - 1) })
    }

    /// W_enc in a file-like matrix: rows [features, d] or columns [d, features].
    func matrix(_ layout: FeatureMatrix.Layout) -> FeatureMatrix {
        var values = w
        if layout == .columns {
            values = [Float](repeating: 0, count: w.count)
            for f in 0..<features { for i in 0..<d { values[i * features + f] = w[f * d + i] } }
        }
        let file = values.withUnsafeBytes { MappedFile(copying: $0, path: "W_enc") }
        return FeatureMatrix(file: file, byteOffset: 0, features: features, dimension: d, scalarType: .f32, layout: layout)
    }

    func tile(_ matrix: FeatureMatrix, _ range: Range<Int>) -> EncoderTile {
        EncoderTile(weights: matrix, features: range, bias: bias, thresholds: thresholds, activation: activation,
                    proximity: proximity, magnitude: magnitude)
    }

    var tileCuts: (Int) -> [Range<Int>] {
        { width in stride(from: 0, to: features, by: width).map { $0..<min(features, $0 + width) } }
    }

    func emptySums(_ epilogue: EncoderEpilogue) -> SampleAccumulators {
        let lengths = (0..<samples).map { rowStarts[$0 + 1] - rowStarts[$0] }
        var sums = SampleAccumulators(samples: samples, epilogue: epilogue, lengths: lengths)
        if epilogue.selection { sums.selection = TopKState(activation, features: features, rows: rows) }
        return sums
    }

    /// The sums `engine` reduces the job to, tile by tile of `tileWidth` features.
    func reduce(on engine: ComputeEngine, epilogue: EncoderEpilogue, layout: FeatureMatrix.Layout = .rows,
                tileWidth: Int? = nil) throws -> SampleAccumulators {
        var sums = emptySums(epilogue)
        let matrix = self.matrix(layout)
        try engine.setActivations(ActivationChunk(values: x, rows: rows, dimension: d, rowStarts: rowStarts))
        for range in tileCuts(tileWidth ?? features) {
            try engine.loadEncoderTile(tile(matrix, range))
            try engine.reduceEncoderTile(into: &sums)
        }
        return finish(sums)
    }

    /// The same reduction on pre-activations computed here with the exact path's own float32 dot
    /// (ExactFloat32.dot) for every pair: what the certified pass must equal bit for bit, since it
    /// only skips pairs that activate to nothing or cannot be selected.
    func reduceOnExactDots(epilogue: EncoderEpilogue, tileWidth: Int? = nil) -> SampleAccumulators {
        var sums = emptySums(epilogue)
        let matrix = self.matrix(.rows)
        for range in tileCuts(tileWidth ?? features) {
            var pre = [Float](repeating: 0, count: rows * range.count)
            x.withUnsafeBufferPointer { xs in
                w.withUnsafeBufferPointer { ws in
                    for r in 0..<rows {
                        for (j, f) in range.enumerated() {
                            pre[r * range.count + j] = ExactFloat32.dot(xs.baseAddress! + r * d, ws.baseAddress! + f * d, count: d)
                        }
                    }
                }
            }
            // The engines reduce pieces of 256 features in order; the tests' tiles are one piece.
            precondition(range.count <= CPUEngine.pieceWidth)
            if epilogue.selection {
                sums.select(preActivations: pre, features: range, bias: bias)
            } else {
                // Each tile reduced on its own and absorbed, as the engines do.
                var part = sums.empty(samples: samples)
                pre.withUnsafeBufferPointer { part.add($0.baseAddress!, tile: tile(matrix, range), rowStarts: rowStarts) }
                sums.absorb(part)
            }
        }
        return finish(sums)
    }

    private func finish(_ sums: SampleAccumulators) -> SampleAccumulators {
        guard let state = sums.selection else { return sums }
        var done = sums
        done.add(state, proximity: proximity, rowStarts: rowStarts[...])
        return done
    }

    /// float64 pre-activation plus bias of (row, feature), and the level its activation compares
    /// with (the JumpReLU threshold, else 0).
    func exactValue(_ row: Int, _ f: Int) -> (value: Double, level: Double) {
        var dot = 0.0
        for i in 0..<d { dot += Double(x[row * d + i]) * Double(w[f * d + i]) }
        return (dot + Double(bias[f]), thresholds.map { max(0, Double($0[f])) } ?? 0)
    }

    /// Samples with a pair whose float64 pre-activation is within `relative` of its threshold (the
    /// level minus the bias): where float32 and bfloat16 may differ.
    func samplesNearThreshold(_ relative: Double = 1e-5) -> Set<Int> {
        var near = Set<Int>()
        for s in 0..<samples {
            for row in rowStarts[s]..<rowStarts[s + 1] {
                for f in 0..<features {
                    // In pre-activation terms: x . w against the threshold level - b.
                    let (value, level) = exactValue(row, f), pre = value - Double(bias[f]), threshold = level - Double(bias[f])
                    if abs(pre - threshold) <= relative * max(abs(pre), abs(threshold), 1e-30) { near.insert(s) }
                }
            }
        }
        return near
    }
}
