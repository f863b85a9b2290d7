import ArgumentParser
import Foundation
import SaegeoCore

struct Contrast: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank an SAE's features by how much more they fire on one activation set than on another.",
        discussion: """
        Streams both sets through the encoder (as score does) and writes, per feature, its firing rate and \
        mean per-sample activation on A and on B, a Welch t over per-sample means (paired t with --paired) \
        and the log odds ratio of firing, ranked by t (docs/definitions.md: contrast). With --top N --ids \
        FILE the N highest-ranked ids go to an id file that --toxic and --queries take: a small labelled set \
        (toxic or misaligned text as A, ordinary text as B) finds the toxic features. With --toxic, the \
        paper's measurement: the activation-weighted toxic proximity of the top N features of each set over \
        the other, against the same weights on N live features drawn at random, with a calibrated verdict (docs/statistics.md).
        """)

    @OptionGroup var sae: SAEOptions

    @Option(help: "Activations of set A: a .safetensors tensor [rows, d_model] or a .npy.")
    var activations: String

    @Option(name: .customLong("activations-tensor"), help: "Name of A's activations tensor (default: activations).")
    var activationsTensor: String?

    @Option(help: "I64 tensor [N + 1] in A's .safetensors grouping token rows into samples.")
    var offsets: String?

    @Option(help: "Activations of the baseline set B.")
    var baseline: String

    @Option(name: .customLong("baseline-tensor"), help: "Name of B's activations tensor (default: activations).")
    var baselineTensor: String?

    @Option(name: .customLong("baseline-offsets"), help: "I64 tensor [M + 1] in B's .safetensors grouping its rows into samples.")
    var baselineOffsets: String?

    @Flag(help: "A and B hold the same tokens through two models: statistics over per-sample differences (paired t); row counts and offsets must agree.")
    var paired = false

    @Option(parsing: .unconditional, help: "K of a TopK SAE when the checkpoint does not say.", transform: NumberArgument.int)
    var topk: Int?

    @Option(name: .short, help: "Output, ranked: .jsonl, .csv or .safetensors (written atomically).")
    var output: String

    @Option(parsing: .unconditional, help: "Features in the top sets (--ids, the toxic measurement).", transform: NumberArgument.int)
    var top = 20

    @Option(help: "Write the --top highest-ranked feature ids here, one per line (the format --toxic and --queries take).")
    var ids: String?

    @Option(name: .customLong("distinct-cosine"), parsing: .unconditional, help: "Collapse near-duplicates in --ids: walking the ranking, a feature whose decoder cosine to a feature already kept is above C is marked in the output's duplicate_of column as that feature's duplicate and skipped, until --top distinct features are kept (e.g. 0.7).", transform: NumberArgument.double)
    var distinctCosine: Double?

    @Option(help: "Toxic feature ids: adds the paper's measurement (printed, and in --summary).")
    var toxic: String?

    @Option(help: "Also write the run's figures (and the toxic measurement) to this JSON file.")
    var summary: String?

    @Option(name: .customLong("null-sets"), parsing: .unconditional, help: "With --toxic: draws of the permutation null (the top features' weights on random live features; at most \(ToxicContrast.maxNullSets); default \(PermutationNull.defaultDraws), as score's; docs/statistics.md).", transform: NumberArgument.int)
    var nullSetsOption: Int?

    @Option(name: .customLong("seed"), parsing: .unconditional, help: "With --toxic: seed of the null sets (default 0).", transform: NumberArgument.seed)
    var seedOption: UInt64?

    // Optional as declared so that --null-sets or --seed without --toxic (where no null is drawn) is seen.
    @OptionGroup var compute: ComputeOptions
    @OptionGroup var progress: ProgressOptions

    @Option(parsing: .unconditional, help: "Reduce only shard I of N of the work (I/N, 0-based), or 'slurm' for the Slurm array task, into a .safetensors of statistics; a shard resumes after SIGTERM, and 'saegeo merge' writes the ranked table.")
    var shard: String?

    func run() throws {
        try Saegeo.reporting {
            try progress.apply()
            var job = ContrastJob(sae: sae.source, activations: activations, baseline: baseline, output: output)
            job.activationsTensor = activationsTensor
            job.offsets = offsets
            job.baselineTensor = baselineTensor
            job.baselineOffsets = baselineOffsets
            job.paired = paired
            job.topK = topk
            job.top = top
            job.ids = ids
            job.distinctCosine = distinctCosine
            job.toxic = toxic
            job.summary = summary
            job.nullSetsOption = nullSetsOption
            job.seedOption = seedOption
            job.shard = shard
            try job.run(on: compute.devices, events: Console.events, cancellation: ProcessGuard.cancellation)
        }
    }
}
