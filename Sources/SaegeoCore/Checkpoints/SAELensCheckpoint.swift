import Foundation

extension SAECheckpoint {
    /// SAELens (up to 6.x): a folder with cfg.json and sae_weights.safetensors holding
    /// W_enc [d_in, d_sae], W_dec [d_sae, d_out], b_enc [d_sae], b_dec [d_out], and per
    /// architecture threshold [d_sae] (jumprelu) or b_gate, r_mag, b_mag (gated). SAELens 6 moved
    /// the model fields under `metadata` and saves its training-only BatchTopK and Matryoshka
    /// SAEs as jumprelu; transcoders read one site and write another (d_out), and never subtract
    /// b_dec from their input.
    static func openSAELens(_ path: String) throws -> SAECheckpoint {
        let folder = path.hasSuffix(".safetensors") ? PathName.folder(path) : path
        let configPath = PathName.join(folder, "cfg.json")
        let weightsPath = PathName.join(folder, "sae_weights.safetensors")
        let config = try JSONConfig(path: configPath)
        let weights = try SafetensorsFile(path: weightsPath)
        let check = ShapeCheck(path: weightsPath)
        func tensor(_ name: String) -> StoredTensor? { weights.tensor(name) }

        let decoder = try check.matrix(tensor("W_dec"), "W_dec")
        let dSAE = decoder.shape[0], dOut = decoder.shape[1]
        if let declared = try config.int("d_sae"), declared != dSAE {
            throw SaegeoError.badFile("\(configPath): d_sae is \(declared) but W_dec has shape \(decoder.shape) (d_sae \(dSAE))")
        }
        let name = (try config.string("architecture") ?? (tensor("b_gate") != nil ? "gated" : "standard")).lowercased()
        // A checkpoint without its encoder's tensors still has a decoder: neighbours work, and
        // score says what is missing. (Tensors present with the wrong shapes mean a damaged file.)
        let needed = ["W_enc", "b_dec"] + (name == "gated" ? ["b_gate", "r_mag", "b_mag"] : ["b_enc"])
            + (name.hasPrefix("jumprelu") ? ["threshold"] : [])
        let missing = needed.filter { tensor($0) == nil }
        if !missing.isEmpty {
            var checkpoint = SAECheckpoint(path: path, format: .saelens, fileBytes: weights.file.size + fileSize(configPath),
                                           tensors: weights.tensors, decoderTensor: decoder, decoderFeatureAxis: 0,
                                           architecture: nil, encoder: nil)
            checkpoint.hook = (try? config.string("hook_name")) ?? nil
            checkpoint.encoderUnsupported = "\(path): its \(name) encoder needs \(missing.map { "'\($0)'" }.joined(separator: ", ")), which the checkpoint lacks; neighbours of its decoder work, scoring does not"
            return checkpoint
        }
        let encoderWeight = try check.matrix(tensor("W_enc"), "W_enc")
        guard encoderWeight.shape[1] == dSAE else {
            throw SaegeoError.badFile("\(weightsPath): W_enc has shape \(encoderWeight.shape) but W_dec has \(decoder.shape); W_enc must be [d_in, \(dSAE)]")
        }
        let dIn = encoderWeight.shape[0]
        if let declared = try config.int("d_in"), declared != dIn {
            throw SaegeoError.badFile("\(configPath): d_in is \(declared) but W_enc has shape \(encoderWeight.shape) (d_in \(dIn))")
        }
        if let declared = try config.int("d_out"), declared != dOut {
            throw SaegeoError.badFile("\(configPath): d_out is \(declared) but W_dec has shape \(decoder.shape) (d_out \(dOut))")
        }
        let transcoder = name.contains("transcoder")
        if !transcoder, dOut != dIn {
            throw SaegeoError.badFile("\(weightsPath): W_enc reads d_in \(dIn) but W_dec writes \(dOut); only a transcoder's architecture may differ (cfg.json says '\(name)')")
        }
        let version6 = (try config.string("sae_lens_version") ?? config.string("sae_lens_training_version"))
            .flatMap { Int($0.split(separator: ".").first ?? "") }.map { $0 >= 6 } ?? false

        var architecture: Architecture
        var threshold: Encoder.Threshold? = nil
        var magnitude: Encoder.Magnitude? = nil
        var bias = tensor("b_enc")
        switch name {
        case "standard", "relu", "transcoder", "skip_transcoder":
            architecture = .relu
        case "jumprelu", "jumprelu_transcoder", "jumprelu_skip_transcoder":
            architecture = .jumpReLU
            threshold = .perFeature(try check.require(tensor("threshold"), "threshold", shape: [dSAE]))
        case "batchtopk", "matryoshka_batchtopk":
            // A training checkpoint: at inference these are JumpReLU with one threshold.
            architecture = .jumpReLU
            if let perFeature = tensor("threshold") {
                threshold = .perFeature(try check.require(perFeature, "threshold", shape: [dSAE]))
            } else {
                guard let scalar = tensor("topk_threshold"), scalar.elementCount == 1, scalar.scalarType != nil else {
                    throw SaegeoError.badFile("\(weightsPath): a \(name) checkpoint needs 'threshold' [\(dSAE)] or a one-value 'topk_threshold' for inference; save it with SAELens 6, which converts it to jumprelu")
                }
                threshold = .scalar(Double(try scalar.floatValues()[0]))
            }
        case "topk":
            let k = try config.topK("k", features: dSAE) ?? config.section("activation_fn_kwargs")?.topK("k", features: dSAE)
            architecture = .topK(k)
        case "gated":
            architecture = .gated
            bias = try check.require(tensor("b_gate"), "b_gate", shape: [dSAE])
            magnitude = Encoder.Magnitude(logScale: try check.require(tensor("r_mag"), "r_mag", shape: [dSAE]),
                                          bias: try check.require(tensor("b_mag"), "b_mag", shape: [dSAE]))
        default:
            throw SaegeoError.badFile("\(configPath): architecture '\(name)' is not supported; saegeo reads standard, jumprelu, topk, gated, batchtopk, matryoshka_batchtopk and the transcoder variants")
        }
        let applyDecoderBias = try config.bool("apply_b_dec_to_input")
        if transcoder, applyDecoderBias == true {
            throw SaegeoError.badFile("\(configPath): a transcoder never subtracts b_dec from its input (SAELens refuses apply_b_dec_to_input); set it to false")
        }
        let encoder = Encoder(
            weight: encoderWeight,
            weightFeatureAxis: 1,
            bias: try check.require(bias, architecture == .gated ? "b_gate" : "b_enc", shape: [dSAE]),
            decoderBias: try check.require(tensor("b_dec"), "b_dec", shape: [dOut]),
            threshold: threshold,
            subtractDecoderBias: !transcoder && (applyDecoderBias ?? (architecture != .jumpReLU)),
            inputScaling: try inputScaling(config, version6: version6),
            magnitude: magnitude)
        var checkpoint = SAECheckpoint(path: path, format: .saelens, fileBytes: weights.file.size + fileSize(configPath),
                                       tensors: weights.tensors, decoderTensor: decoder, decoderFeatureAxis: 0,
                                       architecture: architecture, encoder: encoder)
        // What it reads is information, not part of the encoding: a hook_name of the wrong type
        // (refused anywhere it mattered) only leaves the site unsaid.
        checkpoint.hook = (try? config.string("hook_name")) ?? nil
        return checkpoint
    }

    /// `normalize_activations`: a string in SAELens 6 (a boolean before). SAELens 6 folds the
    /// dataset-wide factors (expected_average_only_in, covariance_whitening) into the saved
    /// weights, so only the per-row ones remain to apply; before 6 those factors were not folded.
    private static func inputScaling(_ config: JSONConfig, version6: Bool) throws -> Encoder.InputScaling {
        if let flag = config.value("normalize_activations")?.boolValue {
            return flag ? .normalize("expected_average_only_in") : .none
        }
        switch try config.string("normalize_activations") ?? "none" {
        case "none": return .none
        case "layer_norm": return .layerNorm
        case "constant_norm_rescale": return .unitNorm
        case let folded where version6 && ["expected_average_only_in", "covariance_whitening"].contains(folded): return .none
        case let other: return .normalize(other)
        }
    }
}
