import ArgumentParser
import SaegeoCore

extension SAECheckpoint.Format: ExpressibleByArgument {}
extension FeatureMatrix.Layout: ExpressibleByArgument {
    /// The values a bad `--layout` lists (the enum is not CaseIterable, so argument-parser has none).
    public static var allValueStrings: [String] { [Self.rows, .columns].map(\.rawValue) }
}

/// How to read a checkpoint whose path does not say it all: the format, and for bare matrices
/// which tensor and layout.
struct CheckpointReadingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Force the checkpoint format: \(SAECheckpoint.Format.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "format"))
    var format: SAECheckpoint.Format?

    @Option(help: "For a bare .safetensors or .pt file: the decoder tensor's name.")
    var tensor: String?

    @Option(help: "For a bare matrix: rows (one feature per row, the default) or columns.")
    var layout: FeatureMatrix.Layout?

    func open(_ path: String) throws -> SAECheckpoint {
        let checkpoint = try SAECheckpoint.open(path, options: .init(format: format, tensor: tensor, layout: layout))
        let bare = [.safetensors, .npy, .torch].contains(checkpoint.format)
        if !bare, tensor != nil || layout != nil {
            throw SaegeoError(.usage, "--tensor and --layout are for bare .safetensors / .pt / .npy matrices, and \(path) is a \(checkpoint.format.rawValue) checkpoint that names its own tensors: drop them")
        }
        if checkpoint.format == .npy, tensor != nil {
            throw SaegeoError(.usage, "--tensor names a tensor of a .safetensors file; \(path) is a .npy holding one array: drop it")
        }
        return checkpoint
    }
}

/// How a command finds its SAE: `--sae PATH` and the reading options.
struct SAEOptions: ParsableArguments {
    @Option(help: "SAE checkpoint: a folder or file of any family `--format` lists (SAELens, Gemma Scope 1 and 2, Llama Scope and R1, sparsify, dictionary_learning, OpenAI, Goodfire, Qwen-Scope), or a bare .safetensors / .pt / .npy decoder matrix.")
    var sae: String

    @OptionGroup var reading: CheckpointReadingOptions

    func open() throws -> SAECheckpoint { try reading.open(sae) }
}
