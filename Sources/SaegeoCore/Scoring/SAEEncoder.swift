/// The encoder of an SAE in float32, ready to apply to tiles of activations (DESIGN.md):
/// `pre = x' W_enc + b_enc` with `x' = (x - b_dec)` when the checkpoint subtracts b_dec and scaled
/// when it scales inputs; then JumpReLU, ReLU or TopK.
public struct SAEEncoder: Sendable {
    public typealias Activation = EncoderActivation

    /// W_enc with one row per feature.
    public let weights: FeatureMatrix
    public let bias: [Float]
    public let decoderBias: [Float]?
    public let thresholds: [Float]?
    public let inputScale: Float
    public let activation: Activation

    public var features: Int { weights.features }
    public var dimension: Int { weights.dimension }

    public init(checkpoint: SAECheckpoint, architecture: SAECheckpoint.Architecture? = nil, topK: Int? = nil) throws {
        if let reason = checkpoint.encoderUnsupported { throw SaegeoError.badInput(reason) }
        guard let encoder = checkpoint.encoder else {
            throw SaegeoError.badInput("\(checkpoint.path) is a bare decoder matrix; scoring needs a full SAE checkpoint (SAELens, Gemma Scope or Llama Scope)")
        }
        weights = try encoder.weight.featureMatrix(featureAxis: encoder.weightFeatureAxis)
        bias = try encoder.bias.floatValues()
        decoderBias = encoder.subtractDecoderBias ? try encoder.decoderBias.floatValues() : nil
        switch encoder.inputScaling {
        case .none: inputScale = 1
        case .constant(let s): inputScale = Float(s)
        case .normalize(let mode):
            throw SaegeoError.badInput("\(checkpoint.path): normalize_activations '\(mode)' needs the dataset's average norm, which saegeo does not estimate yet; export activations already normalised and set it to none")
        }
        let chosen = architecture ?? checkpoint.architecture ?? .relu
        if let topK {
            guard case .topK = chosen else {
                throw SaegeoError(.usage, "--topk applies to TopK SAEs, and \(checkpoint.path) is \(chosen): drop --topk, or add --architecture topk")
            }
            guard topK >= 1 else { throw SaegeoError(.usage, "--topk must be at least 1 (got \(topK))") }
        }
        switch chosen {
        case .relu:
            activation = .relu
            thresholds = nil
        case .jumpReLU:
            activation = .jumpReLU
            switch encoder.threshold {
            case .perFeature(let t): thresholds = try t.floatValues()
            case .scalar(let t): thresholds = [Float](repeating: Float(t), count: weights.features)
            case nil:
                throw SaegeoError.badInput("\(checkpoint.path) has no JumpReLU threshold; choose --architecture relu or topk")
            }
        case .topK(let k):
            guard let k = topK ?? k, k >= 1 else {
                throw SaegeoError.badInput("\(checkpoint.path): a TopK SAE needs its K; pass --topk K")
            }
            activation = .topK(min(k, weights.features))
            thresholds = nil
        }
    }
}
