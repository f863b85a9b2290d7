import Foundation

extension SAECheckpoint {
    /// EleutherAI sparsify: `<hookpoint>/cfg.json` and `<hookpoint>/sae.safetensors` with
    /// encoder.weight [n, d_in], encoder.bias [n], W_dec [n, d_out] (checked by shape: either
    /// orientation is read), b_dec [d_out] and optionally W_skip. Encoding: x - b_dec (unless the
    /// coder is a transcoder), relu(x W_encᵀ + b), then TopK or GroupMax with the cfg's k.
    static func openSparsify(_ path: String) throws -> SAECheckpoint {
        let folder = path.hasSuffix(".safetensors") ? PathName.folder(path) : path
        let configPath = PathName.join(folder, "cfg.json")
        let weightsPath = path.hasSuffix(".safetensors") ? path : PathName.join(folder, "sae.safetensors")
        let config = try JSONConfig(path: configPath)
        let weights = try SafetensorsFile(path: weightsPath)
        let check = ShapeCheck(path: weightsPath)

        let encoderWeight = try check.matrix(weights.tensor("encoder.weight"), "encoder.weight")
        let latents = encoderWeight.shape[0], dIn = encoderWeight.shape[1]
        if let declared = try config.int("d_in"), declared != dIn {
            throw SaegeoError.badFile("\(configPath): d_in is \(declared) but encoder.weight has shape \(encoderWeight.shape) (d_in \(dIn))")
        }
        let declaredLatents = try config.int("num_latents").flatMap { $0 > 0 ? $0 : nil }
            ?? config.int("expansion_factor").map { $0 * dIn }
        if let declaredLatents, declaredLatents != latents {
            throw SaegeoError.badFile("\(configPath): num_latents (or d_in x expansion_factor) is \(declaredLatents) but encoder.weight has shape \(encoderWeight.shape) (\(latents) latents)")
        }
        let transcoder = try config.bool("transcode") ?? false
        let decoderWeight = try check.matrix(weights.tensor("W_dec"), "W_dec")
        guard decoderWeight.shape.contains(latents) else {
            throw SaegeoError.badFile("\(weightsPath): W_dec has shape \(decoderWeight.shape), which has no axis of the \(latents) latents of encoder.weight")
        }
        let dOut = decoderWeight.shape[0] == latents ? decoderWeight.shape[1] : decoderWeight.shape[0]
        if !transcoder, dOut != dIn {
            throw SaegeoError.badFile("\(weightsPath): W_dec has shape \(decoderWeight.shape) but the encoder reads d_in \(dIn); only a transcoder (transcode: true) may differ")
        }
        let decoderAxis = try check.featureAxis(decoderWeight, features: latents, dimension: dOut, preferred: 0)

        let activationName = (try config.string("activation") ?? "topk").lowercased()
        let k = try config.int("k")
        var architecture: Architecture?
        var unsupported: String?
        if try config.bool("signed") == true {
            unsupported = "\(path) is a signed sparsify coder (top-k by absolute value, no ReLU), which saegeo does not encode; neighbours of its decoder work, scoring does not"
        } else if activationName == "topk" {
            architecture = .topK(try config.topK("k", features: latents))
        } else if activationName == "groupmax" {
            guard let k, k >= 1 else {
                throw SaegeoError.badFile("\(configPath): a groupmax coder needs k, its number of groups")
            }
            architecture = .groupMax(k)
        } else {
            throw SaegeoError.badFile("\(configPath): activation '\(activationName)' is not one sparsify writes; saegeo reads topk and groupmax")
        }
        let encoder = Encoder(
            weight: encoderWeight,
            weightFeatureAxis: 0,
            bias: try check.require(weights.tensor("encoder.bias"), "encoder.bias", shape: [latents]),
            decoderBias: try check.require(weights.tensor("b_dec"), "b_dec", shape: [dOut]),
            threshold: nil,
            subtractDecoderBias: !transcoder,
            inputScaling: .none)
        var checkpoint = SAECheckpoint(path: path, format: .sparsify, fileBytes: weights.file.size + fileSize(configPath),
                                       tensors: weights.tensors, decoderTensor: decoderWeight, decoderFeatureAxis: decoderAxis,
                                       architecture: architecture, encoder: encoder)
        checkpoint.encoderUnsupported = unsupported
        checkpoint.details.append(Detail("hookpoint", PathName.name(folder)))
        checkpoint.hook = PathName.name(folder)
        if transcoder { checkpoint.details.append(Detail("variant", "transcoder")) }
        if weights.tensor("W_skip") != nil { checkpoint.details.append(Detail("skip connection", "W_skip (output only)")) }
        return checkpoint
    }
}
