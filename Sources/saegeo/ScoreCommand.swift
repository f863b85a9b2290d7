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

    static let maxNullSets = PermutationNull.maxDraws

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
            let shardSpec = try shard.map { try ShardSpec.parse($0) }
            let lower = format
            var outputs = [("-o", output)]
            if let summary { outputs.append(("--summary", summary)) }
            if shardSpec != nil, !lower.hasSuffix(".safetensors") {
                outputs.append(("the shard manifest", ShardManifest.path(besides: output)))
            }
            if shardSpec != nil { outputs.append(("the shard's sums", ShardSums.path(besides: output))) }
            let job = try Job("score", inputs: [sae.sae, toxic, activations] + (reference.map { [$0] } ?? []), outputs: outputs)
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
                Console.info("warning: --seed only seeds the dataset summary's null and bootstrap draws, which this run does not compute; ignoring it")
            }

            let checkpoint = try sae.open()
            let chosen: SAECheckpoint.Architecture? = architecture.map {
                switch $0 {
                case .relu: .relu
                case .jumprelu: .jumpReLU
                case .topk: .topK(topk)
                }
            }
            let encoder = try SAEEncoder(checkpoint: checkpoint, architecture: chosen, topK: topk)
            let toxicIds = try FeatureSelection(argument: toxic).resolve(features: checkpoint.dSAE, role: "toxic")
            let data = try ActivationsFile.open(activations, tensor: activationsTensor, offsets: offsets)
            if let warning = data.unusedOffsetsWarning(option: "--offsets") { Console.info(warning) }
            guard data.samples > 0 else {
                throw SaegeoError(.badInput, "\(activations) holds no samples; there is nothing to score")
            }
            let referenceData = try reference.map { try ActivationsFile.open($0, tensor: referenceTensor, offsets: referenceOffsets) }
            if let referenceData, referenceData.samples == 0 {
                throw SaegeoError(.badInput, "--reference \(referenceData.path) holds no samples; there is nothing to compare with")
            }
            try job.confirmOutputs()
            let engines = try compute.engines()
            let started = Date()
            let cancellation = ProcessGuard.cancellation
            let decoder = try checkpoint.decoder()
            // The decoder's norms, once for the proximity and the dataset summary's live features.
            let norms = FeatureNorms(of: decoder, features: Array(0..<decoder.features))
            let proximity = try ToxicProximity.compute(decoder: decoder, toxic: toxicIds, engines: engines,
                                                       memoryBudget: try compute.budgetBytes(), norms: norms, cancellation: cancellation)
            let deviceIds = engines.map(\.device.id).joined(separator: ",")
            var scorer = try DatasetScorer(encoder: encoder, proximity: proximity.proximity, activations: data)
            scorer.explain = min(explain, encoder.features)
            scorer.skipNonFinite = skipNonFinite
            // Half the budget for the streaming tiles; the rest covers results, norms and staging.
            try scorer.plan(for: engines, memoryBudget: try compute.budgetBytes().map { $0 / 2 })

            // The job: inputs and options that every shard of it shares (not the device). Only a
            // shard and a .safetensors output record it: a single .jsonl / .csv run skips the pass
            // over every input byte.
            let fingerprint = shardSpec == nil && !lower.hasSuffix(".safetensors") ? "" : try JobFingerprint.of(
                files: checkpoint.files + [toxic, activations],
                options: ["score", sae.sae, toxic, activations, activationsTensor ?? "", offsets ?? "", chosen?.description ?? "",
                          String(topk ?? 0), String(scorer.explain), String(data.samples), String(scorer.rowChunk),
                          skipNonFinite ? "skip-nonfinite" : ""])
            // Shards and checkpoint blocks are whole chunks of samples, so that every sample is
            // scored in the same chunk as in a single run (and gets the same bits).
            let boundaries = scorer.chunkBoundaries()
            // In samples, the work as the user counts it (a shard of whole chunks may still be empty).
            try shardSpec?.requireWork(items: data.samples, unit: "samples")
            if shardSpec != nil, seed != nil || nullSets != PermutationNull.defaultDraws {
                Console.info("warning: --seed and --null-sets shape the dataset summary, which 'saegeo merge --summary' computes from the shards; give them to merge; ignoring them here")
            }
            let chunks = shardSpec?.range(of: boundaries.count - 1) ?? 0..<(boundaries.count - 1)
            let samples = boundaries[chunks.lowerBound]..<boundaries[chunks.upperBound]
            let manifest = ShardManifest(command: .score, job: fingerprint, shard: shardSpec, total: data.samples, range: samples,
                                         details: ["saegeo.sae": sae.sae, "saegeo.toxic": toxic, "saegeo.activations": activations])
            let result: DatasetScorer.Result
            if let shardSpec {
                // A shard saves its finished blocks as it goes, so that a preempted one resumes.
                let saved = ShardCheckpoint(output: output, job: fingerprint + " shard " + shardSpec.description)
                // The blocks' activation masses are added as they come (exactly), not joined.
                var mass = FeatureMass(features: encoder.features)
                let tensors = try saved.run(items: chunks.count, blockSize: ShardCheckpoint.blockSize(items: chunks.count, minimum: 1),
                                            unit: "chunks of samples", log: Console.info,
                                            holds: { tensors, block in
                    // A block of chunks holds the scores and sums of those chunks' samples.
                    let samples = boundaries[chunks.lowerBound + block.upperBound] - boundaries[chunks.lowerBound + block.lowerBound]
                    return DatasetScorer.Result.holds(tensors, samples: samples)
                }, absorb: { try mass.add(from: $0) }, joining: { !DatasetScorer.Result.massTensors.contains($0.name) }) { block in
                    try cancellation.check()
                    let range = boundaries[chunks.lowerBound + block.lowerBound]..<boundaries[chunks.lowerBound + block.upperBound]
                    let progress = Console.Progress("score shard \(shardSpec), samples \(range.lowerBound)..<\(range.upperBound) of \(samples) on \(deviceIds):")
                    return try scorer.run(samples: range, on: engines, cancellation: cancellation, progress: progress.update).tensors
                }
                result = try DatasetScorer.Result(tensors: tensors, features: encoder.features, mass: mass)
                try write(result, proximity: proximity, manifest: manifest, job: job)
                // What merge --summary needs from this shard (ShardSums).
                let dead = (0..<decoder.features).filter { !norms.isLive($0) }
                try ShardSums(manifest: manifest, result: result, proximity: proximity.proximity, dead: dead)
                    .write(besides: output, job: job)
                try job.commit()
                try saved.discard()
            } else {
                let progress = Console.Progress("score on \(deviceIds):")
                result = try scorer.run(on: engines, cancellation: cancellation, progress: progress.update)
                try cancellation.check()
                // The dataset-level figures need the whole dataset (a shard has only its part).
                let figures: DatasetSummary
                if let referenceData {
                    // The reference through the same encoder and proximities, as the dataset.
                    var other = try DatasetScorer(encoder: encoder, proximity: proximity.proximity, activations: referenceData)
                    other.skipNonFinite = skipNonFinite
                    try other.plan(for: engines, memoryBudget: try compute.budgetBytes().map { $0 / 2 })
                    let bar = Console.Progress("score the reference on \(deviceIds):")
                    let theirs = try other.run(on: engines, cancellation: cancellation, progress: bar.update)
                    try cancellation.check()
                    if Self.drawsTakeAWhile(nullSets, samples: result.scores.count + theirs.scores.count) {
                        Console.info("dataset summary: \(nullSets) relabelling and bootstrap draws of \(result.scores.count) + \(theirs.scores.count) samples")
                    }
                    figures = try DatasetSummary.compare(result: result, reference: theirs, proximity: proximity.proximity,
                                                         draws: nullSets, seed: seed ?? 0, cancellation: cancellation)
                } else {
                    if Self.drawsTakeAWhile(nullSets, samples: result.scores.count) {
                        Console.info("dataset summary: \(nullSets) permutation and bootstrap draws over \(result.scores.count) samples")
                    }
                    figures = try DatasetSummary.compute(result: result, proximity: proximity.proximity, live: norms.isLive,
                                                         draws: nullSets, seed: seed ?? 0, cancellation: cancellation)
                }
                try write(result, proximity: proximity, manifest: manifest, job: job)
                if let summary {
                    try job.write(summary) { try $0.write(contentsOf: try Console.json(figures, what: "--summary \(summary)")) }
                }
                try job.commit()
                Console.info(SummaryLine.text(figures))
            }
            if scorer.skippedRows.current > 0 {
                Console.info("left out \(scorer.skippedRows.current) token rows holding NaN or infinity (--skip-nonfinite)")
            }
            let seconds = Date().timeIntervalSince(started)
            let rows = data.sampleStarts[samples.upperBound] - data.sampleStarts[samples.lowerBound]
            let mean = result.scores.isEmpty ? 0 : result.scores.reduce(0) { $0 + Double($1) } / Double(result.scores.count)
            Console.info(String(format: "scored %d samples (%d rows x d %d, %d features) on %@: mean score %.6f; %.2f s, %.0f rows/s, %.1f GFLOP/s; wrote %@",
                                samples.count, rows, encoder.dimension, encoder.features, deviceIds, mean, seconds,
                                Double(rows) / max(seconds, 1e-9),
                                2 * Double(rows) * Double(encoder.features) * Double(encoder.dimension) / max(seconds, 1e-9) / 1e9, output))
        }
    }

    /// Whether the summary's draws take long enough (about a second or more: 5e7 sample visits)
    /// to say so first, so a user waiting on them knows what runs (and that Ctrl-C stops it).
    static func drawsTakeAWhile(_ draws: Int, samples: Int) -> Bool {
        let (visits, overflow) = draws.multipliedReportingOverflow(by: max(samples, 1))
        return overflow || visits >= 50_000_000
    }

    /// The output's format as an extension: the path's own, or .jsonl for a stream such as
    /// /dev/stdout or /dev/null that has none.
    var format: String {
        let lower = output.lowercased()
        let known = [".jsonl", ".csv", ".safetensors"].first(where: lower.hasSuffix)
        return known ?? (OutputTarget.isStream(output) ? ".jsonl" : lower)
    }

    /// Writes the scores of the manifest's samples into the job's output; a shard also gets its
    /// manifest (inside a .safetensors output, beside a .jsonl / .csv one as OUT.shard.json).
    func write(_ result: DatasetScorer.Result, proximity: ToxicProximity.Result, manifest: ShardManifest, job: Job) throws {
        var manifest = manifest
        let lower = format
        if lower.hasSuffix(".safetensors") {
            let tensors: [OutputTensor] = [
                .float32("scores", shape: [result.scores.count], result.scores),
                .int64("active", shape: [result.active.count], result.active),
            ]
            manifest.checksum = manifest.checksum(of: tensors)
            try job.write(output) { try SafetensorsWriter.write(tensors, metadata: manifest.metadata, into: $0) }
            return
        }
        var checksum = Checksum()
        checksum.add(manifest.identity)
        // A whole run's lines carry each sample's percentile; a shard's do not, as it sees only
        // its own samples: merge adds them, byte-identical to this (ScorePercentiles).
        let percentiles = manifest.shard == nil ? ScorePercentiles.of(result.scores) : nil
        let percentile = { (i: Int) in percentiles.map { (lower.hasSuffix(".csv") ? "," : ", \"percentile\": ") + ScorePercentiles.text($0[i]) } ?? "" }
        try job.write(output) { handle in
            var text = lower.hasSuffix(".csv") ? (percentiles == nil ? ScoreLines.csvHeader : ScorePercentiles.csvHeader) + "\n" : ""
            func flush() throws {
                let bytes = Data(text.utf8)
                checksum.add(bytes)
                try handle.write(contentsOf: bytes)
                text = ""
            }
            for (i, score) in result.scores.enumerated() {
                let sample = manifest.range.lowerBound + i
                text += lower.hasSuffix(".csv")
                    ? "\(sample),\(score),\(result.active[i])\(percentile(i))\n"
                    : "{\"sample\": \(sample), \"score\": \(score), \"active\": \(result.active[i])\(percentile(i))"
                        + (explain > 0 ? ", \"explain\": [" + result.explanations[i].map {
                            "{\"feature\": \($0.feature), \"activation\": \($0.activation), \"proximity\": \(proximity.proximity[$0.feature]), \"nearest_toxic\": \(proximity.nearestToxic[$0.feature])}"
                        }.joined(separator: ", ") + "]" : "") + "}\n"
                if text.utf8.count > 1 << 20 { try flush() }
            }
            try flush()
        }
        guard manifest.shard != nil else { return }
        manifest.checksum = checksum.description
        try job.write(ShardManifest.path(besides: output)) { try $0.write(contentsOf: manifest.json) }
    }
}
