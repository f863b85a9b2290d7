import Foundation

extension SAECheckpoint {
    /// Llama Scope: hyperparams.json and checkpoints/final.safetensors with PyTorch Linear layouts:
    /// encoder.weight [d_sae, d_model], decoder.weight [d_model, d_sae] (directions are columns),
    /// encoder.bias, decoder.bias. JumpReLU with one scalar threshold; inputs scaled by
    /// sqrt(d_model) / dataset_average_activation_norm.in; no b_dec subtraction.
    static func openLlamaScope(_ path: String) throws -> SAECheckpoint {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let weightsPath: String, configPath: String
        if isDirectory.boolValue {
            weightsPath = PathName.join(path, "checkpoints/final.safetensors")
            configPath = PathName.join(path, "hyperparams.json")
        } else {
            weightsPath = path
            let folder = PathName.folder(path)
            let beside = PathName.join(folder, "hyperparams.json")
            configPath = FileManager.default.fileExists(atPath: beside)
                ? beside : PathName.join(PathName.folder(folder), "hyperparams.json")
        }
        let config = try JSONConfig(path: configPath)
        let weights = try SafetensorsFile(path: weightsPath)
        let check = ShapeCheck(path: weightsPath)
        let decoder = try check.matrix(weights.tensor("decoder.weight"), "decoder.weight")
        let dModel = decoder.shape[0], dSAE = decoder.shape[1]
        if let declared = try config.int("d_model"), declared != dModel {
            throw SaegeoError.badFile("\(configPath): d_model is \(declared) but decoder.weight has shape \(decoder.shape) (d_model \(dModel))")
        }
        if let declared = try config.int("d_sae"), declared != dSAE {
            throw SaegeoError.badFile("\(configPath): d_sae is \(declared) but decoder.weight has shape \(decoder.shape) (d_sae \(dSAE))")
        }
        let threshold = try config.double("jump_relu_threshold")
        var scaling = Encoder.InputScaling.none
        if let norms = try config.section("dataset_average_activation_norm"), let inNorm = try norms.double("in") {
            guard inNorm > 0, inNorm.isFinite else {
                throw SaegeoError.badFile("\(configPath): dataset_average_activation_norm.in is \(inNorm); it must be a positive number")
            }
            scaling = .constant(Double(dModel).squareRoot() / inNorm)
        }
        let encoder = Encoder(
            weight: try check.require(weights.tensor("encoder.weight"), "encoder.weight", shape: [dSAE, dModel]),
            weightFeatureAxis: 0,
            bias: try check.require(weights.tensor("encoder.bias"), "encoder.bias", shape: [dSAE]),
            decoderBias: try check.require(weights.tensor("decoder.bias"), "decoder.bias", shape: [dModel]),
            threshold: threshold.map { .scalar($0) },
            subtractDecoderBias: false,
            inputScaling: scaling)
        var checkpoint = SAECheckpoint(path: path, format: .llamaScope, fileBytes: weights.file.size + fileSize(configPath),
                                       tensors: weights.tensors, decoderTensor: decoder, decoderFeatureAxis: 1,
                                       architecture: threshold == nil ? .relu : .jumpReLU, encoder: encoder)
        // Information only (what inspect says the SAE reads); a field of another type leaves it unsaid.
        checkpoint.hook = (try? config.string("hook_point_in")) ?? nil
        return checkpoint
    }
}
