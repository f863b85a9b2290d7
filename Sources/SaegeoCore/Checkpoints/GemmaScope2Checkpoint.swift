import Foundation

extension SAECheckpoint {
    /// Gemma Scope 2 (Gemma 3): one folder per SAE, `<site>/layer_L_width_W_l0_X[_affine]/` with
    /// config.json and params.safetensors: w_enc [d_in, d_sae], w_dec [d_sae, d_out], b_enc,
    /// b_dec, threshold, and in the affine variants affine_skip_connection [d_in, d_out] (which
    /// only adds to the output, so the encoder ignores it). JumpReLU, `pre > threshold`, with no
    /// b_dec subtraction. Sites: resid_post, attn_out, mlp_out, and transcoder (reads the
    /// pre-feedforward norm's output, writes the post-feedforward norm's: scoring reads the
    /// input site's activations). Cross-layer transcoders (params_layer_i.safetensors,
    /// w_dec [d_sae, n_layers, d_model]) are refused: their features have no single direction.
    static func openGemmaScope2(_ path: String) throws -> SAECheckpoint {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let folder = isDirectory.boolValue ? path : PathName.folder(path)
        let weightsPath = isDirectory.boolValue ? PathName.join(folder, "params.safetensors") : path
        if !FileManager.default.fileExists(atPath: weightsPath),
           FileManager.default.fileExists(atPath: PathName.join(folder, "params_layer_0.safetensors")) {
            throw SaegeoError.badFile("\(path) is a Gemma Scope 2 cross-layer transcoder (params_layer_i.safetensors), whose features write to many layers and have no one decoder direction; saegeo reads the single-layer SAEs and transcoders")
        }
        let configPath = PathName.join(folder, "config.json")
        let config = FileManager.default.fileExists(atPath: configPath) ? try JSONConfig(path: configPath) : nil
        let weights = try SafetensorsFile(path: weightsPath)
        let check = ShapeCheck(path: weightsPath)
        func tensor(_ name: String) -> StoredTensor? {
            weights.tensor(name) ?? weights.tensors.first { $0.name.lowercased() == name }
        }
        if let w = tensor("w_dec"), w.shape.count == 3 {
            throw SaegeoError.badFile("\(weightsPath): w_dec has shape \(w.shape), a multi-layer crosscoder or transcoder decoder [d_sae, n_layers, d_model]; saegeo reads single-layer SAEs and transcoders (w_dec [d_sae, d_model])")
        }
        if let declared = try config?.string("architecture"), !["jump_relu", "jumprelu"].contains(declared.lowercased()) {
            throw SaegeoError.badFile("\(configPath): architecture '\(declared)' is not a Gemma Scope 2 SAE (they are jump_relu)")
        }
        let decoder = try check.matrix(tensor("w_dec"), "w_dec")
        let dSAE = decoder.shape[0], dOut = decoder.shape[1]
        if let declared = try config?.int("width") ?? config?.int("d_sae"), declared != dSAE {
            throw SaegeoError.badFile("\(configPath): the width is \(declared) but w_dec has shape \(decoder.shape) (d_sae \(dSAE))")
        }
        if tensor("w_enc") == nil {
            // A decoder-only copy (the directions are all neighbours need).
            var checkpoint = SAECheckpoint(path: path, format: .gemmaScope2, fileBytes: weights.file.size,
                                           tensors: weights.tensors, decoderTensor: decoder, decoderFeatureAxis: 0,
                                           architecture: .jumpReLU, encoder: nil)
            checkpoint.encoderUnsupported = "\(weightsPath) holds no w_enc, only the decoder; neighbours work, scoring needs the full params.safetensors"
            return checkpoint
        }
        let encoderWeight = try check.matrix(tensor("w_enc"), "w_enc")
        guard encoderWeight.shape[1] == dSAE else {
            throw SaegeoError.badFile("\(weightsPath): w_enc has shape \(encoderWeight.shape) but w_dec has \(decoder.shape); w_enc must be [d_in, \(dSAE)]")
        }
        let dIn = encoderWeight.shape[0]
        if let skip = tensor("affine_skip_connection") { _ = try check.require(skip, skip.name, shape: [dIn, dOut]) }

        let site = gemmaScope2Site(folder: folder, config: config)
        let hookIn = try config?.string("hf_hook_point_in"), hookOut = try config?.string("hf_hook_point_out")
        if site != "transcoder", dIn != dOut {
            throw SaegeoError.badFile("\(weightsPath): w_enc reads d_in \(dIn) but w_dec writes \(dOut); only a transcoder may differ")
        }
        let encoder = Encoder(
            weight: encoderWeight,
            weightFeatureAxis: 1,
            bias: try check.require(tensor("b_enc"), "b_enc", shape: [dSAE]),
            decoderBias: try check.require(tensor("b_dec"), "b_dec", shape: [dOut]),
            threshold: .perFeature(try check.require(tensor("threshold"), "threshold", shape: [dSAE])),
            subtractDecoderBias: false,
            inputScaling: .none)
        var checkpoint = SAECheckpoint(path: path, format: .gemmaScope2,
                                       fileBytes: weights.file.size + (config == nil ? 0 : fileSize(configPath)),
                                       tensors: weights.tensors, decoderTensor: decoder, decoderFeatureAxis: 0,
                                       architecture: .jumpReLU, encoder: encoder)
        if let site { checkpoint.details.append(Detail("site", site)) }
        if tensor("affine_skip_connection") != nil { checkpoint.details.append(Detail("variant", "affine (skip connection, output only)")) }
        checkpoint.hook = hookIn
        if let hookOut, hookOut != hookIn { checkpoint.details.append(Detail("writes", hookOut)) }
        return checkpoint
    }

    /// The site from the folder names (`resid_post/layer_12_width_16k_l0_small`) or the config.
    private static func gemmaScope2Site(folder: String, config: JSONConfig?) -> String? {
        let sites = ["resid_post", "attn_out", "mlp_out", "transcoder"]
        let parts = folder.split(separator: "/").map(String.init).reversed()
        for part in parts {
            if let site = sites.first(where: { part == $0 || part.hasPrefix($0 + "_") }) { return site }
        }
        if let hook = try? config?.string("hf_hook_point_in") {
            if hook.contains("pre_feedforward_layernorm") { return "transcoder" }
            if hook.contains("o_proj") { return "attn_out" }
            if hook.contains("post_feedforward_layernorm") { return "mlp_out" }
            if hook.hasSuffix(".output") { return "resid_post" }
        }
        return nil
    }
}
