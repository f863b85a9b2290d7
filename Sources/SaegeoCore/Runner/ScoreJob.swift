/// `score`: every sample of a dataset scored by how close its active SAE features sit to the toxic
/// features, written as .jsonl, .csv or .safetensors, whole or as one shard of a sharded job, with
/// the dataset summary of a whole run (docs/statistics.md). The options as a value; `run` executes it.
public struct ScoreJob {
    public var sae: SAESource
    /// The toxic feature ids: a file, one per line.
    public var toxic: String
    public var activations: String
    public var activationsTensor: String?
    public var offsets: String?
    /// The checkpoint's architecture overridden (nil: as it says).
    public var architecture: SAECheckpoint.Architecture?
    public var topK: Int?
    public var output: String
    /// Explain each sample (.jsonl) with its M features of largest summed a p.
    public var explain = 0
    public var summary: String?
    public var reference: String?
    public var referenceTensor: String?
    public var referenceOffsets: String?
    public var nullSets = PermutationNull.defaultDraws
    public var seed: UInt64?
    public var skipNonFinite = false
    /// "I/N" or "slurm": score only that shard of the samples.
    public var shard: String?

    public static let maxNullSets = PermutationNull.maxDraws

    public init(sae: SAESource, toxic: String, activations: String, output: String) {
        self.sae = sae
        self.toxic = toxic
        self.activations = activations
        self.output = output
    }

    /// The output's format as an extension: the path's own, or .jsonl for a stream such as
    /// /dev/stdout or /dev/null that has none.
    var format: String {
        let lower = output.lowercased()
        let known = [".jsonl", ".csv", ".safetensors"].first(where: lower.hasSuffix)
        return known ?? (OutputTarget.isStream(output) ? ".jsonl" : lower)
    }

    /// Whether the summary's draws take long enough (about a second or more: 5e7 sample visits)
    /// to say so first, so a user waiting on them knows what runs (and that Ctrl-C stops it).
    static func drawsTakeAWhile(_ draws: Int, samples: Int) -> Bool {
        let (visits, overflow) = draws.multipliedReportingOverflow(by: max(samples, 1))
        return overflow || visits >= 50_000_000
    }

    /// The job's outputs and the refusals that need no input read, in the order the CLI checks them.
    func checkedJob(_ shardSpec: ShardSpec?, events: JobEvents) throws -> Job {
        let lower = format
        var outputs = [("-o", output)]
        if let summary { outputs.append(("--summary", summary)) }
        if shardSpec != nil, !lower.hasSuffix(".safetensors") {
            outputs.append(("the shard manifest", ShardManifest.path(besides: output)))
        }
        if shardSpec != nil { outputs.append(("the shard's sums", ShardSums.path(besides: output))) }
        let job = try Job("score", inputs: [sae.path, toxic, activations] + (reference.map { [$0] } ?? []), outputs: outputs)
        if shardSpec != nil { try ShardCheckpoint.checkFolder(besides: output) }
        guard [".jsonl", ".csv", ".safetensors"].contains(where: lower.hasSuffix) else {
            throw SaegeoError(.usage, "-o \(output): the output must end in .jsonl, .csv or .safetensors")
        }
        guard explain >= 0 else { throw SaegeoError(.usage, "--explain must not be negative (got \(explain))") }
        guard explain == 0 || lower.hasSuffix(".jsonl") else {
            throw SaegeoError(.usage, "--explain writes explanations into .jsonl output, and -o \(output) is not .jsonl: drop --explain or write .jsonl")
        }
        guard (0...Self.maxNullSets).contains(nullSets) else {
            throw SaegeoError(.usage, "--null-sets must be between 0 and \(Self.maxNullSets) (got \(nullSets)); the p-value's Monte Carlo error shrinks as 1/sqrt(draws)")
        }
        if shardSpec != nil, OutputTarget.isStream(output) {
            throw SaegeoError(.usage, "-o \(output): a shard's output must be a file, which merge reads back and beside which its checkpoint lives")
        }
        if shardSpec != nil, summary != nil {
            throw SaegeoError(.usage, "--summary describes the whole dataset, not a shard: every shard writes the sums it needs beside its output, and 'saegeo merge --summary FILE' writes it; drop --summary here")
        }
        if reference == nil, let stray = [("--reference-tensor", referenceTensor != nil), ("--reference-offsets", referenceOffsets != nil)].first(where: \.1) {
            throw SaegeoError(.usage, "\(stray.0) describes the reference set, and there is no --reference: add --reference ACTS, or drop \(stray.0)")
        }
        if shardSpec != nil, reference != nil {
            throw SaegeoError(.usage, "--reference is compared with the whole dataset and cannot be used per shard; run it without --shard")
        }
        if shardSpec == nil, seed != nil, nullSets == 0 {
            events.log("warning: --seed only seeds the dataset summary's null and bootstrap draws, which this run does not compute; ignoring it")
        }
        return job
    }
}
