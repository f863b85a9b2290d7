import Foundation

/// An SAE checkpoint as saegeo reads it: which format it came in, every tensor it holds (mapped,
/// not read), the decoder directions, and the encoder's description for scoring.
public struct SAECheckpoint: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case saelens
        case gemmaScope = "gemma-scope"
        case gemmaScope2 = "gemma-scope-2"
        case llamaScope = "llama-scope"
        case llamaScopeR1 = "llama-scope-r1"
        case sparsify
        case dictionaryLearning = "dictionary-learning"
        case openai
        case goodfire
        case qwenScope = "qwen-scope"
        /// Bare decoder matrices: one tensor of a .safetensors or PyTorch file, or a .npy array.
        case safetensors
        case torch = "pt"
        case npy

        /// Families whose checkpoints are PyTorch pickles.
        var isPyTorch: Bool { [.dictionaryLearning, .openai, .goodfire, .qwenScope, .torch].contains(self) }
    }

    public enum Architecture: Sendable, Equatable, CustomStringConvertible {
        case relu
        case jumpReLU
        /// TopK with its K when the checkpoint says (else `score --topk` must).
        case topK(Int?)
        /// Gated: a gate path and a magnitude path sharing W_enc (`Encoder.magnitude`).
        case gated
        /// GroupMax with its number of groups (sparsify).
        case groupMax(Int)

        public var description: String {
            switch self {
            case .groupMax(let k): "groupmax (k=\(k))"
            case .relu: "relu"
            case .jumpReLU: "jumprelu"
            case .topK(let k): k.map { "topk (k=\($0))" } ?? "topk"
            case .gated: "gated"
            }
        }
    }

    /// How the encoder turns an activation vector into feature activations (DESIGN.md).
    public struct Encoder: Sendable {
        public enum Threshold: Sendable {
            case perFeature(StoredTensor)
            case scalar(Double)
            /// Llama Scope R1: exp of the stored log threshold; with `overDecoderNorm`, compared with
            /// pre * |decoder direction|, so the threshold on pre is exp(log) / |W_dec[f]|.
            case exponent(StoredTensor, overDecoderNorm: Bool)
        }

        public enum InputScaling: Sendable, Equatable {
            case none
            /// Multiply inputs by this factor (Llama Scope: sqrt(d_model) / dataset average norm).
            case constant(Double)
            /// SAELens `normalize_activations` with this mode (e.g. "expected_average_only_in"),
            /// which needs a dataset statistic saegeo does not have.
            case normalize(String)
            /// Each row to (x - mean) / (unbiased std + 1e-5) (OpenAI's TopK SAEs, SAELens layer_norm).
            case layerNorm
            /// Each row scaled to norm sqrt(d_in) (SAELens constant_norm_rescale).
            case unitNorm
        }

        /// A gated encoder's magnitude path: `relu(pre * exp(logScale) + bias)` where the gate is open.
        public struct Magnitude: Sendable {
            public let logScale: StoredTensor
            public let bias: StoredTensor
        }

        public let weight: StoredTensor
        /// The axis of `weight` that indexes features.
        public let weightFeatureAxis: Int
        /// b_enc; for a gated encoder, the gate's bias.
        public let bias: StoredTensor
        /// The vector subtracted from inputs when `subtractDecoderBias` (b_dec, or OpenAI's pre_bias).
        public let decoderBias: StoredTensor
        public let threshold: Threshold?
        public let subtractDecoderBias: Bool
        public let inputScaling: InputScaling
        public var magnitude: Magnitude? = nil
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
    /// What the files say beyond the tensors (site, variant, hook points), for `inspect`.
    public var details: [Detail] = []
    /// The input site as the family's files name it (SAELens `hook_name`, Llama Scope
    /// `hook_point_in`, Gemma Scope 2 `hf_hook_point_in`, sparsify's hookpoint folder); `open`
    /// turns it (or the path) into the `reads` detail.
    var hook: String? = nil

    public struct Detail: Sendable, Equatable {
        public let key: String
        public let value: String
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

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

    /// Every file the checkpoint was read from (weights, configs, hyperparameters), in the order
    /// first opened: what a job fingerprints and protects, whichever family it is.
    public internal(set) var files: [String] = []

    public static func open(_ path: String, options: Options = .init()) throws -> SAECheckpoint {
        var (checkpoint, opened) = try InputLedger.recording { try openFormat(path, options: options) }
        checkpoint.files = opened.map(\.path)
        // Every family says what it reads, in one form (ActivationSite), even when its files do not.
        checkpoint.details.append(Detail("reads", ActivationSite.line(hook: checkpoint.hook, path: checkpoint.path, format: checkpoint.format)))
        return checkpoint
    }

    static func openFormat(_ path: String, options: Options) throws -> SAECheckpoint {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SaegeoError.io("SAE checkpoint \(path) does not exist; check the path")
        }
        let format = try options.format ?? detectFormat(path, isDirectory: isDirectory.boolValue)
        if format.isPyTorch { return try openPyTorch(path, format: options.format, options: options) }
        switch format {
        case .saelens: return try openSAELens(path)
        case .gemmaScope: return try openGemmaScope(path)
        case .gemmaScope2: return try openGemmaScope2(path)
        case .llamaScope: return try openLlamaScope(path)
        case .llamaScopeR1: return try openLlamaScopeR1(path)
        case .sparsify: return try openSparsify(path)
        default: return try openBareMatrix(path, format: format, options: options)
        }
    }

    /// A PyTorch checkpoint, read as data (TorchCheckpointFile), of the family its keys say
    /// unless `--format` named one.
    static func openPyTorch(_ path: String, format: Format?, options: Options) throws -> SAECheckpoint {
        var file = path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            file = PathName.join(path, "ae.pt")
        }
        let torch = try TorchCheckpointFile(path: file)
        switch format ?? torchFamily(torch, path: file) {
        case .goodfire: return try openGoodfire(file, file: torch)
        case .openai: return try openOpenAI(file, file: torch)
        case .qwenScope: return try openQwenScope(file, file: torch)
        case .dictionaryLearning: return try openDictionaryLearning(file, file: torch)
        default: return try openBareMatrix(file, format: .torch, options: options, tensors: torch.tensors, fileBytes: torch.file.size)
        }
    }

    /// The format a path most likely holds, from its name and the files beside it.
    static func detectFormat(_ path: String, isDirectory: Bool) throws -> Format {
        let fm = FileManager.default
        func exists(_ name: String, in folder: String) -> Bool { fm.fileExists(atPath: PathName.join(folder, name)) }
        if isDirectory {
            if exists("cfg.json", in: path), exists("sae_weights.safetensors", in: path) { return .saelens }
            if exists("cfg.json", in: path), exists("sae.safetensors", in: path) { return .sparsify }
            if exists("params.npz", in: path) { return .gemmaScope }
            if exists("params.safetensors", in: path) || exists("params_layer_0.safetensors", in: path) { return .gemmaScope2 }
            if exists("hyperparams.json", in: path), exists("checkpoints/final.safetensors", in: path) { return .llamaScope }
            if exists("config.json", in: path), exists("sae_weights.safetensors", in: path) { return .llamaScopeR1 }
            if exists("ae.pt", in: path) { return .dictionaryLearning }
            throw SaegeoError.badFile("cannot tell the checkpoint format of folder \(path): expected cfg.json + sae_weights.safetensors (SAELens), cfg.json + sae.safetensors (sparsify), params.npz (Gemma Scope), params.safetensors (Gemma Scope 2), hyperparams.json + checkpoints/final.safetensors (Llama Scope), config.json + sae_weights.safetensors (Llama Scope R1) or ae.pt (dictionary_learning); or pass --format")
        }
        let folder = PathName.folder(path)
        let name = PathName.name(path).lowercased()
        if name.hasSuffix(".npz") { return .gemmaScope }
        if name.hasSuffix(".npy") { return .npy }
        if [".pt", ".pth"].contains(where: name.hasSuffix) { return .torch }
        if [".ckpt", ".bin", ".pkl", ".pickle"].contains(where: name.hasSuffix) {
            throw SaegeoError.badFile("\(path) is a pickle saegeo does not take by this name; if it is a PyTorch state dict of tensors, name it .pt (it is read as data, never unpickled), or convert it to safetensors")
        }
        if name.hasSuffix(".safetensors") {
            if name == "sae_weights.safetensors", exists("cfg.json", in: folder) { return .saelens }
            if name == "sae.safetensors", exists("cfg.json", in: folder) { return .sparsify }
            if name == "params.safetensors" { return .gemmaScope2 }
            if name == "sae_weights.safetensors", exists("config.json", in: folder) { return .llamaScopeR1 }
            if exists("hyperparams.json", in: folder) { return .llamaScope }
            if PathName.name(folder) == "checkpoints",
               exists("hyperparams.json", in: PathName.folder(folder)) { return .llamaScope }
            return .safetensors
        }
        throw SaegeoError.badFile("cannot tell the checkpoint format of \(path) from its name; pass a .safetensors, .npz, .npy or .pt file, a checkpoint folder, or --format")
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

extension ShapeCheck {
    /// The axis of a weight matrix that indexes features, for families whose files hold either
    /// orientation (W [d_in, d_sae] or PyTorch's Linear [d_sae, d_in]); when both fit (a square
    /// matrix) the family's documented `preferred` axis holds.
    func featureAxis(_ tensor: StoredTensor, features: Int, dimension: Int, preferred: Int) throws -> Int {
        if tensor.shape == [dimension, features], tensor.shape == [features, dimension] { return preferred }
        if tensor.shape == [features, dimension] { return 0 }
        if tensor.shape == [dimension, features] { return 1 }
        throw SaegeoError.badFile("\(path): tensor '\(tensor.name)' has shape \(tensor.shape), expected [\(features), \(dimension)] or [\(dimension), \(features)] (d_sae \(features), d_model \(dimension))")
    }

    /// A tensor that must exist in one of its families' spellings.
    func named(_ names: [String], in tensors: [StoredTensor]) -> StoredTensor? {
        for name in names { if let t = tensors.first(where: { $0.name == name }) { return t } }
        return nil
    }
}
