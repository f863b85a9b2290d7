import ArgumentParser
import Foundation
import SaegeoCore

enum ArchitectureChoice: String, ExpressibleByArgument, CaseIterable {
    case relu, jumprelu, topk
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score each sample of a dataset by how close its active SAE features sit to toxic features.",
        discussion: """
        score = sum a p / sum a over the sample's tokens and active features, where p is a feature's \
        highest cosine to a toxic feature (docs/definitions.md). Output by extension: .jsonl ({"sample", "score", \
        "active", "percentile"} per line), .csv (sample,score,active,percentile; a --shard's lines carry no percentile, which merge adds) or .safetensors (scores F32 [N], active I64 [N]).
        """)

    @OptionGroup var sae: SAEOptions

    @Option(help: "Text file with the toxic feature ids, one per line.")
    var toxic: String

    @Option(help: "Activations: a .safetensors tensor [rows, d_model] (named by --activations-tensor) or a .npy.")
    var activations: String

    @Option(name: .customLong("activations-tensor"), help: "Name of the activations tensor (default: activations).")
    var activationsTensor: String?

    @Option(help: "I64 tensor [N + 1] in the same .safetensors: sample i is rows offsets[i]..<offsets[i+1].")
    var offsets: String?

    @Option(help: "Override the checkpoint's architecture: relu, jumprelu, topk.")
    var architecture: ArchitectureChoice?

    @Option(parsing: .unconditional, help: "K of a TopK SAE when the checkpoint does not say.", transform: NumberArgument.int)
    var topk: Int?

    @Option(name: .short, help: "Output: .jsonl, .csv or .safetensors (written atomically).")
    var output: String

    @Option(parsing: .unconditional, help: "In .jsonl output, explain each sample with its M features of largest summed a p.", transform: NumberArgument.int)
    var explain = 0

    @Option(help: "Also write the dataset-level figures to this JSON file.")
    var summary: String?

    @Option(help: "Ordinary activations through the same model and SAE: the dataset summary compares the dataset with them (docs/statistics.md) instead of with its own mass placed at random.")
    var reference: String?

    @Option(name: .customLong("reference-tensor"), help: "Name of the reference's activations tensor (default: activations).")
    var referenceTensor: String?

    @Option(name: .customLong("reference-offsets"), help: "I64 tensor [M + 1] in the reference's .safetensors grouping its rows into samples.")
    var referenceOffsets: String?

    @Option(name: .customLong("null-sets"), parsing: .unconditional,
            help: "Draws of the dataset summary's permutation null and of its bootstrap over samples (at most \(Score.maxNullSets); default \(PermutationNull.defaultDraws), shared with contrast; docs/statistics.md).", transform: NumberArgument.int)
    var nullSets = PermutationNull.defaultDraws

    static let maxNullSets = ScoreJob.maxNullSets

    @Option(parsing: .unconditional, help: "Seed of the null's draws and the bootstrap.", transform: NumberArgument.seed)
    var seed: UInt64?

    @Flag(name: .customLong("skip-nonfinite"), help: "Leave out token rows holding NaN or infinity (counted and reported) instead of refusing the activations.")
    var skipNonFinite = false

    @OptionGroup var compute: ComputeOptions
    @OptionGroup var progress: ProgressOptions

    @Option(parsing: .unconditional, help: "Score only shard I of N of the samples (I/N, 0-based), or 'slurm' for the Slurm array task; a shard resumes after SIGTERM, and 'saegeo merge' combines the shards.")
    var shard: String?

    func run() throws {
        try Saegeo.reporting {
            try progress.apply()
            var job = ScoreJob(sae: sae.source, toxic: toxic, activations: activations, output: output)
            job.activationsTensor = activationsTensor
            job.offsets = offsets
            job.architecture = architecture.map {
                switch $0 {
                case .relu: .relu
                case .jumprelu: .jumpReLU
                case .topk: .topK(topk)
                }
            }
            job.topK = topk
            job.explain = explain
            job.summary = summary
            job.reference = reference
            job.referenceTensor = referenceTensor
            job.referenceOffsets = referenceOffsets
            job.nullSets = nullSets
            job.seed = seed
            job.skipNonFinite = skipNonFinite
            job.shard = shard
            try job.run(on: compute.devices, events: Console.events, cancellation: ProcessGuard.cancellation)
        }
    }
}
