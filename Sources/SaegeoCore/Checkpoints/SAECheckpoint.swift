import Foundation

/// An SAE checkpoint as saegeo reads it: which format it came in, every tensor it holds (mapped,
/// not read), the decoder directions, and the encoder's description for scoring.
public struct SAECheckpoint: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case saelens
        case gemmaScope = "gemma-scope"
        case llamaScope = "llama-scope"
        case safetensors
        case npy
    }

    public enum Architecture: Sendable, Equatable, CustomStringConvertible {
        case relu
        case jumpReLU
        /// TopK with its K when the checkpoint says (else `score --topk` must).
        case topK(Int?)

        public var description: String {
            switch self {
            case .relu: "relu"
            case .jumpReLU: "jumprelu"
            case .topK(let k): k.map { "topk (k=\($0))" } ?? "topk"
            }
        }
    }

    /// How the encoder turns an activation vector into feature activations (DESIGN.md).
    public struct Encoder: Sendable {
        public enum Threshold: Sendable {
            case perFeature(StoredTensor)
            case scalar(Double)
        }

        public enum InputScaling: Sendable, Equatable {
            case none
            /// Multiply inputs by this factor (Llama Scope: sqrt(d_model) / dataset average norm).
            case constant(Double)
            /// SAELens `normalize_activations` with this mode (e.g. "expected_average_only_in").
            case normalize(String)
        }

        public let weight: StoredTensor
        /// The axis of `weight` that indexes features.
        public let weightFeatureAxis: Int
        public let bias: StoredTensor
        public let decoderBias: StoredTensor
        public let threshold: Threshold?
        public let subtractDecoderBias: Bool
        public let inputScaling: InputScaling
    }

    public let path: String
    public let format: Format
    /// Total size of the files the checkpoint consists of.
    public let fileBytes: Int
    public let tensors: [StoredTensor]
    public let decoderTensor: StoredTensor
    /// 0: features are rows of the decoder tensor; 1: columns.
    public let decoderFeatureAxis: Int
    public let architecture: Architecture?
    public let encoder: Encoder?
    /// Why the encoder cannot be used, for a checkpoint whose encoder saegeo does not read.
    public var encoderUnsupported: String? = nil

    public var dSAE: Int { decoderTensor.shape[decoderFeatureAxis] }
    public var dModel: Int { decoderTensor.shape[1 - decoderFeatureAxis] }

    /// The decoder directions, mapped (a deflated npz member is inflated to a temporary file first).
    public func decoder() throws -> FeatureMatrix {
        try decoderTensor.featureMatrix(featureAxis: decoderFeatureAxis)
    }

    /// Options for bare matrices, where the file does not say which tensor or layout to use.
    public struct Options: Sendable {
        public var format: Format?
        public var tensor: String?
        public var layout: FeatureMatrix.Layout?
        public init(format: Format? = nil, tensor: String? = nil, layout: FeatureMatrix.Layout? = nil) {
            self.format = format
            self.tensor = tensor
            self.layout = layout
        }
    }

    public static func open(_ path: String, options: Options = .init()) throws -> SAECheckpoint {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SaegeoError.io("SAE checkpoint \(path) does not exist; check the path")
        }
        let lower = PathName.name(path).lowercased()
        if [".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle"].contains(where: lower.hasSuffix) {
            throw SaegeoError.badFile("\(path) is a pickle checkpoint, which saegeo never unpickles (it can run code); convert it to safetensors with safetensors.torch.save_file(state_dict, 'sae.safetensors')")
        }
        let format = try options.format ?? detectFormat(path, isDirectory: isDirectory.boolValue)
        switch format {
        case .saelens: return try openSAELens(path)
        case .gemmaScope: return try openGemmaScope(path)
        case .llamaScope: return try openLlamaScope(path)
        case .safetensors, .npy: return try openBareMatrix(path, format: format, options: options)
        }
    }

    /// The format a path most likely holds, from its name and the files beside it.
    static func detectFormat(_ path: String, isDirectory: Bool) throws -> Format {
        let fm = FileManager.default
        func exists(_ name: String, in folder: String) -> Bool { fm.fileExists(atPath: PathName.join(folder, name)) }
        if isDirectory {
            if exists("cfg.json", in: path), exists("sae_weights.safetensors", in: path) { return .saelens }
            if exists("params.npz", in: path) { return .gemmaScope }
            if exists("hyperparams.json", in: path), exists("checkpoints/final.safetensors", in: path) { return .llamaScope }
            throw SaegeoError.badFile("cannot tell the checkpoint format of folder \(path): expected cfg.json + sae_weights.safetensors (SAELens), params.npz (Gemma Scope) or hyperparams.json + checkpoints/final.safetensors (Llama Scope); or pass --format")
        }
        let folder = PathName.folder(path)
        let name = PathName.name(path).lowercased()
        if name.hasSuffix(".npz") { return .gemmaScope }
        if name.hasSuffix(".npy") { return .npy }
        if name.hasSuffix(".safetensors") {
            if name == "sae_weights.safetensors", exists("cfg.json", in: folder) { return .saelens }
            if exists("hyperparams.json", in: folder) { return .llamaScope }
            if PathName.name(folder) == "checkpoints",
               exists("hyperparams.json", in: PathName.folder(folder)) { return .llamaScope }
            return .safetensors
        }
        throw SaegeoError.badFile("cannot tell the checkpoint format of \(path) from its name; pass a .safetensors, .npz or .npy file, a checkpoint folder, or --format")
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

/// Checks that tensors have the shapes an SAE needs, with messages that name the tensor.
struct ShapeCheck {
    let path: String

    func require(_ tensor: StoredTensor?, _ name: String, shape expected: [Int]) throws -> StoredTensor {
        guard let tensor else {
            throw SaegeoError.badFile("\(path): tensor '\(name)' is missing; an SAE checkpoint of this format needs it")
        }
        guard tensor.shape == expected else {
            throw SaegeoError.badFile("\(path): tensor '\(tensor.name)' has shape \(tensor.shape), expected \(expected) from the other tensors")
        }
        guard tensor.scalarType != nil else {
            throw SaegeoError.badFile("\(path): tensor '\(tensor.name)' has dtype \(tensor.dtype); SAE weights must be F32, F16 or BF16")
        }
        return tensor
    }

    func matrix(_ tensor: StoredTensor?, _ name: String) throws -> StoredTensor {
        guard let tensor else {
            throw SaegeoError.badFile("\(path): tensor '\(name)' is missing; an SAE checkpoint of this format needs it")
        }
        guard tensor.shape.count == 2, tensor.shape.allSatisfy({ $0 > 0 }) else {
            throw SaegeoError.badFile("\(path): tensor '\(tensor.name)' has shape \(tensor.shape); expected a non-empty 2-D matrix")
        }
        guard tensor.scalarType != nil else {
            throw SaegeoError.badFile("\(path): tensor '\(tensor.name)' has dtype \(tensor.dtype); SAE weights must be F32, F16 or BF16")
        }
        return tensor
    }
}
