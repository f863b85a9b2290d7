import Foundation

/// The encoder of an SAE in float32, ready to apply to tiles of activations (DESIGN.md):
/// `pre = x' W_enc + b_enc` with `x' = (x - b_dec)` when the checkpoint subtracts b_dec and scaled
/// when it scales inputs; then JumpReLU, ReLU, TopK or gated.
public struct SAEEncoder: Sendable {
    public typealias Activation = EncoderActivation

    /// W_enc with one row per feature.
    public let weights: FeatureMatrix
    public let bias: [Float]
    public let decoderBias: [Float]?
    public let thresholds: [Float]?
    public let inputScale: Float
    /// A per-row normalisation applied first (before b_dec is subtracted).
    public let rowNormalization: RowNormalization
    public let activation: Activation
    /// A gated encoder's magnitude path (`bias` is then the gate's bias).
    public let magnitude: MagnitudePath?

    public var features: Int { weights.features }
    public var dimension: Int { weights.dimension }

    public init(checkpoint: SAECheckpoint, architecture: SAECheckpoint.Architecture? = nil, topK: Int? = nil) throws {
        if let reason = checkpoint.encoderUnsupported { throw SaegeoError.badInput(reason) }
        guard let encoder = checkpoint.encoder else {
            throw SaegeoError.badInput("\(checkpoint.path) is a bare decoder matrix; scoring needs a full SAE checkpoint of one of the families --format lists")
        }
        weights = try encoder.weight.featureMatrix(featureAxis: encoder.weightFeatureAxis)
        bias = try encoder.bias.floatValues()
        decoderBias = encoder.subtractDecoderBias ? try encoder.decoderBias.floatValues() : nil
        rowNormalization = encoder.inputScaling == .layerNorm ? .layerNorm : encoder.inputScaling == .unitNorm ? .unitNorm : .none
        switch encoder.inputScaling {
        case .none, .layerNorm, .unitNorm: inputScale = 1
        case .constant(let s): inputScale = Float(s)
        case .normalize(let mode):
            throw SaegeoError.badInput("\(checkpoint.path): normalize_activations '\(mode)' needs the dataset's average norm, which saegeo does not estimate yet; export activations already normalised and set it to none")
        }
        let chosen = architecture ?? checkpoint.architecture ?? .relu
        if let topK {
            guard case .topK = chosen else {
                throw SaegeoError(.usage, "--topk applies to TopK SAEs, and \(checkpoint.path) is \(chosen): drop --topk, or add --architecture topk")
            }
            guard (1...max(1, weights.features)).contains(topK) else {
                throw SaegeoError(.usage, "--topk must be between 1 and the SAE's \(weights.features) features (got \(topK))")
            }
        }
        switch chosen {
        case .gated:
            guard let path = encoder.magnitude else {
                throw SaegeoError.badInput("\(checkpoint.path) has no magnitude path (r_mag, b_mag); a gated encoder needs one")
            }
            activation = .gated
            thresholds = nil
            magnitude = MagnitudePath(scale: try path.logScale.floatValues().map { Float(exp(Double($0))) },
                                      bias: try path.bias.floatValues())
        case .relu:
            magnitude = nil
            activation = .relu
            thresholds = nil
        case .jumpReLU:
            magnitude = nil
            activation = .jumpReLU
            switch encoder.threshold {
            case .perFeature(let t): thresholds = try t.floatValues()
            case .scalar(let t): thresholds = [Float](repeating: Float(t), count: weights.features)
            case .exponent(let t, let overDecoderNorm):
                let decoder = try checkpoint.decoder()
                let norms = overDecoderNorm ? FeatureNorms(of: decoder, features: Array(0..<decoder.features)).norms : nil
                thresholds = try t.floatValues().enumerated().map { f, log in
                    let threshold = exp(Double(log))
                    guard let norms else { return Float(threshold) }
                    // A dead direction never passes: pre * 0 > threshold is false for every pre.
                    return norms[f] > 0 ? Float(threshold / norms[f]) : .infinity
                }
            case nil:
                throw SaegeoError.badInput("\(checkpoint.path) has no JumpReLU threshold; choose --architecture relu or topk")
            }
        case .topK(let k):
            guard let k = topK ?? k else {
                throw SaegeoError.badInput("\(checkpoint.path): a TopK SAE needs its K and the checkpoint does not say it; pass --topk K")
            }
            // The checkpoint's own K (a .pt buffer; configs are checked as they are read).
            guard (1...max(1, weights.features)).contains(k) else {
                throw SaegeoError.badInput("\(checkpoint.path): the checkpoint's K is \(k), not a valid K for its \(weights.features) features (1 to \(weights.features)); fix it, or pass --topk K")
            }
            activation = .topK(k)
            magnitude = nil
            thresholds = nil
        case .groupMax(let groups):
            guard groups >= 1, weights.features % groups == 0 else {
                throw SaegeoError.badInput("\(checkpoint.path): a GroupMax SAE's \(weights.features) features do not split into \(groups) equal groups; check k in its cfg.json")
            }
            activation = .groupMax(groups)
            magnitude = nil
            thresholds = nil
        }
    }
}

/// A normalisation of each activation row before the encoder (DESIGN.md, SAE encoding).
public enum RowNormalization: Sendable, Equatable {
    case none
    /// (x - mean) / (sample standard deviation (n - 1) + 1e-5).
    case layerNorm
    /// x * sqrt(d) / |x|.
    case unitNorm

    /// Normalises `count` floats in place, in float64.
    func apply(_ row: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .none: return
        case .layerNorm:
            var sum = 0.0
            for i in 0..<count { sum += Double(row[i]) }
            let mean = sum / Double(count)
            var squares = 0.0
            for i in 0..<count { squares += (Double(row[i]) - mean) * (Double(row[i]) - mean) }
            let deviation = count > 1 ? (squares / Double(count - 1)).squareRoot() : 0
            for i in 0..<count { row[i] = Float((Double(row[i]) - mean) / (deviation + 1e-5)) }
        case .unitNorm:
            var squares = 0.0
            for i in 0..<count { squares += Double(row[i]) * Double(row[i]) }
            let norm = squares.squareRoot()
            // A zero row stays zero.
            guard norm > 0 else { return }
            let factor = Double(count).squareRoot() / norm
            for i in 0..<count { row[i] = Float(Double(row[i]) * factor) }
        }
    }
}
