import ArgumentParser
import SaegeoCore

extension SAECheckpoint.Format: ExpressibleByArgument {}
extension FeatureMatrix.Layout: ExpressibleByArgument {}

/// How a command finds its SAE: the path, and for bare matrices which tensor and layout.
struct SAEOptions: ParsableArguments {
    @Option(help: "SAE checkpoint: a SAELens folder, Gemma Scope params.npz, a Llama Scope folder, or a bare .safetensors / .npy decoder matrix.")
    var sae: String

    @Option(help: "Force the checkpoint format: saelens, gemma-scope, llama-scope, safetensors, npy.")
    var format: SAECheckpoint.Format?

    @Option(help: "For a bare .safetensors file: the decoder tensor's name.")
    var tensor: String?

    @Option(help: "For a bare matrix: rows (one feature per row, the default) or columns.")
    var layout: FeatureMatrix.Layout?

    func open() throws -> SAECheckpoint {
        try SAECheckpoint.open(sae, options: .init(format: format, tensor: tensor, layout: layout))
    }
}
