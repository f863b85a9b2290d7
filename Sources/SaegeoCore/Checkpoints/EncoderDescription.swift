import Foundation

extension SAECheckpoint {
    /// How the checkpoint encodes, in one line for `inspect` (the tensors' own names), or why
    /// saegeo does not; nil for a bare decoder matrix.
    public var encoderDescription: String? {
        if let encoderUnsupported { return "not read: \(encoderUnsupported)" }
        guard let e = encoder else { return nil }
        var input: String
        switch e.inputScaling {
        case .none: input = "x"
        case .constant(let c): input = String(format: "%.6g x", c)
        case .normalize(let mode): input = "x (needs normalize_activations '\(mode)', not applied)"
        case .layerNorm: input = "layernorm(x)"
        case .unitNorm: input = "x sqrt(d)/|x|"
        }
        if e.subtractDecoderBias { input = "(\(input) - \(e.decoderBias.name))" }
        let weight = e.weightFeatureAxis == 0 ? "\(e.weight.name)ᵀ" : e.weight.name
        let pre = "\(input) \(weight)"
        switch architecture {
        case .gated?:
            let m = e.magnitude
            return "gated: p = \(pre); fires where p + \(e.bias.name) > 0, with relu(p exp(\(m?.logScale.name ?? "r_mag")) + \(m?.bias.name ?? "b_mag"))"
        case .jumpReLU?:
            let threshold: String
            switch e.threshold {
            case .perFeature(let t)?: threshold = t.name
            case .scalar(let t)?: threshold = String(format: "%.6g", t)
            case .exponent(let t, let overNorm)?: threshold = "exp(\(t.name))" + (overNorm ? " / |decoder direction|" : "")
            case nil: threshold = "(missing)"
            }
            return "jumprelu: pre = \(pre) + \(e.bias.name); a = pre where pre > \(threshold)"
        case .topK(let k)?:
            return "topk: pre = \(pre) + \(e.bias.name); the \(k.map(String.init) ?? "K (pass --topk)") largest relu(pre) per token"
        case .groupMax(let k)?:
            return "groupmax: pre = \(pre) + \(e.bias.name); the largest relu(pre) of each of \(k) feature groups per token"
        case .relu?, nil:
            return "relu: a = relu(\(pre) + \(e.bias.name))"
        }
    }
}
