import SaegeoCore

/// Encoder tiles in float64: each pre-activation summed in Double over the chunk's float32 rows
/// and the tile's float32 weights, the bias added and the activation (ReLU, JumpReLU, gated)
/// applied in Double, and the per-sample sums reduced in Double, in the CPU engine's order (per
/// sample: its rows, each row's features in order). They reach the accumulators unrounded.
extension Float64Engine {
    func setActivations(_ chunk: ActivationChunk) throws {
        self.chunk = chunk
    }

    func loadEncoderTile(_ tile: EncoderTile) throws {
        let d = tile.weights.dimension
        var row = [Float](repeating: 0, count: max(1, d))
        weights = []
        weights.reserveCapacity(tile.features.count * d)
        for f in tile.features {
            row.withUnsafeMutableBufferPointer { tile.weights.copyFeature(f, into: $0.baseAddress!) }
            weights += row.map(Double.init)
        }
        self.tile = tile
    }

    /// pre[row, j] = x[row] . W_enc[first + j], without the bias, in float64.
    private func preActivations(_ chunk: ActivationChunk, _ tile: EncoderTile) -> [Double] {
        let d = chunk.dimension, width = tile.features.count
        var pre = [Double](repeating: 0, count: chunk.rows * width)
        for row in 0..<chunk.rows {
            for j in 0..<width {
                var sum = 0.0
                for i in 0..<d { sum += Double(chunk.values[row * d + i]) * weights[j * d + i] }
                pre[row * width + j] = sum
            }
        }
        return pre
    }

    /// Feature f's activation from its pre-activation without bias (EncoderTile's activations;
    /// TopK and GroupMax select from the pre-activations instead: `reduceEncoderTile`).
    private static func activate(_ product: Double, feature f: Int, tile: EncoderTile) -> Double {
        let value = product + Double(tile.bias[f])
        switch tile.activation {
        case .relu:
            return max(value, 0)
        case .jumpReLU:
            return value > 0 && value > Double(tile.thresholds![f]) ? value : 0
        case .gated:
            // The gate decides whether it fires, the magnitude path how much.
            guard value > 0, let magnitude = tile.magnitude else { return 0 }
            return max(product * Double(magnitude.scale[f]) + Double(magnitude.bias[f]), 0)
        case .topK, .groupMax:
            preconditionFailure("\(tile.activation) selects across tiles on the host")
        }
    }

    func reduceEncoderTile(into sums: inout SampleAccumulators) throws {
        guard let chunk, let tile else { preconditionFailure("activations and tile first") }
        if sums.epilogue.selection {
            // The pre-activations rounded to float32 once: the selection takes float32, as from
            // the other engines.
            sums.select(preActivations: preActivations(chunk, tile).map(Float.init), features: tile.features, bias: tile.bias)
            return
        }
        let samples = chunk.samples, width = tile.features.count, first = tile.features.lowerBound
        guard samples > 0 else { return }
        let pre = preActivations(chunk, tile)
        var numerator = [Double](repeating: 0, count: samples), denominator = numerator
        var active = [Int32](repeating: 0, count: samples)
        var totals = [Double](repeating: 0, count: width)
        var featureSums = [Double](repeating: 0, count: samples * width)
        var featureTokens = [Int32](repeating: 0, count: samples * width)
        for s in 0..<samples {
            for row in chunk.rowStarts[s]..<chunk.rowStarts[s + 1] {
                for j in 0..<width {
                    let a = Self.activate(pre[row * width + j], feature: first + j, tile: tile)
                    guard a > 0 else { continue }
                    numerator[s] += a * Double(tile.proximity[first + j])
                    denominator[s] += a
                    totals[j] += a
                    featureSums[s * width + j] += a
                    featureTokens[s * width + j] += 1
                }
            }
            // Features distinct per sample count once, however many of its tokens they fire on.
            active[s] = Int32(featureTokens[(s * width)..<((s + 1) * width)].filter { $0 > 0 }.count)
        }
        sums.addDeviceSums(numerator: numerator, denominator: denominator, active: active, totals: totals,
                           featureSums: featureSums, featureTokens: featureTokens, features: tile.features,
                           proximity: tile.proximity)
    }
}
