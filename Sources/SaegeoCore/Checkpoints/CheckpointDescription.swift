/// What `saegeo inspect --json` says about a checkpoint from its headers (and, with `scan`, its
/// decoder's norms): one value, so that the CLI and the C interface name every field alike.
public struct CheckpointDescription: Encodable, Sendable {
    public struct Tensor: Encodable, Sendable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
    }
    public let format: String
    public let path: String
    public let fileBytes: Int
    public let dSAE: Int
    public let dModel: Int
    public let dtype: String
    public let architecture: String?
    /// What the files say beyond the tensors: site, variant, hook points, dictionary class.
    public let details: [String: String]
    public let encoder: String?
    public let tensors: [Tensor]
    public var deadFeatures: Int?
    public var deadFeatureIds: [Int]?
    public var normMin: Double?
    public var normMean: Double?
    public var normMax: Double?

    enum CodingKeys: String, CodingKey {
        case format, path, dtype, architecture, details, encoder, tensors
        case fileBytes = "file_bytes", dSAE = "d_sae", dModel = "d_model"
        case deadFeatures = "dead_features", deadFeatureIds = "dead_feature_ids"
        case normMin = "norm_min", normMean = "norm_mean", normMax = "norm_max"
    }

    /// The headers' description; `path` as the user gave it.
    public init(_ checkpoint: SAECheckpoint, path: String) {
        format = checkpoint.format.rawValue
        self.path = path
        fileBytes = checkpoint.fileBytes
        dSAE = checkpoint.dSAE
        dModel = checkpoint.dModel
        dtype = checkpoint.decoderTensor.dtype
        architecture = checkpoint.architecture?.description
        details = Dictionary(checkpoint.details.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        encoder = checkpoint.encoderDescription
        tensors = checkpoint.tensors.map { .init(name: $0.name, dtype: $0.dtype, shape: $0.shape) }
    }
}
