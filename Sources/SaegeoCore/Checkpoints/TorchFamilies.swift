import Foundation

extension SAECheckpoint {
    /// The family a PyTorch state dict belongs to, from its keys (a .pt file has no config).
    static func torchFamily(_ file: TorchCheckpointFile, path: String) -> Format {
        let names = Set(file.tensors.map(\.name))
        if names.contains("encoder_linear.weight") { return .goodfire }
        if names.contains("pre_bias") || names.contains("latent_bias") { return .openai }
        let folder = PathName.folder(path)
        // Only a telling sign here: a config that is not dictionary_learning's (or is malformed) leaves
        // the file a bare state dict; opening it as dictionary_learning then reads the config strictly.
        if PathName.name(path) == "ae.pt" || (try? dictionaryLearningConfig(folder)) != nil { return .dictionaryLearning }
        if PathName.name(path).lowercased().hasSuffix(".sae.pt") { return .qwenScope }
        return .torch
    }

    /// Goodfire's SAEs (Llama 3.1 8B and 3.3 70B): encoder_linear.weight [d_sae, d_in],
    /// encoder_linear.bias, decoder_linear.weight [d_in, d_sae], decoder_linear.bias; ReLU with
    /// no b_dec subtraction.
    static func openGoodfire(_ path: String, file: TorchCheckpointFile) throws -> SAECheckpoint {
        let check = ShapeCheck(path: path)
        let encoderWeight = try check.matrix(file.tensor("encoder_linear.weight"), "encoder_linear.weight")
        let dSAE = encoderWeight.shape[0], dIn = encoderWeight.shape[1]
        let decoder = try check.matrix(file.tensor("decoder_linear.weight"), "decoder_linear.weight")
        let axis = try check.featureAxis(decoder, features: dSAE, dimension: dIn, preferred: 1)
        let encoder = Encoder(
            weight: encoderWeight, weightFeatureAxis: 0,
            bias: try check.require(file.tensor("encoder_linear.bias"), "encoder_linear.bias", shape: [dSAE]),
            decoderBias: try check.require(file.tensor("decoder_linear.bias"), "decoder_linear.bias", shape: [dIn]),
            threshold: nil, subtractDecoderBias: false, inputScaling: .none)
        return SAECheckpoint(path: path, format: .goodfire, fileBytes: file.file.size, tensors: file.tensors,
                             decoderTensor: decoder, decoderFeatureAxis: axis, architecture: .relu, encoder: encoder)
    }

    /// OpenAI's GPT-2 autoencoders (openai/sparse_autoencoder): pre_bias [d], encoder.weight
    /// [n, d] without bias, latent_bias [n], decoder.weight [d, n]; `activation` "ReLU" or "TopK"
    /// with activation_state_dict.k. TopK models take layer-normalised inputs:
    /// pre = (LN(x) - pre_bias) W_encᵀ + latent_bias.
    static func openOpenAI(_ path: String, file: TorchCheckpointFile) throws -> SAECheckpoint {
        let check = ShapeCheck(path: path)
        let encoderWeight = try check.matrix(file.tensor("encoder.weight"), "encoder.weight")
        let latents = encoderWeight.shape[0], dIn = encoderWeight.shape[1]
        let decoder = try check.matrix(file.tensor("decoder.weight"), "decoder.weight")
        let axis = try check.featureAxis(decoder, features: latents, dimension: dIn, preferred: 1)
        let architecture: Architecture
        switch file.values["activation"] {
        case .string("TopK")?:
            guard case .int(let k)? = file.values["activation_state_dict.k"] else {
                throw SaegeoError.badFile("\(path): a TopK autoencoder needs activation_state_dict.k; it is missing")
            }
            architecture = .topK(k)
        case .string("ReLU")?, nil: architecture = .relu
        case let other?:
            throw SaegeoError.badFile("\(path): activation \(other) is not one the OpenAI autoencoders use (ReLU, TopK)")
        }
        let encoder = Encoder(
            weight: encoderWeight, weightFeatureAxis: 0,
            bias: try check.require(file.tensor("latent_bias"), "latent_bias", shape: [latents]),
            decoderBias: try check.require(file.tensor("pre_bias"), "pre_bias", shape: [dIn]),
            threshold: nil, subtractDecoderBias: true,
            inputScaling: architecture == .relu ? .none : .layerNorm)
        return SAECheckpoint(path: path, format: .openai, fileBytes: file.file.size, tensors: file.tensors,
                             decoderTensor: decoder, decoderFeatureAxis: axis, architecture: architecture, encoder: encoder)
    }

    /// Qwen-Scope (`layer<n>.sae.pt`): W_enc [d_sae, d_model], W_dec [d_model, d_sae], b_enc,
    /// b_dec (either orientation is read by shape); TopK with the K of the repository name
    /// (`...-L0_<K>`), read as SAELens does: no b_dec subtraction, no normalisation.
    static func openQwenScope(_ path: String, file: TorchCheckpointFile) throws -> SAECheckpoint {
        let check = ShapeCheck(path: path)
        let bias = try check.vector(file.tensor("b_enc"), "b_enc")
        let decoderBias = try check.vector(file.tensor("b_dec"), "b_dec")
        let dSAE = bias.shape[0], dModel = decoderBias.shape[0]
        let encoderWeight = try check.matrix(file.tensor("W_enc"), "W_enc")
        let decoder = try check.matrix(file.tensor("W_dec"), "W_dec")
        let encoder = Encoder(
            weight: encoderWeight,
            weightFeatureAxis: try check.featureAxis(encoderWeight, features: dSAE, dimension: dModel, preferred: 0),
            bias: bias, decoderBias: decoderBias, threshold: nil, subtractDecoderBias: false, inputScaling: .none)
        let k = path.range(of: #"L0_(\d+)"#, options: .regularExpression).flatMap { Int(path[$0].dropFirst(3)) }
        return SAECheckpoint(path: path, format: .qwenScope, fileBytes: file.file.size, tensors: file.tensors,
                             decoderTensor: decoder,
                             decoderFeatureAxis: try check.featureAxis(decoder, features: dSAE, dimension: dModel, preferred: 1),
                             architecture: .topK(k), encoder: encoder)
    }
}

extension ShapeCheck {
    /// A 1-D weight vector (a bias) of a usable dtype.
    func vector(_ tensor: StoredTensor?, _ name: String) throws -> StoredTensor {
        guard let tensor else {
            throw SaegeoError.badFile("\(path): tensor '\(name)' is missing; an SAE checkpoint of this format needs it")
        }
        guard tensor.shape.count == 1, tensor.shape[0] > 0 else {
            throw SaegeoError.badFile("\(path): tensor '\(tensor.name)' has shape \(tensor.shape); expected a non-empty vector")
        }
        return try require(tensor, name, shape: tensor.shape)
    }
}
