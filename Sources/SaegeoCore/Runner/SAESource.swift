/// Where a job's SAE comes from: a path, and for a path that does not say it all the format and,
/// for a bare matrix, which tensor and layout. Opened only when the job gets to it, so that the
/// checks before it report first.
public struct SAESource: Sendable {
    public var path: String
    public var format: SAECheckpoint.Format?
    public var tensor: String?
    public var layout: FeatureMatrix.Layout?
    /// How the front end spells the tensor and layout options, for messages ("--tensor",
    /// "--layout"; "--keys-tensor", "--keys-layout" for the second dictionary).
    public var optionNames: (tensor: String, layout: String)

    public init(path: String, format: SAECheckpoint.Format? = nil, tensor: String? = nil, layout: FeatureMatrix.Layout? = nil,
                optionNames: (tensor: String, layout: String) = ("--tensor", "--layout")) {
        self.path = path
        self.format = format
        self.tensor = tensor
        self.layout = layout
        self.optionNames = optionNames
    }

    /// Opens the checkpoint; a tensor or layout given for a checkpoint that names its own is refused.
    public func open() throws -> SAECheckpoint {
        let checkpoint = try SAECheckpoint.open(path, options: .init(format: format, tensor: tensor, layout: layout))
        let bare = [.safetensors, .npy, .torch].contains(checkpoint.format)
        if !bare, tensor != nil || layout != nil {
            throw SaegeoError(.usage, "\(optionNames.tensor) and \(optionNames.layout) are for bare .safetensors / .pt / .npy matrices, and \(path) is a \(checkpoint.format.rawValue) checkpoint that names its own tensors: drop them")
        }
        if checkpoint.format == .npy, tensor != nil {
            throw SaegeoError(.usage, "\(optionNames.tensor) names a tensor of a .safetensors file; \(path) is a .npy holding one array: drop it")
        }
        return checkpoint
    }
}
