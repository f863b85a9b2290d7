import Foundation

extension SAECheckpoint {
    /// A bare decoder matrix: a .npy array, or one tensor of a .safetensors or .pt file (`--tensor NAME`;
    /// by default W_dec, decoder.weight, or the only 2-D tensor). `--layout rows` (the default)
    /// means one feature per row, `columns` one per column.
    static func openBareMatrix(_ path: String, format: Format, options: Options,
                               tensors given: [StoredTensor]? = nil, fileBytes givenBytes: Int = 0) throws -> SAECheckpoint {
        let tensors: [StoredTensor]
        let fileBytes: Int
        if let given {
            tensors = given
            fileBytes = givenBytes
        } else if format == .npy {
            let npy = try NpyFile(path: path)
            tensors = [npy.tensor]
            fileBytes = npy.file.size
        } else {
            let file = try SafetensorsFile(path: path)
            tensors = file.tensors
            fileBytes = file.file.size
        }
        let chosen: StoredTensor
        if format == .npy {
            chosen = tensors[0]
        } else if let name = options.tensor {
            guard let t = tensors.first(where: { $0.name == name }) else {
                let names = tensors.map(\.name).prefix(12).joined(separator: ", ")
                throw SaegeoError.badInput("\(path) has no tensor '\(name)'; it has: \(names)")
            }
            chosen = t
        } else if let t = tensors.first(where: { ["W_dec", "w_dec", "decoder.weight"].contains($0.name) }) {
            chosen = t
        } else {
            let matrices = tensors.filter { $0.shape.count == 2 }
            guard matrices.count == 1 else {
                throw SaegeoError.badInput("\(path) holds \(matrices.count) matrices; choose the decoder with --tensor NAME")
            }
            chosen = matrices[0]
        }
        let decoder = try ShapeCheck(path: path).matrix(chosen, chosen.name)
        let axis = options.layout == .columns || (options.layout == nil && chosen.name == "decoder.weight") ? 1 : 0
        return SAECheckpoint(path: path, format: format, fileBytes: fileBytes, tensors: tensors,
                             decoderTensor: decoder, decoderFeatureAxis: axis, architecture: nil, encoder: nil)
    }
}
