import Foundation

/// Opens an SAE checkpoint and finds its decoder directions. Formats are detected from the path;
/// each format maps its files in place and validates them before anything is computed.
public struct SAECheckpoint: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case npy
    }

    public let path: String
    public let format: Format
    public let decoder: FeatureMatrix

    public static func open(_ path: String) throws -> SAECheckpoint {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SaegeoError.io("SAE checkpoint \(path) does not exist; check the path")
        }
        let lower = path.lowercased()
        if [".pt", ".pth", ".ckpt", ".bin", ".pkl"].contains(where: lower.hasSuffix) {
            throw SaegeoError.badFile("\(path) is a pickle checkpoint, which saegeo never unpickles; convert it to safetensors (safetensors.torch.save_file) or save W_dec with numpy.save")
        }
        if !isDirectory.boolValue, lower.hasSuffix(".npy") {
            let decoder = try NpyFile(path: path).featureMatrix()
            return SAECheckpoint(path: path, format: .npy, decoder: decoder)
        }
        throw SaegeoError.badFile("cannot tell the checkpoint format of \(path); pass a .npy file holding the decoder matrix [d_sae, d_model]")
    }
}
