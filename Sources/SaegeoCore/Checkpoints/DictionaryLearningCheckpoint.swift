import Foundation

extension SAECheckpoint {
    /// The trainer section of dictionary_learning's `trainer_N/config.json`, if one is beside. A
    /// config that is there but malformed is an error, not taken as missing: it names the class.
    static func dictionaryLearningConfig(_ folder: String) throws -> JSONConfig? {
        let path = PathName.join(folder, "config.json")
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try JSONConfig(path: path).section("trainer")
    }

    /// dictionary_learning (saprmarks): `<submodule>/trainer_N/config.json` and ae.pt, a state dict
    /// whose names and orientation depend on the dictionary class (config's trainer.dict_class,
    /// else told from the keys):
    /// - AutoEncoder: relu(encoder(x - bias)); decoder.weight [d, n].
    /// - GatedAutoEncoder: e = encoder(x - decoder_bias) (no bias); gate e + gate_bias > 0;
    ///   magnitude relu(exp(r_mag) e + mag_bias).
    /// - JumpReluAutoEncoder: W_enc [d, n], b_enc, W_dec [n, d], threshold; no b_dec subtraction.
    /// - AutoEncoderTopK: relu(encoder(x - b_dec)), the top k per token (k a stored buffer).
    /// - BatchTopKSAE, MatryoshkaBatchTopKSAE: relu(pre) kept where above the stored scalar
    ///   threshold (their default at inference), i.e. JumpReLU with one threshold.
    static func openDictionaryLearning(_ path: String, file: TorchCheckpointFile) throws -> SAECheckpoint {
        let check = ShapeCheck(path: path)
        let trainer = try dictionaryLearningConfig(PathName.folder(path))
        let names = Set(file.tensors.map(\.name))
        let declared = try trainer?.string("dict_class")
        let dictClass = declared ?? (names.contains("mag_bias") ? "GatedAutoEncoder"
            : names.contains("group_sizes") ? "MatryoshkaBatchTopKSAE"
            : names.contains("W_enc") ? "JumpReluAutoEncoder"
            : names.contains("k") ? "AutoEncoderTopK"
            : "AutoEncoder")
        func scalar(_ name: String) throws -> Double {
            guard let t = file.tensor(name), t.elementCount == 1 else {
                throw SaegeoError.badFile("\(path): the one-value buffer '\(name)' is missing; a \(dictClass) needs it")
            }
            return try t.numericValues()[0]
        }
        let encoderWeight: StoredTensor, weightAxis: Int, bias: StoredTensor, decoderBias: StoredTensor, decoder: StoredTensor
        var architecture: Architecture = .relu, threshold: Encoder.Threshold? = nil, magnitude: Encoder.Magnitude? = nil
        var subtract = true
        switch dictClass {
        case "JumpReluAutoEncoder", "MatryoshkaBatchTopKSAE":
            encoderWeight = try check.matrix(file.tensor("W_enc"), "W_enc")
            weightAxis = 1
            let (dIn, n) = (encoderWeight.shape[0], encoderWeight.shape[1])
            bias = try check.require(file.tensor("b_enc"), "b_enc", shape: [n])
            decoder = try check.require(file.tensor("W_dec"), "W_dec", shape: [n, dIn])
            decoderBias = try check.require(file.tensor("b_dec"), "b_dec", shape: [dIn])
            architecture = .jumpReLU
            if dictClass == "JumpReluAutoEncoder" {
                threshold = .perFeature(try check.require(file.tensor("threshold"), "threshold", shape: [n]))
                subtract = false
            } else {
                threshold = .scalar(try scalar("threshold"))
            }
        default:
            encoderWeight = try check.matrix(file.tensor("encoder.weight"), "encoder.weight")
            weightAxis = 0
            let (n, dIn) = (encoderWeight.shape[0], encoderWeight.shape[1])
            decoder = try check.require(file.tensor("decoder.weight"), "decoder.weight", shape: [dIn, n])
            switch dictClass {
            case "AutoEncoder":
                bias = try check.require(file.tensor("encoder.bias"), "encoder.bias", shape: [n])
                decoderBias = try check.require(file.tensor("bias"), "bias", shape: [dIn])
            case "GatedAutoEncoder":
                architecture = .gated
                bias = try check.require(file.tensor("gate_bias"), "gate_bias", shape: [n])
                decoderBias = try check.require(file.tensor("decoder_bias"), "decoder_bias", shape: [dIn])
                magnitude = Encoder.Magnitude(logScale: try check.require(file.tensor("r_mag"), "r_mag", shape: [n]),
                                              bias: try check.require(file.tensor("mag_bias"), "mag_bias", shape: [n]))
            case "AutoEncoderTopK", "BatchTopKSAE":
                bias = try check.require(file.tensor("encoder.bias"), "encoder.bias", shape: [n])
                decoderBias = try check.require(file.tensor("b_dec"), "b_dec", shape: [dIn])
                if dictClass == "AutoEncoderTopK" {
                    architecture = .topK(Int(try scalar("k")))
                } else {
                    architecture = .jumpReLU
                    threshold = .scalar(try scalar("threshold"))
                }
            default:
                throw SaegeoError.badFile("\(path): dictionary class '\(dictClass)' is not supported; saegeo reads AutoEncoder, GatedAutoEncoder, JumpReluAutoEncoder, AutoEncoderTopK, BatchTopKSAE and MatryoshkaBatchTopKSAE")
            }
        }
        let (features, dimension) = weightAxis == 0 ? (encoderWeight.shape[0], encoderWeight.shape[1])
            : (encoderWeight.shape[1], encoderWeight.shape[0])
        if let size = try trainer?.int("dict_size"), size != features {
            throw SaegeoError.badFile("\(path): config.json's dict_size is \(size) but the encoder has \(features) features")
        }
        if let size = try trainer?.int("activation_dim"), size != dimension {
            throw SaegeoError.badFile("\(path): config.json's activation_dim is \(size) but the encoder reads \(dimension)")
        }
        let encoder = Encoder(weight: encoderWeight, weightFeatureAxis: weightAxis, bias: bias, decoderBias: decoderBias,
                              threshold: threshold, subtractDecoderBias: subtract, inputScaling: .none, magnitude: magnitude)
        var checkpoint = SAECheckpoint(path: path, format: .dictionaryLearning, fileBytes: file.file.size, tensors: file.tensors,
                                       decoderTensor: decoder, decoderFeatureAxis: decoder.shape[0] == features && decoder.name == "W_dec" ? 0 : 1,
                                       architecture: architecture, encoder: encoder)
        checkpoint.details.append(Detail("dictionary class", dictClass + (declared == nil ? " (told from the keys; no config.json beside)" : "")))
        if declared == nil, dictClass == "AutoEncoderTopK" {
            checkpoint.encoderUnsupported = "\(path) has a k buffer but no config.json beside it to say whether it is an AutoEncoderTopK (top k per token) or a BatchTopKSAE (threshold); put the trainer's config.json beside ae.pt"
        }
        return checkpoint
    }
}
