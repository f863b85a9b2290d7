/// `contrast`: an SAE's features ranked by how much more they fire on activation set A than on
/// baseline B (Welch t, or paired t), with the top ids, near-duplicates collapsed, and the
/// paper's toxic measurement; whole, or one shard of the statistics that merge ranks. The
/// options as a value; `run` executes it.
public struct ContrastJob {
    public var sae: SAESource
    public var activations: String
    public var activationsTensor: String?
    public var offsets: String?
    public var baseline: String
    public var baselineTensor: String?
    public var baselineOffsets: String?
    public var paired = false
    public var topK: Int?
    public var output: String
    /// Features in the top sets (ids, the toxic measurement).
    public var top = 20
    public var ids: String?
    public var distinctCosine: Double?
    public var toxic: String?
    public var summary: String?
    /// Optional as given, so that a null's option without --toxic (where no null is drawn) is seen.
    public var nullSetsOption: Int?
    public var seedOption: UInt64?
    /// "I/N" or "slurm".
    public var shard: String?

    public init(sae: SAESource, activations: String, baseline: String, output: String) {
        self.sae = sae
        self.activations = activations
        self.baseline = baseline
        self.output = output
    }

    var nullSets: Int { nullSetsOption ?? PermutationNull.defaultDraws }
    var seed: UInt64 { seedOption ?? 0 }

    /// The refusals that need no input read, and the job's outputs, in the order the CLI checks
    /// them; returns the job and the output's format.
    func checkedJob(_ shardSpec: ShardSpec?) throws -> (Job, String) {
        if shardSpec != nil {
            guard output.lowercased().hasSuffix(".safetensors") else {
                throw SaegeoError(.usage, "-o \(output): a contrast shard holds statistics, written as .safetensors; merge writes the ranked .jsonl, .csv or .safetensors")
            }
            guard ids == nil, toxic == nil, summary == nil, distinctCosine == nil else {
                throw SaegeoError(.usage, "--ids, --distinct-cosine, --toxic and --summary need the whole ranking, which a shard does not have; run them on the merged output's job without --shard")
            }
        }
        if let distinctCosine {
            guard ids != nil else {
                throw SaegeoError(.usage, "--distinct-cosine collapses near-duplicates in the --ids list, and there is no --ids: add --ids FILE, or drop --distinct-cosine")
            }
            guard distinctCosine >= 0, distinctCosine < 1 else {
                throw SaegeoError(.usage, "--distinct-cosine \(distinctCosine) is not a cut between distinct and duplicate directions: give a cosine from 0 up to (not including) 1, e.g. 0.7")
            }
        }
        if toxic == nil, let stray = [("--null-sets", nullSetsOption != nil), ("--seed", seedOption != nil)].first(where: \.1) {
            throw SaegeoError(.usage, "\(stray.0) shapes the null of the toxic measurement, and there is no --toxic: add --toxic FILE, or drop \(stray.0)")
        }
        var outputs = [("-o", output)]
        if let ids { outputs.append(("--ids", ids)) }
        if let summary { outputs.append(("--summary", summary)) }
        let job = try Job("contrast", inputs: [sae.path, activations, baseline] + (toxic.map { [$0] } ?? []), outputs: outputs)
        if shardSpec != nil { try ShardCheckpoint.checkFolder(besides: output) }
        let format = [".jsonl", ".csv", ".safetensors"].first(where: output.lowercased().hasSuffix)
            ?? (OutputTarget.isStream(output) ? ".jsonl" : "")
        guard !format.isEmpty else {
            throw SaegeoError(.usage, "-o \(output): the output must end in .jsonl, .csv or .safetensors")
        }
        guard (0...ToxicContrast.maxNullSets).contains(nullSets) else {
            throw SaegeoError(.usage, "--null-sets must be between 0 and \(ToxicContrast.maxNullSets) (got \(nullSets))")
        }
        return (job, format)
    }
}

/// `contrast --summary`: the run's figures.
struct ContrastSummary: Encodable {
    let samplesA: Int
    let samplesB: Int
    let paired: Bool
    let top: [Int]
    let toxic: ToxicContrast?

    enum CodingKeys: String, CodingKey {
        case samplesA = "samples_a", samplesB = "samples_b", paired, top, toxic
    }
}
