import Foundation

extension SAECheckpoint {
    /// Llama Scope R1 (the R1-distill SAEs, lm_saes): config.json and sae_weights.safetensors with
    /// encoder.weight [d_sae, d_model], encoder.bias, decoder.weight [d_model, d_sae] (directions
    /// are columns), decoder.bias and log_jumprelu_threshold [d_sae]. lm_saes encodes
    /// x * sqrt(d_model) / dataset_average_activation_norm (dataset-wise normalisation), minus
    /// decoder.bias when apply_decoder_bias_to_pre_encoder, then keeps pre where
    /// pre * |decoder direction| > exp(log threshold) (without the norm when
    /// sparsity_include_decoder_norm is false).
    static func openLlamaScopeR1(_ path: String) throws -> SAECheckpoint {
        let folder = path.hasSuffix(".safetensors") ? PathName.folder(path) : path
        let configPath = PathName.join(folder, "config.json")
        let weightsPath = path.hasSuffix(".safetensors") ? path : PathName.join(folder, "sae_weights.safetensors")
        let config = try JSONConfig(path: configPath)
        let weights = try SafetensorsFile(path: weightsPath)
        let check = ShapeCheck(path: weightsPath)
        func tensor(_ names: String...) -> StoredTensor? { check.named(names, in: weights.tensors) }

        let encoderWeight = try check.matrix(tensor("encoder.weight"), "encoder.weight")
        let dSAE = encoderWeight.shape[0], dModel = encoderWeight.shape[1]
        if let declared = try config.int("d_model"), declared != dModel {
            throw SaegeoError.badFile("\(configPath): d_model is \(declared) but encoder.weight has shape \(encoderWeight.shape) (d_model \(dModel))")
        }
        if let factor = try config.int("expansion_factor"), factor * dModel != dSAE, try config.int("d_sae") == nil {
            throw SaegeoError.badFile("\(configPath): expansion_factor \(factor) x d_model \(dModel) is not the \(dSAE) features of encoder.weight")
        }
        let decoder = try check.matrix(tensor("decoder.weight"), "decoder.weight")
        let decoderAxis = try check.featureAxis(decoder, features: dSAE, dimension: dModel, preferred: 1)

        let act = (try config.string("act_fn") ?? "jumprelu").lowercased()
        var architecture: Architecture
        var threshold: Encoder.Threshold? = nil
        switch act {
        case "jumprelu":
            architecture = .jumpReLU
            if let log = tensor("log_jumprelu_threshold", "activation_function.log_jumprelu_threshold") {
                threshold = .exponent(try check.require(log, log.name, shape: [dSAE]),
                                      overDecoderNorm: try config.bool("sparsity_include_decoder_norm") ?? true)
            } else if let scalar = try config.double("jump_relu_threshold") {
                threshold = .scalar(scalar)
            } else {
                throw SaegeoError.badFile("\(weightsPath): tensor 'log_jumprelu_threshold' is missing; a JumpReLU Llama Scope R1 SAE needs it")
            }
        case "topk": architecture = .topK(try config.topK("top_k", features: dSAE))
        case "relu": architecture = .relu
        default:
            throw SaegeoError.badFile("\(configPath): act_fn '\(act)' is not supported; saegeo reads jumprelu, topk and relu")
        }

        var scaling = Encoder.InputScaling.none
        var unsupported: String?
        if (try config.string("norm_activation") ?? "dataset-wise") == "dataset-wise" {
            let hook = try config.string("hook_point_in") ?? ""
            let stored = tensor("dataset_average_activation_norm.\(hook)", "dataset_average_activation_norm.in")
            let norms = try config.section("dataset_average_activation_norm")
            let number = try stored.map { Double(try $0.floatValues().first ?? 0) }
                ?? norms?.double(hook) ?? norms?.double("in")
            if let number {
                guard number > 0, number.isFinite else {
                    throw SaegeoError.badFile("\(path): dataset_average_activation_norm is \(number); it must be a positive number")
                }
                scaling = .constant(Double(dModel).squareRoot() / number)
            } else {
                unsupported = "\(path) normalises inputs dataset-wise but holds no dataset_average_activation_norm for \(hook.isEmpty ? "its input" : hook); add it to config.json, or set norm_activation to none if the activations are normalised already"
            }
        }
        let encoder = Encoder(
            weight: encoderWeight,
            weightFeatureAxis: 0,
            bias: try check.require(tensor("encoder.bias"), "encoder.bias", shape: [dSAE]),
            decoderBias: try check.require(tensor("decoder.bias"), "decoder.bias", shape: [dModel]),
            threshold: threshold,
            subtractDecoderBias: try config.bool("apply_decoder_bias_to_pre_encoder") ?? false,
            inputScaling: scaling)
        var checkpoint = SAECheckpoint(path: path, format: .llamaScopeR1, fileBytes: weights.file.size + fileSize(configPath),
                                       tensors: weights.tensors, decoderTensor: decoder, decoderFeatureAxis: decoderAxis,
                                       architecture: architecture, encoder: encoder)
        checkpoint.encoderUnsupported = unsupported
        checkpoint.hook = try config.string("hook_point_in")
        if let hook = try config.string("hook_point_out"), hook != (try config.string("hook_point_in")) {
            checkpoint.details.append(Detail("writes", hook))
        }
        return checkpoint
    }
}
