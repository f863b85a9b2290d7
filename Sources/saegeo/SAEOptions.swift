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

    /// The checkpoint at `path` as a job opens it (SaegeoCore checks these options against it).
    func source(_ path: String) -> SAESource {
        SAESource(path: path, format: format, tensor: tensor, layout: layout)
    }
}

/// How a command finds its SAE: `--sae PATH` and the reading options.
struct SAEOptions: ParsableArguments {
    @Option(help: "SAE checkpoint: a folder or file of any family `--format` lists (SAELens, Gemma Scope 1 and 2, Llama Scope and R1, sparsify, dictionary_learning, OpenAI, Goodfire, Qwen-Scope), or a bare .safetensors / .pt / .npy decoder matrix.")
    var sae: String

    @OptionGroup var reading: CheckpointReadingOptions

    var source: SAESource { reading.source(sae) }

    func open() throws -> SAECheckpoint { try source.open() }
}
