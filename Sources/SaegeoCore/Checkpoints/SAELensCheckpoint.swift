import Foundation

extension SAECheckpoint {
    /// SAELens: a folder with cfg.json and sae_weights.safetensors holding W_enc [d_in, d_sae],
    /// W_dec [d_sae, d_in], b_enc [d_sae], b_dec [d_in] and, for JumpReLU, threshold [d_sae].
    static func openSAELens(_ path: String) throws -> SAECheckpoint {
        let folder = path.hasSuffix(".safetensors") ? PathName.folder(path) : path
        let configPath = PathName.join(folder, "cfg.json")
        let weightsPath = PathName.join(folder, "sae_weights.safetensors")
        let config = try JSONConfig(path: configPath)
        let weights = try SafetensorsFile(path: weightsPath)
        let check = ShapeCheck(path: weightsPath)

        let decoder = try check.matrix(weights.tensor("W_dec"), "W_dec")
        let dSAE = decoder.shape[0], dIn = decoder.shape[1]
        if let declared = try config.int("d_in"), declared != dIn {
            throw SaegeoError.badFile("\(configPath): d_in is \(declared) but W_dec has shape \(decoder.shape) (d_in \(dIn))")
        }
        if let declared = try config.int("d_sae"), declared != dSAE {
            throw SaegeoError.badFile("\(configPath): d_sae is \(declared) but W_dec has shape \(decoder.shape) (d_sae \(dSAE))")
        }
        let declared = (config.string("architecture") ?? "standard").lowercased()
        if declared == "gated" || weights.tensor("b_gate") != nil || weights.tensor("r_mag") != nil {
            // The decoder serves neighbours as usual; the gate and magnitude paths are not read yet.
            var checkpoint = SAECheckpoint(path: path, format: .saelens, fileBytes: weights.file.size + fileSize(configPath),
                                           tensors: weights.tensors, decoderTensor: decoder, decoderFeatureAxis: 0,
                                           architecture: nil, encoder: nil)
            checkpoint.encoderUnsupported = "\(path) is a gated SAE, whose encoder saegeo does not read yet (it reads standard, jumprelu and topk encoders); neighbours of its decoder work, scoring does not"
            return checkpoint
        }
        let architecture: Architecture
        switch declared {
        case "standard", "relu": architecture = .relu
        case "jumprelu": architecture = .jumpReLU
        case "topk", "batchtopk":
            let k = try config.int("k") ?? (config.object("activation_fn_kwargs")?["k"] as? NSNumber)?.intValue
            architecture = .topK(k)
        case let other:
            throw SaegeoError.badFile("\(configPath): architecture '\(other)' is not supported; saegeo reads standard (ReLU), jumprelu and topk SAEs")
        }
        let encoder = Encoder(
            weight: try check.require(weights.tensor("W_enc"), "W_enc", shape: [dIn, dSAE]),
            weightFeatureAxis: 1,
            bias: try check.require(weights.tensor("b_enc"), "b_enc", shape: [dSAE]),
            decoderBias: try check.require(weights.tensor("b_dec"), "b_dec", shape: [dIn]),
            threshold: architecture == .jumpReLU
                ? .perFeature(try check.require(weights.tensor("threshold"), "threshold", shape: [dSAE])) : nil,
            subtractDecoderBias: config.bool("apply_b_dec_to_input") ?? (architecture != .jumpReLU),
            inputScaling: config.string("normalize_activations").flatMap { $0 == "none" ? nil : .normalize($0) } ?? .none)
        return SAECheckpoint(path: path, format: .saelens, fileBytes: weights.file.size + fileSize(configPath),
                             tensors: weights.tensors, decoderTensor: decoder, decoderFeatureAxis: 0,
                             architecture: architecture, encoder: encoder)
    }
}
