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
    /// The bound that keeps every pre-activation finite (checked per chunk of rows).
    let range: EncoderRange

    public var features: Int { weights.features }
    public var dimension: Int { weights.dimension }

    public init(checkpoint: SAECheckpoint, architecture: SAECheckpoint.Architecture? = nil, topK: Int? = nil) throws {
        if let reason = checkpoint.encoderUnsupported { throw SaegeoError.badInput(reason) }
        guard let encoder = checkpoint.encoder else {
            throw SaegeoError.badInput("\(checkpoint.path) is a bare decoder matrix; scoring needs a full SAE checkpoint of one of the families --format lists")
        }
        let path = checkpoint.path
        weights = try encoder.weight.featureMatrix(featureAxis: encoder.weightFeatureAxis)
        // Every value computed with is checked once here (FiniteTensors): W_enc in one pass on all
        // cores that also gives the row norms the overflow bound needs.
        let weightNorms = try FiniteTensors.featureNorms(weights, tensor: encoder.weight,
                                                         featureAxis: encoder.weightFeatureAxis, in: path)
        bias = try encoder.bias.floatValues()
        try FiniteTensors.require(bias, of: encoder.bias, in: path)
        decoderBias = encoder.subtractDecoderBias ? try encoder.decoderBias.floatValues() : nil
        if let decoderBias { try FiniteTensors.require(decoderBias, of: encoder.decoderBias, in: path) }
        rowNormalization = encoder.inputScaling == .layerNorm ? .layerNorm : encoder.inputScaling == .unitNorm ? .unitNorm : .none
        switch encoder.inputScaling {
        case .none, .layerNorm, .unitNorm: inputScale = 1
        case .constant(let s):
            inputScale = Float(s)
            guard inputScale.isFinite else {
                throw SaegeoError.badFile("\(path): the input scaling factor \(s) is not a finite float32; fix the checkpoint's configuration")
            }
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
            let logScale = try path.logScale.floatValues(), magnitudeBias = try path.bias.floatValues()
            try FiniteTensors.require(logScale, of: path.logScale, in: checkpoint.path)
            try FiniteTensors.require(magnitudeBias, of: path.bias, in: checkpoint.path)
            let scale = logScale.map { Float(exp(Double($0))) }
            if let f = scale.firstIndex(where: { !$0.isFinite }) {
                throw SaegeoError.badFile("\(checkpoint.path): exp(\(path.logScale.name)[\(f)]) = exp(\(logScale[f])) overflows float32; every value the encoder uses must be finite; fix or re-export the checkpoint")
            }
            magnitude = MagnitudePath(scale: scale, bias: magnitudeBias)
        case .relu:
            magnitude = nil
            activation = .relu
            thresholds = nil
        case .jumpReLU:
            magnitude = nil
            activation = .jumpReLU
            switch encoder.threshold {
            case .perFeature(let t):
                let values = try t.floatValues()
                try FiniteTensors.require(values, of: t, in: path)
                thresholds = values
            case .scalar(let t):
                guard Float(t).isFinite else {
                    throw SaegeoError.badFile("\(path): the JumpReLU threshold \(t) is not a finite float32; fix the checkpoint's configuration")
                }
                thresholds = [Float](repeating: Float(t), count: weights.features)
            case .exponent(let t, let overDecoderNorm):
                let logs = try t.floatValues()
                try FiniteTensors.require(logs, of: t, in: path)
                var norms: [Double]? = nil
                if overDecoderNorm {
                    // The thresholds divide by the decoder's norms: W_dec is an input of the encoder
                    // here, so a non-finite entry is refused rather than read as a dead direction.
                    let decoder = try checkpoint.decoder()
                    _ = try FiniteTensors.featureNorms(decoder, tensor: checkpoint.decoderTensor,
                                                       featureAxis: checkpoint.decoderFeatureAxis, in: path)
                    norms = FeatureNorms(of: decoder, features: Array(0..<decoder.features)).norms
                }
                let values = logs.enumerated().map { f, log -> Float in
                    let threshold = exp(Double(log))
                    guard let norms else { return Float(threshold) }
                    // A dead direction never passes: pre * 0 > threshold is false for every pre.
                    return norms[f] > 0 ? Float(threshold / norms[f]) : .infinity
                }
                if let f = values.indices.first(where: { !values[$0].isFinite && (norms == nil || norms![$0] > 0) }) {
                    throw SaegeoError.badFile("\(path): the JumpReLU threshold of feature \(f), exp(\(t.name)[\(f)] = \(logs[f]))\(overDecoderNorm ? " / |W_dec[\(f)]|" : ""), overflows float32; every value the encoder uses must be finite; fix or re-export the checkpoint")
                }
                thresholds = values
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
        range = EncoderRange(norms: weightNorms, bias: bias, magnitudeScale: magnitude?.scale, magnitudeBias: magnitude?.bias)
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
