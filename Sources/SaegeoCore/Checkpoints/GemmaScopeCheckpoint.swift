import Foundation

extension SAECheckpoint {
    /// Gemma Scope: params.npz with W_enc [d_model, d_sae], W_dec [d_sae, d_model], b_enc, b_dec and
    /// threshold (JumpReLU, no b_dec subtraction); lower-case key variants are accepted.
    static func openGemmaScope(_ path: String) throws -> SAECheckpoint {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let archivePath = isDirectory.boolValue ? PathName.join(path, "params.npz") : path
        let archive = try NpzArchive(path: archivePath)
        let tensors = try archive.members.map { try $0.tensor() }
        func find(_ name: String) -> StoredTensor? {
            tensors.first { $0.name == name } ?? tensors.first { $0.name.lowercased() == name.lowercased() }
        }
        let check = ShapeCheck(path: archivePath)
        let decoder = try check.matrix(find("W_dec"), "W_dec")
        let dSAE = decoder.shape[0], dModel = decoder.shape[1]
        let encoder = Encoder(
            weight: try check.require(find("W_enc"), "W_enc", shape: [dModel, dSAE]),
            weightFeatureAxis: 1,
            bias: try check.require(find("b_enc"), "b_enc", shape: [dSAE]),
            decoderBias: try check.require(find("b_dec"), "b_dec", shape: [dModel]),
            threshold: .perFeature(try check.require(find("threshold"), "threshold", shape: [dSAE])),
            subtractDecoderBias: false,
            inputScaling: .none)
        return SAECheckpoint(path: path, format: .gemmaScope, fileBytes: archive.file.size, tensors: tensors,
                             decoderTensor: decoder, decoderFeatureAxis: 0, architecture: .jumpReLU, encoder: encoder)
    }
}
